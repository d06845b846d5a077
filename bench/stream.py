"""Streaming benchmark: decode-only vs the full pipeline, seek latency, memory over long playback.

Generates its own clips in a temporary folder (H.264 with a 2-second GOP and B-frames, panning
texture under the frame-index code of ``tests/media_factory.py``, so every frame that reaches the
GPU is checked to be the right one), then in one run:

1. Throughput, per size: PyAV decode-only frames/s (``thread_type = "AUTO"``, nothing else);
   the decoder thread and queue alone (zero-copy planes, depth, no GL), without and with the
   frame cache (whose first pass puts every frame in fresh memory); and the full
   pipeline: DecoderThread + queue + PBO upload + YUV->linear conversion + a cheap view pass
   sampling colour and depth, with ``ctx.finish()`` every frame, on a standalone EGL context.
   Alternating runs, best of each, ratios printed. Target: pipeline >= 0.9x decode-only.
2. Seek latency: time from ``seek(k)`` to frame k converted on the GPU (``ctx.finish()``), for
   random seeks without a cache (cold: keyframe + decode forward; decoding every frame, then
   skipping unreferenced B-frames as the reader does) and for scrubbing over recently played
   frames with the frame cache.
3. Memory: resident set size over a long playback with a seek every few hundred frames, on a
   smaller clip with a depth video and a small cache budget so decoding and eviction never stop;
   reports the growth after warm-up and its slope.

    .venv/bin/python bench/stream.py [--frames 240] [--sizes 1920x1080,640x360] [--seeks 30]
        [--memory-frames 5000] [--memory-size 640x360] [--memory-cache-mb 128] [--skip-memory]
        [--json OUT.json]
        [--exr-frames 48] [--skip-exr]

4. EXR plates: the first size's frames as a half-float EXR sequence beside the same frames as
   H.264: OpenEXR read-only, the plate decoder thread (read + OCIO + packing) and the full
   pipeline, frames per second and their ratio to H.264 decoding.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import moderngl
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import cpu_model, rss_mb  # noqa: E402
from rackfocus_live.gpu.context import (  # noqa: E402
    create_headless_context,
    describe,
    interleave_chroma_for,
)
from rackfocus_live.gpu.programs import ProgramCache  # noqa: E402
from rackfocus_live.gpu.upload import FrameUploader  # noqa: E402
from rackfocus_live.media.decoder import DecoderThread  # noqa: E402
from rackfocus_live.media.depthsource import DepthSource, open_depth  # noqa: E402
from rackfocus_live.media.exr import read_exr_rgb, write_exr  # noqa: E402
from rackfocus_live.media.framecache import FrameCache  # noqa: E402
from rackfocus_live.media.probe import MediaInfo, probe_clip  # noqa: E402
from rackfocus_live.media.reader import VideoReader  # noqa: E402
from rackfocus_live.media.sequence import probe_media  # noqa: E402
from tests import media_factory as mf  # noqa: E402

FPS = Fraction(24)

VIEW_VERT = """
#version 330 core
out vec2 v_uv;
void main() {
    vec2 p = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));
    v_uv = p;
    gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}
"""
# The cheapest useful consumer: colour darkened by depth, back to display encoding, into RGBA8.
VIEW_FRAG = """
#version 330 core
in vec2 v_uv;
out vec4 f_color;
uniform sampler2D u_color;
uniform sampler2D u_depth;
void main() {
    vec3 c = texture(u_color, v_uv).rgb * (0.5 + 0.5 * clamp(texture(u_depth, v_uv).r, 0.0, 1.0));
    f_color = vec4(pow(c, vec3(1.0 / 2.2)), 1.0);
}
"""


class ViewPass:
    """A full-screen pass reading the uploader's textures (what a viewer does at least)."""

    def __init__(self, ctx: moderngl.Context, width: int, height: int) -> None:
        self.program = ctx.program(vertex_shader=VIEW_VERT, fragment_shader=VIEW_FRAG)
        self.vao = ctx.vertex_array(self.program, [])
        self.target = ctx.texture((width, height), 4)
        self.fbo = ctx.framebuffer([self.target])
        self.program["u_color"].value = 0
        self.program["u_depth"].value = 1

    def render(self, up: FrameUploader) -> None:
        up.color.use(0)
        up.depth.use(1)
        self.fbo.use()
        self.vao.render(moderngl.TRIANGLES, vertices=3)

    def release(self, ctx: moderngl.Context) -> None:
        ctx.detect_framebuffer(0).use()
        for obj in (self.fbo, self.target, self.vao, self.program):
            obj.release()


