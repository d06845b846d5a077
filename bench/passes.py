"""Per-pass cost of the DOF: each pass of one frame timed alone, as a ratio to a copy pass of the
same size (same run). The passes are recorded while one frame renders (what each reads, writes
and which uniforms it gets) and then replayed one at a time, so every pass sees the inputs of
a real frame.

    .venv/bin/python bench/passes.py [--size 1920x1080] [--preset default] [--reps 3]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.speed import Inputs, _bench_root, synthetic_scene, timed_ms  # noqa: E402
from rackfocus_live.gpu.context import create_headless_context, describe  # noqa: E402
from rackfocus_live.gpu.dof import DofRenderer  # noqa: E402
from rackfocus_live.gpu.fullscreen import FullscreenPass  # noqa: E402
from rackfocus_live.gpu.programs import ProgramCache  # noqa: E402
from rackfocus_live.lens import LensState  # noqa: E402


def record(dof: DofRenderer, frame: Callable[[], None]) -> list[tuple[str, Callable[[], None]]]:
    """Render one frame with the renderer's passes wrapped, recording each call for replay."""
    calls: list[tuple[str, Callable[[], None]]] = []
    originals: list[tuple[Any, Any]] = []

    def wrap(name: str, obj: Any) -> None:
        original = obj.render
        originals.append((obj, original))

        def recorder(*args: Any, **kwargs: Any) -> None:
            calls.append((name, lambda: original(*args, **kwargs)))
            original(*args, **kwargs)

        obj.render = recorder

    # A bench looking inside the renderer on purpose: its passes of the current variant.
    for name, p in dof._passes.items():
        wrap(name, p)
    if dof._sprites is not None:
        wrap("sprites", dof._sprites)
    frame()
    for obj, original in originals:
        obj.render = original
    return calls


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--preset", default="default")
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args(argv)
    w, h = (int(v) for v in args.size.split("x"))
    ctx = create_headless_context()
    print(f"GL: {describe(ctx)}")
    programs = ProgramCache(ctx)
    copy_cache = ProgramCache(ctx, _bench_root())
    rgb, inv = synthetic_scene(w, h)
    inputs = Inputs(ctx, rgb, inv)
    target = ctx.texture((w, h), 4)
    fbo = ctx.framebuffer(color_attachments=[target])
    copy = FullscreenPass(copy_cache, "copy.frag")
    lens = LensState(focal_length_mm=50, f_stop=1.4, sensor_width_mm=36, focus_m=3.0)
    dof = DofRenderer(ctx, programs, (w, h), args.preset, timer_query=False)

    def frame() -> None:
        dof.render(inputs.color, inputs.depth, lens, color_is_srgb=True)

    frame()
    calls = record(dof, frame)
    ctx.finish()

    def copy_ms() -> float:
        return timed_ms(ctx, lambda: copy.render(fbo, [("u_color", inputs.color)]), args.reps)

    copies = [copy_ms()]
    rows: list[tuple[str, float]] = [("frame", timed_ms(ctx, frame, args.reps))]
    copies.append(copy_ms())
    seen: dict[str, int] = {}
    for name, call in calls:
        seen[name] = seen.get(name, 0) + 1
        label = name if seen[name] == 1 else f"{name}#{seen[name]}"
        rows.append((label, timed_ms(ctx, call, args.reps)))
    copies.append(copy_ms())
    c = float(np.median(copies))
    print(f"{w}x{h} {args.preset}: copy {c:.2f} ms")
    print(f"{'pass':>16s} {'ms':>9s} {'ratio':>7s}")
    total = 0.0
    for label, ms in rows:
        if label != "frame":
            total += ms
        print(f"{label:>16s} {ms:9.2f} {ms / c:7.1f}")
    print(f"{'sum of passes':>16s} {total:9.2f} {total / c:7.1f}")
    dof.release()
    copy.release()
    fbo.release()
    target.release()
    inputs.release()
    copy_cache.release()
    programs.release()
    ctx.release()
    return 0


if __name__ == "__main__":
    sys.exit(main())
