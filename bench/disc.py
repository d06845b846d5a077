"""Disc test: how clean is the bokeh of one small light far out of focus?

A lone 3x3 px light at 10 m over black (everything at 10 m), 640x360, 50 mm f/1.4 on a 36 mm
sensor focused at 1 m: a disc of ~30 px diameter. A real lens gives a flat disc with a crisp rim.
Measured on the rendered 8-bit output, in linear luminance:

- interior CV: standard deviation / mean over the pixels within 0.8 of the disc radius;
- rim 10-90 %: the radial distance over which the angle-averaged profile falls from 90 % to 10 %
  of the interior level (a ragged rim widens it, as it does to the eye);
- temporal: the largest per-pixel change of the disc (in % of its level) when the light moves by
  one pixel and back, i.e. how much the pattern crawls with the picture.

    .venv/bin/python bench/disc.py [--quality default,draft]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import moderngl
import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rackfocus_live.gpu.dof import DofRenderer  # noqa: E402
from rackfocus_live.gpu.programs import ProgramCache  # noqa: E402
from rackfocus_live.lens import LensState  # noqa: E402
from rackfocus_live.settings import QUALITY_PRESETS, HighlightBoost  # noqa: E402

W, H = 640, 360
LIGHT_DEPTH_M = 10.0
#: Linear level of the light: bright enough that the disc sits mid-scale in 8-bit output.
LIGHT_LEVEL = 40.0
DISC_LENS = LensState(focal_length_mm=50.0, f_stop=1.4, sensor_width_mm=36.0, focus_m=1.0)


@dataclass(frozen=True)
class DiscStats:
    diameter_px: float      # the lens's CoC diameter
    interior_cv: float      # std / mean of linear luminance inside 0.8 r
    rim_10_90_px: float     # radial 10-90 % width of the angle-averaged profile
    measured_radius_px: float  # where the profile crosses 50 %
    shimmer: float          # largest per-pixel change (fraction of the level) under a 1 px move


def disc_scene(cx: int = W // 2, cy: int = H // 2) -> tuple[np.ndarray, np.ndarray]:
    img = np.zeros((H, W, 3), np.float32)
    img[cy - 1: cy + 2, cx - 1: cx + 2] = LIGHT_LEVEL
    inv = np.full((H, W), 1.0 / LIGHT_DEPTH_M, np.float32)
    return img, inv


def render_linear(ctx: moderngl.Context, programs: ProgramCache, img: np.ndarray,
                  inv: np.ndarray, lens: LensState, quality: str) -> npt.NDArray[np.float64]:
    """Render float linear input; returns the output's linear luminance (HxW)."""
    h, w = inv.shape
    tex = ctx.texture((w, h), 3, np.ascontiguousarray(img, np.float16).tobytes(), dtype="f2",
                      alignment=1)
    dtex = ctx.texture((w, h), 1, np.ascontiguousarray(inv, np.float32).tobytes(), dtype="f4",
                       alignment=1)
    dof = DofRenderer(ctx, programs, (w, h), quality, timer_query=False)
    try:
        dof.render(tex, dtex, lens, color_is_srgb=False,
                   highlight=HighlightBoost(threshold=0.9, gain=0.0))
        out = np.frombuffer(dof.read_output(), np.uint8).reshape(h, w, 3) / 255.0
    finally:
        dof.release()
        tex.release()
        dtex.release()
    lin = np.where(out <= 0.04045, out / 12.92, ((out + 0.055) / 1.055) ** 2.4)
    return lin @ np.array([0.2126, 0.7152, 0.0722])


def measure(lum: npt.NDArray[np.float64], cx: float, cy: float,
            radius: float) -> tuple[float, float, float]:
    """(interior CV, rim 10-90 % width px, 50 % radius px) of a disc centred at (cx, cy)."""
    ys, xs = np.mgrid[0: lum.shape[0], 0: lum.shape[1]]
    d = np.hypot(xs - cx, ys - cy)
    inner = lum[d <= 0.8 * radius]
    level = float(inner.mean())
    cv = float(inner.std() / level)
    step = 0.25
    edges = np.arange(0.0, 1.6 * radius, step)
    idx = np.digitize(d.ravel(), edges) - 1
    ok = (idx >= 0) & (idx < len(edges))
    sums = np.bincount(idx[ok], weights=lum.ravel()[ok], minlength=len(edges))
    counts = np.bincount(idx[ok], minlength=len(edges))
    prof = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan) / level
    centres = edges + step / 2
    valid = ~np.isnan(prof)
    prof, centres = prof[valid], centres[valid]

    def crossing(frac: float) -> float:
        # Outermost radius where the profile is still above frac (the rim's fall).
        above = np.nonzero(prof >= frac)[0]
        i = int(above.max())
        if i + 1 >= len(prof):
            return float(centres[i])
        a, b = prof[i], prof[i + 1]
        t = (a - frac) / (a - b) if a != b else 0.0
        return float(centres[i] + t * (centres[i + 1] - centres[i]))

    return cv, crossing(0.1) - crossing(0.9), crossing(0.5)


def disc_stats(ctx: moderngl.Context, programs: ProgramCache, quality: str,
               lens: LensState = DISC_LENS) -> DiscStats:
    diameter = float(lens.coc_px(LIGHT_DEPTH_M, W))
    img, inv = disc_scene()
    lum = render_linear(ctx, programs, img, inv, lens, quality)
    cv, rim, r50 = measure(lum, W // 2, H // 2, diameter / 2)
    # Shimmer: the same light one pixel to the right, compared after shifting back.
    img2, _ = disc_scene(W // 2 + 1, H // 2)
    lum2 = render_linear(ctx, programs, img2, inv, lens, quality)
    ys, xs = np.mgrid[0:H, 0:W]
    interior = np.hypot(xs - W // 2, ys - H // 2) <= 0.8 * diameter / 2
    level = float(lum[interior].mean())
    shimmer = float(np.abs(lum2[:, 1:] - lum[:, :-1])[interior[:, :-1]].max() / level)
    return DiscStats(diameter, cv, rim, r50, shimmer)


def main(argv: list[str] | None = None) -> int:
    from rackfocus_live.gpu.context import create_headless_context

    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quality", default=",".join(QUALITY_PRESETS))
    args = ap.parse_args(argv)
    ctx = create_headless_context()
    programs = ProgramCache(ctx)
    print(f"{'preset':>8s} {'CoC px':>7s} {'r50 px':>7s} {'CV %':>6s} {'rim px':>7s} "
          f"{'shimmer %':>9s}")
    for q in args.quality.split(","):
        s = disc_stats(ctx, programs, q)
        print(f"{q:>8s} {s.diameter_px:7.1f} {2 * s.measured_radius_px:7.1f} "
              f"{100 * s.interior_cv:6.2f} {s.rim_10_90_px:7.2f} {100 * s.shimmer:9.1f}")
    programs.release()
    ctx.release()
    return 0


if __name__ == "__main__":
    sys.exit(main())