# -- media -------------------------------------------------------------------------------------


def make_bench_clip(path: Path, frames: int, size: tuple[int, int], gop: int) -> Path:
    """H.264 4:2:0 with a panning textured background under the frame-index code."""
    width, height = size
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = 22 * np.sin(xx / 41.0) * np.cos(yy / 29.0) + rng.normal(0, 5, (height, width))
    base = np.tile(base.astype(np.int16), (1, 2))  # wide enough to pan across
    chroma = rng.normal(0, 6, (height // 2, width)).astype(np.int16)

    def planes(i: int) -> tuple[np.ndarray, ...]:
        shift = (i * 4) % width
        y = mf.code_luma(i, size).astype(np.int16) + base[:, shift : shift + width]
        u = 128 + chroma[:, (shift // 2) % (width // 2) :][:, : width // 2]
        v = 128 - chroma[:, : width // 2]
        return tuple(np.clip(p, 0, 255).astype(np.uint8) for p in (y, u, v))

    return mf.make_clip(path, frames=frames, size=size, fps=FPS, gop=gop, bframes=3, yuv=planes)






# -- measurements ------------------------------------------------------------------------------


def decode_only(path: Path) -> float:
    """Frames per second of plain PyAV decoding with FFmpeg's threads."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_type = "AUTO"
        t0 = time.perf_counter()
        n = sum(1 for _ in container.decode(stream))
        return n / (time.perf_counter() - t0)


def thread_only(
    path: Path, info: MediaInfo, depth: DepthSource | None, cache: FrameCache | None
) -> float:
    """Frames per second of the decoder thread and queue alone (planes and depth, no GL)."""
    t0 = time.perf_counter()
    with DecoderThread(path, depth, queue_size=8, cache=cache, info=info) as dec:
        for i in range(info.frame_count):
            packet = dec.get(30.0)
            if packet is None or packet.index != i:
                raise RuntimeError(f"decoder thread lost frame {i}")
    return info.frame_count / (time.perf_counter() - t0)


def pipeline(
    path: Path, info: MediaInfo, depth: DepthSource | None, ctx: moderngl.Context,
    up: FrameUploader, view: ViewPass,
) -> tuple[float, float]:
    """Frames per second through the whole pipeline (with the default frame cache, as the app
    runs it), and main-thread ms per frame (GL side)."""
    main_s = 0.0
    t0 = time.perf_counter()
    with DecoderThread(path, depth, queue_size=8, cache=FrameCache(), info=info,
                       interleave_chroma=interleave_chroma_for(ctx)) as dec:
        for i in range(info.frame_count):
            packet = dec.get(30.0)
            if packet is None or packet.index != i:
                raise RuntimeError(f"pipeline lost frame {i}")
            t1 = time.perf_counter()
            up.upload(packet, info)
            view.render(up)
            ctx.finish()
            main_s += time.perf_counter() - t1
    elapsed = time.perf_counter() - t0
    return info.frame_count / elapsed, 1000 * main_s / info.frame_count


def throughput(
    folder: Path, size: tuple[int, int], frames: int, gop: int, runs: int,
    ctx: moderngl.Context, programs: ProgramCache,
) -> dict[str, float]:
    """Decode-only, decoder thread and full pipeline, alternating runs, best of each."""
    t0 = time.perf_counter()
    clip = make_bench_clip(folder / f"tp_{size[0]}x{size[1]}.mp4", frames, size, gop)
    info = probe_clip(clip)
    mbps = clip.stat().st_size * 8 / info.duration / 1e6
    print(f"clip: {info.width}x{info.height} H.264 {info.pix_fmt}, {info.frame_count} frames at "
          f"{float(FPS):g} fps, GOP {gop}, IBBBP, {mbps:.1f} Mbit/s "
          f"(made in {time.perf_counter() - t0:.1f} s)")
    w, h = info.display_size
    still = open_depth(mf.make_depth_still(folder / f"d_{w}.png", size=(w // 2, h // 2)),
                       mf.DEPTH_MAPPING, info)
    up = FrameUploader(ctx, programs, w, h)
    view = ViewPass(ctx, w, h)
    decode_only(clip)  # warm the page cache
    dec, thr, cached, pipe, main_ms = [], [], [], [], []
    for _ in range(runs):
        dec.append(decode_only(clip))
        thr.append(thread_only(clip, info, still, None))
        cached.append(thread_only(clip, info, still, FrameCache()))
        fps, ms = pipeline(clip, info, still, ctx, up, view)
        pipe.append(fps)
        main_ms.append(ms)
    view.release(ctx)
    up.release()
    r = {"decode": max(dec), "thread": max(thr), "cached": max(cached), "pipeline": max(pipe),
         "main_ms": min(main_ms)}
    rows = (
        ("decode only (PyAV)", "decode", dec),
        ("decoder thread + queue", "thread", thr),
        ("  + 1 GiB frame cache", "cached", cached),
        ("full pipeline (GL)", "pipeline", pipe),
    )
    for label, key, xs in rows:
        ratio = "" if key == "decode" else f"   x{r[key] / r['decode']:.2f}"
        print(f"  {label:24s} {r[key]:7.1f} fps   runs {_runs(xs)}{ratio}")
    print(f"  main thread {r['main_ms']:.1f} ms/frame in the pipeline (upload + convert + view + "
          "finish)")
    return r


def exr_plates(
    folder: Path, size: tuple[int, int], frames: int, gop: int, runs: int,
    ctx: moderngl.Context, programs: ProgramCache,
) -> dict[str, float]:
    """The same frames as a half-float EXR sequence (ZIP, as Nuke writes by default) and as an
    H.264 clip: decode-only of each, and the plate decoder thread (EXR read + OCIO to the
    working space + RGBA half packing) and full pipeline (+ PBO upload), alternating runs."""
    clip = make_bench_clip(folder / f"exr_{size[0]}x{size[1]}.mp4", frames, size, gop)
    plate_dir = folder / "plate"
    plate_dir.mkdir()
    t0 = time.perf_counter()
    with av.open(str(clip)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            rgb = frame.to_ndarray(format="gbrpf32le")
            write_exr(plate_dir / f"plate.{1001 + i:04d}.exr", srgb_to_linear(rgb))
    info = probe_media(plate_dir / "plate.####.exr", fps=FPS)
    mb = sum(p.stat().st_size for p in plate_dir.iterdir()) / 1e6
    print(f"EXR plate: {info.width}x{info.height} half float RGB, ZIP, {info.frame_count} frames "
          f"({mb / info.frame_count:.1f} MB a frame, written in {time.perf_counter() - t0:.1f} s)"
          f"; beside the same frames as H.264 {clip.stat().st_size / 1e6 / frames:.2f} MB a "
          "frame")
    files = info.plate.sequence.files if info.plate is not None else ()
    w, h = info.display_size
    up = FrameUploader(ctx, programs, w, h)
    view = ViewPass(ctx, w, h)
    decode_only(clip)
    h264, exr, thr, pipe = [], [], [], []
    for _ in range(runs):
        h264.append(decode_only(clip))
        t1 = time.perf_counter()
        for f in files:
            read_exr_rgb(f)
        exr.append(len(files) / (time.perf_counter() - t1))
        thr.append(thread_only(info.path, info, None, None))
        pipe.append(pipeline(info.path, info, None, ctx, up, view)[0])
    view.release(ctx)
    up.release()
    r = {"h264": max(h264), "exr": max(exr), "thread": max(thr), "pipeline": max(pipe)}
    for label, key, xs in (("H.264 decode (PyAV)", "h264", h264),
                           ("EXR read (OpenEXR)", "exr", exr),
                           ("plate decoder thread", "thread", thr),
                           ("plate full pipeline (GL)", "pipeline", pipe)):
        ratio = "" if key == "h264" else f"   x{r[key] / r['h264']:.2f} of H.264"
        print(f"  {label:26s} {r[key]:7.1f} fps   runs {_runs(xs)}{ratio}")
    return r


def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4).astype(np.float32)


def _runs(xs: list[float]) -> str:
    return ", ".join(f"{x:.1f}" for x in xs)


def check_frame(up: FrameUploader, index: int) -> None:
    """The colour texture shows frame ``index`` (sampled sparsely: this runs inside timings)."""
    srgb = up.read_display()[:: max(1, up.height // 96), :: max(1, up.width // 128)]
    if mf.read_code_rgb(srgb, 1.0) != index:
        raise RuntimeError(f"seek to {index} showed another frame")


def seek_latencies(
    path: Path, info: MediaInfo, depth: DepthSource | None, ctx: moderngl.Context,
    up: FrameUploader, targets: list[int], cache: FrameCache | None, warm_frames: int = 0,
) -> list[float]:
    """Milliseconds from seek(k) to frame k converted on the GPU, per target."""
    out = []
    with DecoderThread(path, depth, queue_size=8, cache=cache, info=info,
                       interleave_chroma=interleave_chroma_for(ctx)) as dec:
        for i in range(warm_frames):
            packet = dec.get(30.0)
            assert packet is not None and packet.index == i
        for k in targets:
            t0 = time.perf_counter()
            dec.seek(k)
            packet = dec.get(30.0)
            if packet is None or packet.index != k:
                raise RuntimeError(f"seek to {k} failed")
            up.upload(packet, info)
            ctx.finish()
            out.append(1000 * (time.perf_counter() - t0))
            check_frame(up, k)
    return out


def memory_run(
    folder: Path, ctx: moderngl.Context, programs: ProgramCache, frames_total: int,
    size: tuple[int, int], cache_mb: int, seek_every: int,
) -> dict[str, float]:
    clip = make_bench_clip(folder / "mem.mp4", 600, size, gop=48)
    info = probe_clip(clip)
    depth = open_depth(
        mf.make_depth_video(folder / "mem_depth.mkv", frames=600, size=(size[0] // 2, size[1] // 2),
                            fps=FPS),
        mf.DEPTH_MAPPING, info,
    )
    up = FrameUploader(ctx, programs, *info.display_size)
    view = ViewPass(ctx, *info.display_size)
    rnd = random.Random(11)
    samples: list[tuple[int, float]] = []
    baseline = rss_mb()
    t0 = time.perf_counter()
    shown = 0
    with DecoderThread(clip, depth, queue_size=8, cache=FrameCache(cache_mb << 20),
                       info=info, interleave_chroma=interleave_chroma_for(ctx)) as dec:
        expected = 0
        while shown < frames_total:
            if shown and shown % seek_every == 0:
                expected = rnd.randrange(info.frame_count)
                dec.seek(expected)
            elif expected >= info.frame_count:
                expected = 0
                dec.seek(0)
            packet = dec.get(30.0)
            if packet is None or packet.index != expected:
                raise RuntimeError(f"memory run lost frame {expected}")
            up.upload(packet, info)
            view.render(up)
            ctx.finish()
            expected += 1
            shown += 1
            if shown % 100 == 0:
                samples.append((shown, rss_mb()))
    elapsed = time.perf_counter() - t0
    view.release(ctx)
    up.release()
    xs = np.array([s[0] for s in samples], dtype=np.float64)
    ys = np.array([s[1] for s in samples], dtype=np.float64)
    half = len(xs) // 2
    slope = float(np.polyfit(xs[half:], ys[half:], 1)[0] * 1000) if len(xs) > 4 else 0.0
    return {
        "frames": shown, "seconds": elapsed, "baseline_mb": baseline,
        "warm_mb": float(ys[min(len(ys) - 1, 4)]), "end_mb": float(ys[-1]),
        "max_mb": float(ys.max()), "slope_mb_per_1000": slope, "cache_mb": cache_mb,
        "size": f"{size[0]}x{size[1]}",
    }


# -- main ----------------------------------------------------------------------------------------


def parse_size(text: str) -> tuple[int, int]:
    w, h = text.lower().split("x")
    return int(w), int(h)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=240, help="frames of the throughput clips")
    parser.add_argument("--sizes", default="1920x1080,640x360",
                        help="throughput clip sizes; the first is also used for seeks")
    parser.add_argument("--gop-seconds", type=float, default=2.0)
    parser.add_argument("--runs", type=int, default=2, help="alternating throughput runs")
    parser.add_argument("--seeks", type=int, default=30)
    parser.add_argument("--memory-frames", type=int, default=5000)
    parser.add_argument("--memory-size", type=parse_size, default=(640, 360))
    parser.add_argument("--memory-cache-mb", type=int, default=128)
    parser.add_argument("--seek-every", type=int, default=250)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the throughput and seek figures")
    parser.add_argument("--exr-frames", type=int, default=48,
                        help="frames of the EXR-plate comparison")
    parser.add_argument("--skip-exr", action="store_true")
    args = parser.parse_args()
    sizes = [parse_size(x) for x in args.sizes.split(",")]

    ctx = create_headless_context()
    programs = ProgramCache(ctx)
    print(f"machine: {os.cpu_count()} cores, {cpu_model()}; GL: {describe(ctx)}; "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"PyAV {av.__version__}; numpy {np.__version__}")
    gop = round(args.gop_seconds * float(FPS))

    with tempfile.TemporaryDirectory(prefix="rackfocus-bench-") as tmp:
        folder = Path(tmp)
        # Memory first, so its baseline is a fresh process.
        if not args.skip_memory:
            m = memory_run(folder, ctx, programs, args.memory_frames, args.memory_size,
                           args.memory_cache_mb, args.seek_every)
            print(f"memory: {m['frames']} frames at {m['size']} with a seek every "
                  f"{args.seek_every} ({m['seconds']:.0f} s, cache {m['cache_mb']} MB): RSS "
                  f"{m['baseline_mb']:.0f} MB before, {m['warm_mb']:.0f} MB after 500 frames, "
                  f"{m['end_mb']:.0f} MB at the end, max {m['max_mb']:.0f} MB; slope over the "
                  f"second half {m['slope_mb_per_1000']:+.2f} MB per 1000 frames")

        # Throughput, per size.
        figures: dict[str, object] = {"gl": describe(ctx), "clip_fps": float(FPS)}
        for size in sizes:
            figures[f"{size[0]}x{size[1]}"] = throughput(folder, size, args.frames, gop,
                                                         args.runs, ctx, programs)

        # EXR plates against the same frames as H.264, at the first size.
        if not args.skip_exr:
            exr_plates(folder, sizes[0], args.exr_frames, gop, args.runs, ctx, programs)

        # Seeks, on the first size.
        clip = folder / f"tp_{sizes[0][0]}x{sizes[0][1]}.mp4"
        info = probe_clip(clip)
        w, h = info.display_size
        still = open_depth(folder / f"d_{w}.png", mf.DEPTH_MAPPING, info)
        up = FrameUploader(ctx, programs, w, h)
        rnd = random.Random(5)
        targets = [rnd.randrange(info.frame_count) for _ in range(args.seeks)]
        VideoReader.skip_nonref = False
        plain = seek_latencies(clip, info, still, ctx, up, targets, cache=None)
        VideoReader.skip_nonref = True
        cold = seek_latencies(clip, info, still, ctx, up, targets, cache=None)
        window = min(info.frame_count, 4 * round(float(FPS)))
        scrub_targets = [rnd.randrange(window) for _ in range(args.seeks)]
        scrub = seek_latencies(clip, info, still, ctx, up, scrub_targets, cache=FrameCache(),
                               warm_frames=window)
        print(f"seeks at {w}x{h}, GOP {gop} (time to the frame converted on the GPU):")
        for name, xs in (("cold, decode all", plain), ("cold, skip B", cold),
                         ("scrub, cached", scrub)):
            print(f"  {name:16s} median {statistics.median(xs):6.1f} ms, worst {max(xs):6.1f} ms "
                  f"({len(xs)} seeks)")
            figures[f"seek {name}"] = {"median_ms": statistics.median(xs), "worst_ms": max(xs)}
        up.release()
        if args.json is not None:
            args.json.write_text(json.dumps(figures, indent=1))

    programs.release()
    ctx.release()


if __name__ == "__main__":
    main()
