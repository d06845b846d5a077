"""Speed benchmark: the DOF passes per frame size and quality preset, beside a plain copy pass of
the same size (same run, same context), and beside a plain single-pass gather on the eval scenes.

Two more rows per size time the other passes of a preview frame against the same copy:
``display`` (the DOF result to a window-sized target through the viewer pass, no overlay) and
``yuv`` (a decoded 4:2:0 frame through ``FrameUploader.upload``: PBO writes and the conversion to
linear RGB). Every row is timed alternately with a copy (one of each per round) and carries that
copy's median: back-to-back copies run warmer than a copy between other passes (at 1080p on
llvmpipe 2.4-3.8 ms against 4.4-5.1 ms), which moved the DOF's ratio by up to 1.5x between runs
and a ratio near 2 by up to half. ``display`` and ``yuv``, as cheap as a copy, take
``PAIR_REPS`` rounds. The back-to-back copy is still printed under each size, for comparison.

GPU time comes from GL timer queries (GL_TIME_ELAPSED) where available, else wall time around
``ctx.finish()``. Ratios are what to compare across machines; absolute figures say where we are.

    .venv/bin/python bench/speed.py [--sizes 640x360,1280x720] [--presets default,draft] [--reps N]
        [--passes dof,display,yuv] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import moderngl
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.blur import gauss_blur  # noqa: E402
from rackfocus_live.depth import DepthMapping  # noqa: E402
from rackfocus_live.depthdetail import detail_scale  # noqa: E402
from rackfocus_live.gpu.context import (  # noqa: E402
    create_headless_context,
    describe,
    interleave_chroma_for,
    software_renderer,
)
from rackfocus_live.gpu.depthprep import DepthConditioner  # noqa: E402
from rackfocus_live.gpu.dof import DofRenderer  # noqa: E402
from rackfocus_live.gpu.fullscreen import FullscreenPass  # noqa: E402
from rackfocus_live.gpu.overlays import OverlayParams, ViewerPass  # noqa: E402
from rackfocus_live.gpu.programs import ProgramCache, shader_dir  # noqa: E402
from rackfocus_live.gpu.upload import FrameUploader  # noqa: E402
from rackfocus_live.lens import LensState  # noqa: E402
from rackfocus_live.media.decoder import FramePacket  # noqa: E402
from rackfocus_live.media.images import read_depth_raw, read_rgb  # noqa: E402
from rackfocus_live.media.probe import MediaInfo  # noqa: E402
from rackfocus_live.media.reader import interleave_chroma  # noqa: E402
from rackfocus_live.resample import bilinear_resize  # noqa: E402
from rackfocus_live.settings import QUALITY_PRESETS  # noqa: E402

SIZES = ((640, 360), (1280, 720), (1920, 1080), (3840, 2160))
PASSES = ("dof", "display", "yuv")
#: Rounds of the passes timed alternately with the copy (display, yuv): cheap, and their
#: ratios near 1-2 need the copy's median from the same rounds.
PAIR_REPS = 21
BENCH_SHADERS = Path(__file__).resolve().parent


def use_timer_queries(ctx: moderngl.Context) -> bool:
    """Timer queries on real GPUs; wall time around finish() on software rasterisers, whose
    queries only see command submission (llvmpipe rasterises later, at flush)."""
    return not software_renderer(ctx) and ("GL_ARB_timer_query" in ctx.extensions
                                           or ctx.version_code >= 330)


def timed_ms(ctx: moderngl.Context, draw: Callable[[], None], reps: int, *,
             warm: bool = True) -> float:
    """Median GPU milliseconds of ``draw`` over ``reps`` runs after one warm-up (``warm``)."""
    if warm:
        draw()
    ctx.finish()
    use_query = use_timer_queries(ctx)
    samples = []
    for _ in range(reps):
        if use_query:
            q = ctx.query(time=True)
            with q:
                draw()
            samples.append(q.elapsed / 1e6)
        else:
            t0 = time.perf_counter()
            draw()
            ctx.finish()
            samples.append((time.perf_counter() - t0) * 1e3)
    return float(np.median(samples))


def timed_pair_ms(ctx: moderngl.Context, draw: Callable[[], None], copy: Callable[[], None],
                  reps: int) -> tuple[float, float]:
    """Median milliseconds of ``draw`` and of ``copy``, timed alternately (one of each per
    round, after one warm-up each), so both see the same machine and the same cache state:
    for passes as cheap as a copy, whose ratio a burst of load or a copy timed in another
    state (back-to-back copies run warmer) would skew."""
    a, b = timed_ms(ctx, draw, 1), timed_ms(ctx, copy, 1)
    draws, copies = [a], [b]
    for _ in range(reps):
        draws.append(timed_ms(ctx, draw, 1, warm=False))
        copies.append(timed_ms(ctx, copy, 1, warm=False))
    return float(np.median(draws[1:])), float(np.median(copies[1:]))


def synthetic_scene(w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    """Textured layers at 1, 3 and 12 m with small bright lights: a typical rack-focus frame."""
    rng = np.random.default_rng(7)
    small = rng.integers(0, 256, (h // 8 + 1, w // 8 + 1, 3), dtype=np.uint8)
    img = np.repeat(np.repeat(small, 8, 0), 8, 1)[:h, :w].copy()
    z = np.full((h, w), 12.0, np.float32)
    z[h // 4: 3 * h // 4, w // 3: 2 * w // 3] = 3.0
    z[:, : w // 6] = 1.0
    lights = rng.integers(0, [h, w], (40, 2))
    for y, x in lights:
        img[y: y + 3, x: x + 3] = 255
    return img, (1.0 / z).astype(np.float32)


def yuv420_packet(rgb: np.ndarray, interleave: bool) -> tuple[FramePacket, MediaInfo]:
    """``rgb`` as the decoder hands a BT.709 limited-range 4:2:0 frame over (8-bit planes;
    chroma interleaved with ``interleave``, as for a software rasteriser)."""
    h, w = rgb.shape[:2]
    x = rgb.astype(np.float32) / 255.0
    kr, kb = 0.2126, 0.0722
    y = kr * x[..., 0] + (1 - kr - kb) * x[..., 1] + kb * x[..., 2]
    cb, cr = (x[..., 2] - y) / (2 * (1 - kb)), (x[..., 0] - y) / (2 * (1 - kr))
    ch, cw = (h + 1) // 2, (w + 1) // 2

    def sub(c: np.ndarray) -> np.ndarray:
        return np.pad(c, ((0, 2 * ch - h), (0, 2 * cw - w)), mode="edge")[::2, ::2]

    u = np.round(128 + 224 * sub(cb)).astype(np.uint8)
    v = np.round(128 + 224 * sub(cr)).astype(np.uint8)
    luma = np.round(16 + 219 * y).astype(np.uint8)
    planes = (luma, interleave_chroma(u, v)) if interleave else (luma, u, v)
    packet = FramePacket(index=0, pts=0, time=0.0, planes=planes, format="yuv420p",
                         depth=np.zeros((1, 1), np.float32), epoch=0)
    info = MediaInfo(path=Path("synthetic"), width=w, height=h, fps=Fraction(24),
                     time_base=Fraction(1, 24), duration=1.0, frame_count=1, pix_fmt="yuv420p",
                     color_matrix="bt709", color_range="limited", rotation=0,
                     source_pix_fmt="yuv420p")
    return packet, info


class Inputs:
    """Colour + inverse-depth textures of one size; released together."""

    def __init__(self, ctx: moderngl.Context, rgb: np.ndarray, inv: np.ndarray) -> None:
        h, w = rgb.shape[:2]
        self.size = (w, h)
        self.color = ctx.texture((w, h), 3, np.ascontiguousarray(rgb).tobytes(), alignment=1)
        self.depth = ctx.texture((inv.shape[1], inv.shape[0]), 1,
                                 np.ascontiguousarray(inv).tobytes(), dtype="f4", alignment=1)

    def release(self) -> None:
        self.color.release()
        self.depth.release()


def bench_sizes(ctx: moderngl.Context, sizes: list[tuple[int, int]], presets: list[str],
                reps: int, passes: tuple[str, ...] = PASSES) -> list[dict[str, object]]:
    """One row per size and DOF preset, then ``display`` and ``yuv`` rows; see the docstring.
    The ``dof_ms`` key holds the pass's time whatever the pass (the table's ``ms`` column)."""
    programs = ProgramCache(ctx)
    copy_cache = ProgramCache(ctx, _bench_root())
    rows: list[dict[str, object]] = []
    lens = LensState(focal_length_mm=50, f_stop=1.4, sensor_width_mm=36, focus_m=3.0)
    print(f"{'size':>10s} {'preset':>8s} {'ms':>9s} {'copy ms':>9s} {'ratio':>7s}")
    for w, h in sizes:
        rgb, inv = synthetic_scene(w, h)
        inputs = Inputs(ctx, rgb, inv)
        target = ctx.texture((w, h), 4)
        fbo = ctx.framebuffer(color_attachments=[target])
        copy = FullscreenPass(copy_cache, "copy.frag")
        copies: list[float] = []

        def time_copy(c: FullscreenPass = copy, f: moderngl.Framebuffer = fbo,
                      i: Inputs = inputs, out: list[float] = copies) -> None:
            out.append(timed_ms(ctx, lambda: c.render(f, [("u_color", i.color)]), reps))

        time_copy()
        n = reps if w * h <= 1920 * 1080 else max(1, reps // 3)
        # (name, ms, copy ms), each timed alternately with its copy.
        timings: list[tuple[str, float, float]] = []
        pair_reps = max(reps, PAIR_REPS)

        def copy_draw(c: FullscreenPass = copy, f: moderngl.Framebuffer = fbo,
                      i: Inputs = inputs) -> None:
            c.render(f, [("u_color", i.color)])
        if "dof" in passes:
            for preset in presets:
                dof = DofRenderer(ctx, programs, (w, h), preset, timer_query=False)
                timings.append((preset, *timed_pair_ms(ctx, lambda d=dof, i=inputs: d.render(
                    i.color, i.depth, lens, color_is_srgb=True), copy_draw, n)))
                dof.release()
                time_copy()
        if "display" in passes:
            timings.append(("display", *display_ms(ctx, programs, inputs, fbo, copy_draw,
                                                   pair_reps)))
        if "yuv" in passes:
            timings.append(("yuv", *yuv_ms(ctx, programs, rgb, copy_draw, pair_reps)))
        for name, ms, base in timings:
            rows.append({"size": f"{w}x{h}", "preset": name, "dof_ms": ms, "copy_ms": base,
                         "ratio": ms / base})
            print(f"{w:>5d}x{h:<4d} {name:>8s} {ms:9.2f} {base:9.3f} {ms / base:7.1f}")
        print(f"{'':>10s} copies timed back to back: {float(np.median(copies)):.3f} ms")
        copy.release()
        fbo.release()
        target.release()
        inputs.release()
    copy_cache.release()
    programs.release()
    return rows


def display_ms(ctx: moderngl.Context, programs: ProgramCache, inputs: Inputs,
               target: moderngl.Framebuffer, copy: Callable[[], None],
               reps: int) -> tuple[float, float]:
    """The viewer pass, no overlay: an RGBA8 DOF-sized result fitted to a window-sized target
    (the target of the copy, so the same pixels are written); with the copy timed beside it."""
    w, h = inputs.size
    result = ctx.texture((w, h), 4)
    viewer = ViewerPass(programs)
    try:
        ms = timed_pair_ms(ctx, lambda: viewer.render(
            target, (w, h), (0.0, 0.0, float(w), float(h)), result=result,
            original=inputs.color, inv_depth=inputs.depth, coc=inputs.depth,
            params=OverlayParams()), copy, reps)
    finally:
        viewer.release()
        result.release()
    return ms


def yuv_ms(ctx: moderngl.Context, programs: ProgramCache, rgb: np.ndarray,
           copy: Callable[[], None], reps: int) -> tuple[float, float]:
    """A decoded 8-bit 4:2:0 frame to linear RGB: PBO writes of its planes and the conversion;
    with the copy timed beside it."""
    # The layout the product's decoder would hand this context (gpu.context).
    packet, info = yuv420_packet(rgb, interleave_chroma_for(ctx))
    up = FrameUploader(ctx, programs, info.width, info.height)
    try:
        ms = timed_pair_ms(ctx, lambda: up.upload(packet, info), copy, reps)
    finally:
        up.release()
    return ms


def _bench_root() -> Path:
    """A shader root where bench shaders can #include the product's include files."""
    return BENCH_SHADERS


