"""Quality on imperfect depth: the eval scenes rendered from degraded depth maps.

Real depth is rarely the renderer's clean Z: estimated depth is soft, low resolution and often
delivered as 8-bit disparity. This renders every eval case from such degraded versions of the
scene's depth (scored against the same Cycles ground truth with the eval's own metrics) so a
renderer change can be checked not to regress there:

- ``blurred``: inverse depth blurred by a Gaussian of sigma 2 px (soft edges);
- ``quarter``: inverse depth at a quarter of the resolution (the renderer resamples it);
- ``disparity8``: inverse depth normalised to the scene's range and quantised to 8 bits.

    .venv/bin/python bench/imperfect_depth.py [--quality default]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.blur import gauss_blur  # noqa: E402
from bench.evaldata import eval_dir, eval_scenes, load_score  # noqa: E402
from rackfocus_live.gpu.context import create_headless_context  # noqa: E402
from rackfocus_live.gpu.still import StillRenderer  # noqa: E402
from rackfocus_live.media.images import read_rgb  # noqa: E402
from rackfocus_live.settings import HighlightBoost  # noqa: E402


def _quarter(inv: np.ndarray) -> np.ndarray:
    h, w = inv.shape[0] // 4 * 4, inv.shape[1] // 4 * 4
    return inv[:h, :w].reshape(h // 4, 4, w // 4, 4).mean(axis=(1, 3))


def _disparity8(inv: np.ndarray) -> np.ndarray:
    lo, hi = float(inv.min()), float(inv.max())
    q = np.round((inv - lo) / (hi - lo) * 255.0) / 255.0
    return lo + q * (hi - lo)


DEGRADE: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "exact": lambda inv: inv,
    "blurred": lambda inv: gauss_blur(inv, 2.0),
    "quarter": _quarter,
    "disparity8": _disparity8,
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quality", default="default")
    args = ap.parse_args(argv)
    evaldir = eval_dir()
    if evaldir is None:
        print("imperfect-depth benchmark skipped: no eval data at ../shared/eval")
        return 0
    score = load_score(evaldir)
    ctx = create_headless_context()
    renderer = StillRenderer(ctx, args.quality)
    results: dict[str, list[tuple[float, float]]] = {k: [] for k in DEGRADE}
    try:
        for scene in eval_scenes(evaldir):
            inv = scene.inverse_depth
            for name, degrade in DEGRADE.items():
                renderer.upload(scene.rgb, np.ascontiguousarray(degrade(inv), np.float32))
                for case, lens in scene.cases():
                    out = renderer.render(lens, HighlightBoost()) / 255.0
                    gt = read_rgb(scene.folder / case["file"]) / 255.0
                    results[name].append((score.psnr(out, gt), score.ssim(out, gt)))
    finally:
        renderer.release()
        ctx.release()
    print(f"{'depth':>11s} {'PSNR':>7s} {'SSIM':>7s}  worst case PSNR")
    for name, rows in results.items():
        p = np.array(rows)
        print(f"{name:>11s} {p[:, 0].mean():7.2f} {p[:, 1].mean():7.4f}  {p[:, 0].min():.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
