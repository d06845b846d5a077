"""Quality benchmark: render the path-traced eval scenes and score them against Cycles.

Renders every scene and case of ../shared/eval (or $RACKFOCUS_EVAL_DIR) with the scene's own
camera, scores the outputs with the eval's own score.py, and prints PSNR / SSIM / edge-band PSNR
per case and the means beside the two peers (Blender's Defocus node, a plain single-pass gather).

The ground truth's camera keeps the pinhole field of view when focusing (Cycles), so the lens is
built with ``focus_breathing=False``; see the eval README.

    .venv/bin/python bench/quality.py [--quality default] [--out out/quality] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.evaldata import eval_dir, eval_scenes  # noqa: E402
from rackfocus_live.gpu.context import create_headless_context  # noqa: E402
from rackfocus_live.gpu.still import StillRenderer  # noqa: E402
from rackfocus_live.media.images import write_png  # noqa: E402
from rackfocus_live.settings import HighlightBoost  # noqa: E402

PEERS = ("blender_defocus", "gather_baseline")
METHOD = "rackfocus"


def render_all(
    evaldir: Path, out: Path, quality: str, highlight: HighlightBoost
) -> dict[str, float]:
    """Render every case into out/METHOD/<scene>/<gt name>; returns GL seconds per case."""
    ctx = create_headless_context()
    renderer = StillRenderer(ctx, quality)
    timings: dict[str, float] = {}
    try:
        for scene in eval_scenes(evaldir):
            renderer.upload(scene.rgb, scene.inverse_depth)
            for case, lens in scene.cases():
                renderer.render(lens, highlight)  # warm-up: shader compile, first-use costs
                ctx.finish()
                t0 = time.perf_counter()
                img = renderer.render(lens, highlight)
                timings[f"{scene.name}/{case['file']}"] = time.perf_counter() - t0
                target = out / METHOD / scene.name / case["file"]
                target.parent.mkdir(parents=True, exist_ok=True)
                write_png(target, img)
    finally:
        renderer.release()
        ctx.release()
    (out / METHOD / "timing.json").write_text(json.dumps(timings, indent=1))
    return timings


def score(evaldir: Path, out: Path) -> list[dict[str, object]]:
    """Run the eval's score.py over our outputs and the peers' (linked in beside ours)."""
    for peer in PEERS:
        link = out / peer
        if not link.exists():
            link.symlink_to((evaldir / "peers" / peer).resolve())
    result = out / "scores.json"
    subprocess.run(
        [sys.executable, str(evaldir / "score.py"), "--scenes-dir", str(evaldir / "scenes"),
         "--out-dir", str(out), "--json", str(result), "--quiet", METHOD, *PEERS],
        check=True, stdout=subprocess.DEVNULL,
    )
    data = json.loads(result.read_text())
    return data


def _rows(data: object, method: str) -> list[dict[str, float]]:
    """score.py's JSON: {method: {"rows": [...], "summary": {...}}} or a list of rows."""
    if isinstance(data, dict) and method in data:
        entry = data[method]
        return entry["rows"] if isinstance(entry, dict) and "rows" in entry else entry
    raise KeyError(method)


def report(data: object) -> dict[str, dict[str, float]]:
    methods = (METHOD, *PEERS)
    rows = {m: [r for r in _rows(data, m) if not r.get("missing")] for m in methods}
    print(f"{'scene':15s} {'case':24s} " + " ".join(f"{m[:15]:>24s}" for m in methods))
    print(f"{'':40s} " + " ".join(f"{'PSNR  SSIM   edge':>24s}" for _ in methods))
    for i, r in enumerate(rows[METHOD]):
        cells = []
        for m in methods:
            o = rows[m][i]
            cells.append(f"{o['psnr']:6.2f} {o['ssim']:.4f} {o['edge_psnr']:6.2f}")
        print(f"{r['scene']:15s} {r['file']:24s} " + " ".join(f"{c:>24s}" for c in cells))
    means: dict[str, dict[str, float]] = {}
    for m in methods:
        n = len(rows[m])
        means[m] = {k: sum(float(r[k]) for r in rows[m]) / n for k in ("psnr", "ssim", "edge_psnr")}
    print(f"{'MEAN':40s} " + " ".join(
        f"{means[m]['psnr']:6.2f} {means[m]['ssim']:.4f} {means[m]['edge_psnr']:6.2f}".rjust(24)
        for m in methods))
    return means


def check_targets(data: object, means: dict[str, dict[str, float]]) -> list[str]:
    """The issue's targets; returns the ones missed."""
    missed: list[str] = []
    ours = [r for r in _rows(data, METHOD) if not r.get("missing")]
    for scene in sorted({str(r["scene"]) for r in ours}):
        for metric in ("ssim", "edge_psnr"):
            mine = _scene_mean(ours, scene, metric)
            for peer in PEERS:
                theirs = _scene_mean(_rows(data, peer), scene, metric)
                if mine <= theirs:
                    missed.append(f"{scene} {metric}: {mine:.4f} <= {peer} {theirs:.4f}")
    d_psnr = means[METHOD]["psnr"] - means["gather_baseline"]["psnr"]
    d_edge = means[METHOD]["edge_psnr"] - means["gather_baseline"]["edge_psnr"]
    print(f"vs plain gather: mean PSNR {d_psnr:+.2f} dB (target +1.5), "
          f"edge-band PSNR {d_edge:+.2f} dB (target +2.0)")
    if d_psnr < 1.5:
        missed.append(f"mean PSNR only {d_psnr:+.2f} dB over the plain gather")
    if d_edge < 2.0:
        missed.append(f"mean edge PSNR only {d_edge:+.2f} dB over the plain gather")
    return missed


def _scene_mean(rows: list[dict[str, float]], scene: str, metric: str) -> float:
    vals = [float(r[metric]) for r in rows if r["scene"] == scene and not r.get("missing")]
    return sum(vals) / len(vals)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quality", default="default")
    ap.add_argument("--out", type=Path, default=ROOT / "out" / "quality")
    ap.add_argument("--highlight-threshold", type=float, default=None)
    ap.add_argument("--highlight-gain", type=float, default=None)
    args = ap.parse_args(argv)
    evaldir = eval_dir()
    if evaldir is None:
        print("quality benchmark skipped: no eval data at ../shared/eval (set RACKFOCUS_EVAL_DIR)")
        return 0
    base = HighlightBoost()
    highlight = HighlightBoost(
        base.threshold if args.highlight_threshold is None else args.highlight_threshold,
        base.gain if args.highlight_gain is None else args.highlight_gain,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    timings = render_all(evaldir, args.out, args.quality, highlight)
    data = score(evaldir, args.out)
    means = report(data)
    mean_ms = 1000 * sum(timings.values()) / len(timings)
    print(f"rackfocus ({args.quality}): {mean_ms:.1f} ms per image (render + read-back, llvmpipe "
          f"or GPU), highlight threshold {highlight.threshold} gain {highlight.gain}")
    missed = check_targets(data, means)
    print("targets: all met" if not missed else "targets missed:\n  " + "\n  ".join(missed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
