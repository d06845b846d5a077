"""Real photos with real depth: the Middlebury "motorcycle" stereo pair's left view and its
ground-truth disparity (bundled with scikit-image, ``skimage.data.stereo_motorcycle``).

There is no path-traced ground truth for a photo, so the reference is the render with the true
disparity; the depth is then degraded the way real depth is (the same degradations as
``bench/realdepth.py``: model-like disparity at a third of the width, blurred, 8-bit; sensor-like
metric depth with misregistration, noise and holes) and rendered with conditioning off and on.
Printed: PSNR and SSIM of each against the reference, per focus case and as means, and how much
of the gap conditioning closes.

    .venv/bin/python bench/realphoto.py

Skips cleanly (one line, exit 0) where scikit-image is not installed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.realdepth import model_like, sensor_like  # noqa: E402
from rackfocus_live.depthcond import DepthConditioning  # noqa: E402
from rackfocus_live.gpu.context import create_headless_context  # noqa: E402
from rackfocus_live.gpu.still import StillRenderer  # noqa: E402
from rackfocus_live.lens import LensState  # noqa: E402

#: Middlebury 2014 "Motorcycle" calibration, at the quarter size scikit-image ships (741 px wide):
#: focal length 3979.911 / 4 px, baseline 193.001 mm, disparity offset 124.343 / 4 px.
FOCAL_PX = 3979.911 / 4
BASELINE_M = 0.193001
DOFFS_PX = 124.343 / 4
#: 50 mm on a 36 mm sensor; focus on the front wheel (~2.3 m) and on the back wall (~4.5 m).
CASES = ((2.3, 1.4), (2.3, 2.8), (4.5, 1.4), (4.5, 2.8))


def motorcycle() -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float64]] | None:
    """(left view, metric depth in m; inf where the disparity is unknown), or None without
    scikit-image."""
    try:
        from skimage import data
    except ImportError:
        return None
    left, _, disparity = data.stereo_motorcycle()
    d = np.asarray(disparity, np.float64)
    z = np.where(np.isfinite(d), BASELINE_M * FOCAL_PX / (d + DOFFS_PX), np.inf)
    return np.ascontiguousarray(left), z


def psnr(a: npt.NDArray[np.floating], b: npt.NDArray[np.floating]) -> float:
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(1.0 / mse)


def main() -> int:
    loaded = motorcycle()
    if loaded is None:
        print("real-photo benchmark skipped: scikit-image is not installed")
        return 0
    from skimage.metrics import structural_similarity

    rgb, z = loaded
    valid = np.isfinite(z)
    filled = np.where(valid, z, np.nanmax(np.where(valid, z, np.nan)))  # unknown: far
    inputs: dict[str, npt.NDArray[np.float32]] = {}
    truth = np.where(valid, 1.0 / filled, 0.0).astype(np.float32)  # 0: unknown, filled
    for name, fn in (("model", model_like), ("sensor", sensor_like)):
        raw, mapping = fn(filled)
        inputs[name] = mapping.to_inverse_depth(raw)
    ctx = create_headless_context()
    reference = StillRenderer(ctx, conditioning=DepthConditioning(refine=False))
    off = StillRenderer(ctx, conditioning=DepthConditioning(refine=False))
    on = StillRenderer(ctx, conditioning=DepthConditioning(refine=True))
    scores: dict[tuple[str, str], list[tuple[float, float]]] = {}
    try:
        reference.upload(rgb, truth)
        print(f"motorcycle {rgb.shape[1]}x{rgb.shape[0]}, depth {np.nanmin(z):.2f}-"
              f"{np.nanmax(np.where(valid, z, np.nan)):.2f} m, {100 * (~valid).mean():.1f} % "
              "unknown; reference: the render with the true disparity")
        print(f"{'depth':7s} {'focus':>6s} {'f':>4s} {'off PSNR':>9s} {'on PSNR':>8s} "
              f"{'off SSIM':>9s} {'on SSIM':>8s}")
        for name, inv in inputs.items():
            off.upload(rgb, inv)
            on.upload(rgb, inv)
            for focus, f_stop in CASES:
                lens = LensState(focal_length_mm=50.0, f_stop=f_stop, sensor_width_mm=36.0,
                                 focus_m=focus, focus_breathing=False)
                ref = reference.render(lens).astype(np.float64) / 255.0
                row = []
                for method, renderer in (("off", off), ("on", on)):
                    img = renderer.render(lens).astype(np.float64) / 255.0
                    s = (psnr(img, ref),
                         float(structural_similarity(img, ref, channel_axis=2, data_range=1.0)))
                    scores.setdefault((name, method), []).append(s)
                    row.append(s)
                print(f"{name:7s} {focus:5.1f}m {f_stop:4.1f} {row[0][0]:9.2f} {row[1][0]:8.2f} "
                      f"{row[0][1]:9.4f} {row[1][1]:8.4f}")
    finally:
        for r in (reference, off, on):
            r.release()
        ctx.release()
    for name in inputs:
        off_p, off_s = np.mean(scores[(name, "off")], axis=0)
        on_p, on_s = np.mean(scores[(name, "on")], axis=0)
        print(f"{name} depth against the true-disparity render: PSNR {off_p:.2f} -> {on_p:.2f} "
              f"dB, SSIM {off_s:.4f} -> {on_s:.4f} (conditioning off -> on)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
