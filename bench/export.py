"""Export benchmark: export frames/s beside decode-only, render-only and encode-only, one run.

Generates its own clip in a temporary folder (H.264 4:2:0, 2-second GOP with B-frames, a panning
texture under the frame-index code of ``tests/media_factory.py``, an AAC track) and a depth video
at half resolution (FFV1 gray16, what depth models deliver), then measures, alternating runs and
keeping the best of each:

* decode-only: plain PyAV decoding of the clip (FFmpeg threads), and the ``DecoderThread`` with
  the depth video (planes copied out, depth mapped): what the export consumes;
* render-only: upload + DOF passes + readback of frames already decoded, on the GL context;
* encode-only: the export's ``VideoWriter`` (RGBA -> YUV with swscale, encoder, muxer) fed frames
  already rendered;
* export: ``ExportJob.run`` end to end (decode thread, GL main thread, writer thread, audio copy).

Target (issue 6): export >= 0.8x the slower of decode-only and encode-only. On a machine without
a GPU (llvmpipe) the DOF passes dominate (hundreds of ms per 1080p frame, against a target of
under a millisecond on a GPU) and that ratio says nothing about the pipeline.
``--stand-in-dof`` then replaces the DOF passes by one full-screen pass (what a GPU's DOF costs,
relatively), so the overlap of decode, GL and encode threads is measured on its own; it is
labelled in the output.

    .venv/bin/python bench/export.py [--size 1920x1080] [--frames 240] [--codec h264]
        [--preset medium] [--quality default] [--runs 2] [--stand-in-dof] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import cpu_model  # noqa: E402
from bench.stream import thread_only  # noqa: E402
from rackfocus_live.gpu.context import (  # noqa: E402
    create_headless_context,
    describe,
    interleave_chroma_for,
    restore_framebuffer,
)
from rackfocus_live.gpu.dof import DofRenderer  # noqa: E402
from rackfocus_live.gpu.programs import ProgramCache  # noqa: E402
from rackfocus_live.gpu.upload import FrameUploader  # noqa: E402
from rackfocus_live.lens import LensState  # noqa: E402
from rackfocus_live.media.decoder import DecoderThread, FramePacket  # noqa: E402
from rackfocus_live.media.depthsource import open_depth  # noqa: E402
from rackfocus_live.media.probe import MediaInfo, probe_clip  # noqa: E402
from rackfocus_live.media.writer import VideoWriter, WriterConfig  # noqa: E402
from rackfocus_live.timeline.keyframes import FocusTrack, Key  # noqa: E402
from tests import media_factory as mf  # noqa: E402

FPS = Fraction(24)
LENS = LensState(focal_length_mm=50.0, f_stop=1.4, sensor_width_mm=36.0, focus_m=1.2)


# -- media -------------------------------------------------------------------------------------


def make_media(folder: Path, size: tuple[int, int], frames: int) -> tuple[Path, Path]:
    """A textured, panning H.264 clip with AAC audio, and its half-resolution depth video."""
    width, height = size
    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = 22 * np.sin(xx / 41.0) * np.cos(yy / 29.0) + rng.normal(0, 5, (height, width))
    base = np.tile(base.astype(np.int16), (1, 2))
    cw, ch = width // 2, height // 2
    chroma = (14 * np.sin(np.mgrid[0:ch, 0:cw][1] / 23.0)).astype(np.int16)

    def planes(i: int) -> tuple[np.ndarray, ...]:
        shift = (i * 4) % width
        y = mf.code_luma(i, size).astype(np.int16) + base[:, shift : shift + width]
        u = 128 + np.roll(chroma, i, axis=1)
        v = 128 - np.roll(chroma, -i, axis=0)
        return tuple(np.clip(p, 0, 255).astype(np.uint8) for p in (y, u, v))

    clip = mf.make_clip(folder / "clip.mp4", frames=frames, size=size, fps=FPS, gop=48,
                        bframes=3, yuv=planes, audio=True)
    dsize = (max(2, width // 2), max(2, height // 2))
    depth_path = folder / "depth.mkv"
    # Depth: a near-to-far ramp moving with the frame, so the CoC spans the whole range.
    dy, dx = np.mgrid[0 : dsize[1], 0 : dsize[0]].astype(np.float32)
    with av.open(os.fspath(depth_path), "w") as c:
        s = c.add_stream("ffv1", rate=int(FPS))
        s.width, s.height, s.pix_fmt = dsize[0], dsize[1], "gray16le"
        for i in range(frames):
            mm = 600 + 5400 * ((dx / dsize[0] + 0.01 * i) % 1.0) + 200 * (dy / dsize[1])
            frame = av.VideoFrame.from_ndarray(mm.astype(np.uint16), format="gray16le")
            frame.pts, frame.time_base = i, 1 / FPS
            c.mux(s.encode(frame))
        c.mux(s.encode(None))
    return clip, depth_path


def pull(frames: int) -> FocusTrack:
    seconds = float(frames / FPS)
    return FocusTrack([Key(0.0, 0.8), Key(seconds / 2, 4.0), Key(seconds, 1.2)], fps=FPS)


# -- stand-in DOF ------------------------------------------------------------------------------

_STAND_IN_VERT = """
#version 330 core
void main() {
    vec2 p = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));
    gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}