def bench_vs_plain_gather(ctx: moderngl.Context, reps: int) -> dict[str, float] | None:
    """Per eval case at 640x360: our default and draft presets vs the plain gather, same run."""
    evaldir = ROOT.parent / "shared" / "eval" / "scenes"
    if not evaldir.is_dir():
        print("eval scenes not found: plain-gather comparison skipped")
        return None
    programs = ProgramCache(ctx)
    plain_cache = ProgramCache(ctx, _bench_root())
    plain = FullscreenPass(plain_cache, "plain_gather.frag")
    ours_total, draft_total, plain_total = 0.0, 0.0, 0.0
    print(f"\n{'case':40s} {'ours ms':>9s} {'draft ms':>9s} {'plain ms':>9s} {'speed-up':>9s} "
          f"{'draft':>7s}")
    for scene_json in sorted(evaldir.glob("*/scene.json")):
        scene = json.loads(scene_json.read_text())
        rgb = read_rgb(scene_json.parent / "rgb.png")
        inv = DepthMapping("metric").to_inverse_depth(read_depth_raw(
            scene_json.parent / "depth.exr"))
        inputs = Inputs(ctx, rgb, inv)
        w, h = inputs.size
        out = ctx.texture((w, h), 4)
        fbo = ctx.framebuffer(color_attachments=[out])
        dof = DofRenderer(ctx, programs, (w, h), "default", timer_query=False)
        draft = DofRenderer(ctx, programs, (w, h), "draft", timer_query=False)
        for case in scene["cases"]:
            lens = LensState(scene["focal_length_mm"], case["f_stop"], scene["sensor_width_mm"],
                             case["focus_m"], focus_breathing=False)
            ours = timed_ms(ctx, lambda d=dof, i=inputs, ln=lens: d.render(
                i.color, i.depth, ln, color_is_srgb=True), reps)
            ours_draft = timed_ms(ctx, lambda d=draft, i=inputs, ln=lens: d.render(
                i.color, i.depth, ln, color_is_srgb=True), reps)
            k = lens.coc_scale_px(w)
            coc = k * (1 / lens.focus_m - inv)
            max_r = float(np.abs(coc).max()) / 2
            uniforms = {"u_coc_scale": k, "u_inv_focus": 1 / lens.focus_m,
                        "u_max_radius": max_r,
                        "u_samples": int(np.clip(np.pi * max_r * max_r, 16, 4096))}
            theirs = timed_ms(ctx, lambda i=inputs, f=fbo, u=uniforms: plain.render(
                f, [("u_color", i.color), ("u_inv_depth", i.depth)], u), reps)
            ours_total += ours
            draft_total += ours_draft
            plain_total += theirs
            name = f"{scene['name']}/{case['file']}"
            print(f"{name:40s} {ours:9.2f} {ours_draft:9.2f} {theirs:9.2f} {theirs / ours:8.1f}x "
                  f"{theirs / ours_draft:6.1f}x")
        dof.release()
        draft.release()
        fbo.release()
        out.release()
        inputs.release()
    plain.release()
    plain_cache.release()
    programs.release()
    print(f"{'MEAN (sum ratio)':40s} {ours_total / 8:9.2f} {draft_total / 8:9.2f} "
          f"{plain_total / 8:9.2f} {plain_total / ours_total:8.1f}x "
          f"{plain_total / draft_total:6.1f}x")
    return {"ours_ms": ours_total / 8, "draft_ms": draft_total / 8, "plain_ms": plain_total / 8,
            "speedup": plain_total / ours_total, "draft_speedup": plain_total / draft_total}


def bench_conditioning(ctx: moderngl.Context, reps: int,
                       size: tuple[int, int] = (1920, 1080)) -> dict[str, float]:
    """Depth conditioning (edge refinement) against the default DOF, same frame, same run:
    full-resolution depth, depth at a third of the width (a depth model's), and such depth
    blurred over a texel and up-sampled to the frame's size (as depth tools write it: read as
    coarse as it is, so refined with the reach and restoration of coarse depth)."""
    w, h = size
    programs = ProgramCache(ctx)
    rgb, inv = synthetic_scene(w, h)
    lens = LensState(focal_length_mm=50, f_stop=1.4, sensor_width_mm=36, focus_m=3.0)
    dof = DofRenderer(ctx, programs, (w, h), "default", timer_query=False)
    cond = DepthConditioner(ctx, programs, (w, h))
    out: dict[str, float] = {}
    print(f"\n{'depth conditioning':30s} {'ms':>9s} {'DOF ms':>9s} {'ratio':>7s}")
    third = inv[::3, ::3].copy()
    # A depth model's map: a third of the width with a blur of about a texel, up-sampled.
    up = bilinear_resize(gauss_blur(third, 1.0).astype(np.float32), (h, w))
    for label, depth in (("full-res depth", inv), ("1/3-res depth", third),
                         ("1/3-res depth up-sampled", up)):
        inputs = Inputs(ctx, rgb, depth)
        detail = detail_scale(depth, (h, w)) or 1.0
        dof_ms = timed_ms(ctx, lambda i=inputs: dof.render(
            i.color, i.depth, lens, color_is_srgb=True), reps)
        cond_ms = timed_ms(ctx, lambda i=inputs, d=detail: cond.run(
            i.color, i.depth, color_is_srgb=True, detail=d), reps)
        inputs.release()
        out[label] = cond_ms / dof_ms
        print(f"{label + f' {w}x{h}':30s} {cond_ms:9.2f} {dof_ms:9.2f} {cond_ms / dof_ms:7.2f}"
              "  (target <= 0.25)")
    cond.release()
    dof.release()
    programs.release()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default=",".join(f"{w}x{h}" for w, h in SIZES))
    ap.add_argument("--presets", default=",".join(QUALITY_PRESETS))
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--skip-plain", action="store_true")
    ap.add_argument("--passes", default=",".join(PASSES),
                    help="rows to time: dof (each preset), display, yuv")
    ap.add_argument("--json", type=Path, help="also write the rows (and the plain-gather "
                    "comparison) here")
    ap.add_argument("--skip-conditioning", action="store_true")
    args = ap.parse_args(argv)
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    ctx = create_headless_context()
    timing = "GL timer queries" if use_timer_queries(ctx) else "wall time around ctx.finish()"
    print(f"GL: {describe(ctx)}; CPU: {platform.processor() or platform.machine()}; {timing}")
    print(f"shaders: {shader_dir()}")
    rows = bench_sizes(ctx, sizes, args.presets.split(","), args.reps,  # type: ignore[arg-type]
                       tuple(args.passes.split(",")))
    plain = None if args.skip_plain else bench_vs_plain_gather(ctx, max(1, args.reps // 2))
    conditioning = (None if args.skip_conditioning
                    else bench_conditioning(ctx, max(1, args.reps // 2)))
    if args.json is not None:
        args.json.write_text(json.dumps({"gl": describe(ctx), "rows": rows, "plain": plain,
                                         "conditioning": conditioning}, indent=1))
    ctx.release()
    return 0


if __name__ == "__main__":
    sys.exit(main())