"""
_STAND_IN_FRAG = """
#version 330 core
uniform sampler2D u_color;
uniform sampler2D u_depth;
out vec4 f_color;
void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    vec3 c = texelFetch(u_color, p, 0).rgb * (0.9 + 0.1 * texture(u_depth, vec2(0.5)).r);
    f_color = vec4(pow(max(c, 0.0), vec3(1.0 / 2.4)), 1.0);
}
"""


def use_stand_in_dof() -> None:
    """Replace ``DofRenderer.render`` by one full-screen pass reading colour and depth."""
    state: dict[int, tuple[object, object]] = {}

    def render(self, color, inv_depth, lens, *, color_is_srgb, highlight=None):  # type: ignore[no-untyped-def]
        key = id(self.ctx)
        if key not in state:
            prog = self.ctx.program(vertex_shader=_STAND_IN_VERT, fragment_shader=_STAND_IN_FRAG)
            state[key] = (prog, self.ctx.vertex_array(prog, []))
        prog, vao = state[key]
        previous = self.ctx.fbo
        color.use(0)
        inv_depth.use(1)
        prog["u_color"].value = 0  # type: ignore[index]
        prog["u_depth"].value = 1  # type: ignore[index]
        self.output_fbo.use()
        vao.render(vertices=3)  # type: ignore[attr-defined]
        restore_framebuffer(self.ctx, previous)
        return self.output

    DofRenderer.render = render  # type: ignore[method-assign]


# -- measurements ------------------------------------------------------------------------------


def pyav_decode(path: Path) -> float:
    with av.open(os.fspath(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_type = "AUTO"
        t0 = time.perf_counter()
        n = sum(1 for _ in container.decode(stream))
        return n / (time.perf_counter() - t0)


def packets(clip: Path, depth: Path, info: MediaInfo, n: int,
            interleave: bool) -> list[FramePacket]:
    source = open_depth(depth, mf.DEPTH_MAPPING, info)
    with DecoderThread(clip, source, queue_size=8, cache=None, info=info,
                       interleave_chroma=interleave) as dec:
        out = [dec.get(30.0) for _ in range(n)]
    return [p for p in out if p is not None]


def render_only(ctx, programs, info: MediaInfo, held: list[FramePacket], frames: int,  # type: ignore[no-untyped-def]
                quality: str, track: FocusTrack) -> tuple[float, list[av.VideoFrame]]:
    """Upload + DOF + synchronous readback per frame; returns fps and the rendered frames."""
    w, h = info.display_size
    up = FrameUploader(ctx, programs, w, h)
    dof = DofRenderer(ctx, programs, (w, h), quality, timer_query=False)
    out: list[av.VideoFrame] = []
    try:
        ctx.finish()
        t0 = time.perf_counter()
        for i in range(frames):
            packet = held[i % len(held)]
            up.upload(packet, info)
            dof.render(up.color, up.depth, track.lens_at(i / float(FPS), LENS),
                       color_is_srgb=False)
            frame = av.VideoFrame(w, h, "rgba")
            dof.output_fbo.read_into(memoryview(frame.planes[0]), components=4, alignment=1)
            out.append(frame)
        ctx.finish()
        fps = frames / (time.perf_counter() - t0)
    finally:
        ctx.detect_framebuffer(0).use()
        up.release()
        dof.release()
    return fps, out


def encode_only(folder: Path, info: MediaInfo, frames: list[av.VideoFrame], codec: str,
                preset: str) -> float:
    suffix = {"prores": ".mov", "ffv1": ".mkv"}.get(codec, ".mp4")
    out = folder / f"encode_only{suffix}"
    t0 = time.perf_counter()
    w = VideoWriter(WriterConfig(out, info, codec=codec, preset=preset, audio=False)).open()
    for i, frame in enumerate(frames):
        w.put(frame, info.pts_of_index(i), timeout=None)
    w.finish()
    w.wait()
    fps = len(frames) / (time.perf_counter() - t0)
    out.unlink()
    return fps


def export(ctx, folder: Path, clip: Path, depth: Path, codec: str, preset: str,  # type: ignore[no-untyped-def]
           quality: str, track: FocusTrack) -> float:
    from rackfocus_live.export import ExportJob, ExportSettings

    suffix = {"prores": ".mov", "ffv1": ".mkv"}.get(codec, ".mp4")
    settings = ExportSettings(clip=clip, depth=depth, output=folder / f"export{suffix}",
                              lens=LENS, mapping=mf.DEPTH_MAPPING, track=track, codec=codec,
                              preset=preset, quality=quality)
    t0 = time.perf_counter()
    with ExportJob(ctx, settings, warn=lambda _m: None) as job:
        final = job.run()
    elapsed = time.perf_counter() - t0
    if final.state != "done":
        raise RuntimeError(f"export ended {final.state}")
    got = probe_clip(folder / f"export{suffix}").frame_count
    if got != final.total:
        raise RuntimeError(f"export wrote {got} of {final.total} frames")
    return final.total / elapsed


# -- report ------------------------------------------------------------------------------------




def _fps(value: float) -> str:
    return f"{value:8.2f}" if value < 10 else f"{value:8.1f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1920x1080", help="WxH (default 1920x1080)")
    ap.add_argument("--frames", type=int, default=240, help="clip length (default 240)")
    ap.add_argument("--codec", default="h264", help="h264, hevc, prores or ffv1")
    ap.add_argument("--preset", default="medium", help="x264/x265 preset (default medium)")
    ap.add_argument("--quality", default="default", help="DOF preset (default: default)")
    ap.add_argument("--runs", type=int, default=2, help="runs of each, best kept (default 2)")
    ap.add_argument("--stand-in-dof", action="store_true",
                    help="one full-screen pass instead of the DOF passes (pipeline overlap "
                         "without a GPU)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    if args.stand_in_dof:
        use_stand_in_dof()
    size = tuple(int(v) for v in args.size.lower().split("x"))
    assert len(size) == 2

    ctx = create_headless_context()
    programs = ProgramCache(ctx)
    gl = describe(ctx)
    print(f"machine: {cpu_model()}, {os.cpu_count()} CPUs; GL: {gl}")
    print(f"PyAV {av.__version__}, FFmpeg libavcodec {av.library_versions['libavcodec']}")
    track = pull(args.frames)
    with tempfile.TemporaryDirectory(prefix="rf-bench-export-") as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        clip, depth = make_media(folder, size, args.frames)  # type: ignore[arg-type]
        info = probe_clip(clip)
        mbps = clip.stat().st_size * 8 / info.duration / 1e6
        print(f"clip: {info.width}x{info.height} H.264 {info.pix_fmt} {mbps:.1f} Mbit/s + AAC, "
              f"{info.frame_count} frames; depth FFV1 gray16 at half size "
              f"(made in {time.perf_counter() - t0:.1f} s)")
        dof = "STAND-IN one-pass DOF" if args.stand_in_dof else f"DOF preset {args.quality}"
        print(f"export: {args.codec} preset {args.preset}, {dof}; "
              f"best of {args.runs} alternating runs")
        held = packets(clip, depth, info, min(8, args.frames), interleave_chroma_for(ctx))
        best: dict[str, float] = {}

        def keep(name: str, value: float) -> None:
            best[name] = max(best.get(name, 0.0), value)
            print(f"  {name:<16} {_fps(value)} fps", flush=True)

        rendered: list[av.VideoFrame] = []
        for run in range(args.runs):
            print(f"run {run + 1}:")
            keep("pyav decode", pyav_decode(clip))
            source = open_depth(depth, mf.DEPTH_MAPPING, info)
            keep("decoder thread", thread_only(clip, info, source, None))
            fps, rendered = render_only(ctx, programs, info, held, args.frames, args.quality,
                                        track)
            keep("render", fps)
            keep("encode", encode_only(folder, info, rendered, args.codec, args.preset))
            rendered = []
            keep("export", export(ctx, folder, clip, depth, args.codec, args.preset,
                                  args.quality, track))
    programs.release()
    ctx.release()

    decode = best["decoder thread"]
    bound = min(decode, best["encode"])
    ratio = best["export"] / bound
    strict = best["export"] / min(best["pyav decode"], best["encode"])
    print()
    print("| stage | fps |")
    print("|---|---|")
    for name in ("pyav decode", "decoder thread", "render", "encode", "export"):
        print(f"| {name} | {_fps(best[name]).strip()} |")
    slowest = min(decode, best["encode"], best["render"])
    overlap = best["export"] / slowest
    print(f"\nexport / min(decoder thread, encode) = {best['export']:.1f} / {bound:.1f} = "
          f"**{ratio:.2f}x** (target >= 0.8x); against plain PyAV decode: {strict:.2f}x")
    shared = 1.0 / sum(1.0 / best[k] for k in ("decoder thread", "render", "encode"))
    print(f"export / slowest stage incl. render ({_fps(slowest).strip()} fps) = {overlap:.2f}x; "
          f"export / all stages sharing one CPU pool ({_fps(shared).strip()} fps: no overlap "
          f"possible when every stage is CPU work) = {best['export'] / shared:.2f}x")
    if args.json:
        args.json.write_text(json.dumps({
            "machine": cpu_model(), "cpus": os.cpu_count(), "gl": gl, "size": args.size,
            "frames": args.frames, "codec": args.codec, "preset": args.preset,
            "quality": args.quality, "stand_in_dof": args.stand_in_dof, "fps": best,
            "ratio": ratio, "ratio_pyav": strict,
            "ratio_slowest_stage": overlap, "ratio_shared_cpu": best["export"] / shared,
        }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
