"""Batch and farm benchmark: 8 short shots exported serially vs by 2 worker processes, and one
shot exported at once vs in chunks through ``openjd run`` of its job bundle; prints the ratios.

Everything runs the real commands (``rackfocus-live batch``, ``export``, ``farm`` and
``openjd run``) as subprocesses on clips generated in a temporary folder (H.264 with AAC, a
depth video and a pull each, ``tests/media_factory``), alternating the two sides of each pair and
keeping the best of ``--runs``, so both sides see the same machine load.

Target (issue 17): 2 workers <= 0.6x the serial time. Process start-up (spawning a worker:
Python, PyAV, moderngl and an EGL context, ~1 s) and the chunked path's per-task start-up and
join are part of what is measured.

    .venv/bin/python bench/batch.py [--shots 8] [--frames 24] [--size 320x180] [--runs 2]
        [--chunks 4] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import cpu_model  # noqa: E402
from rackfocus_live.lens import LensState  # noqa: E402
from rackfocus_live.timeline.keyfile import Pull, save_pull  # noqa: E402
from rackfocus_live.timeline.keyframes import FocusTrack, Key  # noqa: E402
from tests import media_factory as mf  # noqa: E402

BIN = Path(sys.executable).parent
FPS = Fraction(24)


def make_shots(folder: Path, count: int, frames: int, size: tuple[int, int]) -> Path:
    """``count`` clips with depth and a pull, and the shot list exporting them (ProRes)."""
    shots = []
    track = FocusTrack([Key(0.0, 0.8), Key(frames / 24 * 0.8, 3.0)], fps=FPS)
    pull = folder / "pull.json"
    save_pull(pull, Pull(track=track, lens=LensState(f_stop=1.8), depth=mf.DEPTH_MAPPING),
              backup=False)
    for i in range(count):
        clip = mf.make_clip(folder / f"c{i}.mp4", frames=frames, size=size, fps=FPS,
                            audio=True, texture=12)
        depth = mf.make_depth_video(folder / f"c{i}_d.mkv", frames=frames, size=size, fps=FPS)
        shots.append({"name": f"sh{i:02d}", "clip": clip.name, "depth": depth.name,
                      "keys": pull.name, "output": f"out/sh{i:02d}.mov"})
    (folder / "out").mkdir()
    path = folder / "shots.json"
    path.write_text(json.dumps({"version": 1, "defaults": {"codec": "prores"},
                                "shots": shots}))
    return path


def timed(cmd: list[str], cpu: dict[str, float], key: str) -> float:
    """Wall seconds of ``cmd``; its CPU seconds (user + system, all its processes) go to
    ``cpu[key]`` for the fastest run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    if elapsed < cpu.get(f"{key}_wall", 1e9):
        cpu[f"{key}_wall"] = elapsed
        cpu[key] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shots", type=int, default=8)
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--size", default="320x180")
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--chunks", type=int, default=4, help="chunks of the one chunked shot")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    w, h = map(int, a.size.split("x"))
    cli = str(BIN / "rackfocus-live")
    with tempfile.TemporaryDirectory(prefix="rackfocus-bench-batch-") as tmp:
        folder = Path(tmp)
        shots = make_shots(folder, a.shots, a.frames, (w, h))
        long_frames = a.frames * 4
        clip = mf.make_clip(folder / "long.mp4", frames=long_frames, size=(w, h), fps=FPS,
                            audio=True, texture=12)
        depth = mf.make_depth_video(folder / "long_d.mkv", frames=long_frames, size=(w, h),
                                    fps=FPS)
        flags = [str(clip), "--depth", str(depth), "--focus", "1.5", "--codec", "prores"]
        bundle = folder / "bundle"
        chunk_frames = -(-long_frames // a.chunks)
        subprocess.run([cli, "farm", *flags, "-o", str(folder / "farm.mov"), "--chunk-frames",
                        str(chunk_frames), "--bundle", str(bundle)], check=True,
                       capture_output=True)
        openjd_run = [str(BIN / "openjd"), "run", str(bundle / "template.yaml"), "--step", "Join",
                      "--run-dependencies", "-p", f"file://{bundle / 'openjd_parameters.json'}",
                      "-p", f"RackfocusCommand={cli}"]
        best = {"serial": 1e9, "workers2": 1e9, "single": 1e9, "chunked": 1e9}
        cpu: dict[str, float] = {}
        load_before = os.getloadavg()[0]
        for _ in range(a.runs):
            best["serial"] = min(best["serial"], timed(
                [cli, "batch", str(shots), "--workers", "1", "--force"], cpu, "serial"))
            best["workers2"] = min(best["workers2"], timed(
                [cli, "batch", str(shots), "--workers", "2", "--force"], cpu, "workers2"))
            best["single"] = min(best["single"], timed(
                [cli, "export", *flags, "-o", str(folder / "single.mov")], cpu, "single"))
            best["chunked"] = min(best["chunked"], timed(openjd_run, cpu, "chunked"))
    result = {
        "machine": f"{cpu_model()}, {os.cpu_count()} cores (shared)",
        "shots": a.shots, "frames_per_shot": a.frames, "size": a.size,
        "chunked_shot_frames": long_frames, "chunks": a.chunks,
        "seconds": {k: round(v, 2) for k, v in best.items()},
        # CPU seconds of the fastest run of each, and the cores it got on average: on a shared
        # machine a side that gets under one core cannot gain from a second worker.
        "cpu_seconds": {k: round(cpu[k], 2) for k in best},
        "cores_used": {k: round(cpu[k] / best[k], 2) for k in best},
        "load_average_1min": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        "workers2_over_serial": round(best["workers2"] / best["serial"], 3),
        "chunked_over_single": round(best["chunked"] / best["single"], 3),
    }
    print(json.dumps(result, indent=2))
    print(f"2 workers / serial: {result['workers2_over_serial']:.2f}x  (target <= 0.6x)")
    print(f"openjd chunked / single export: {result['chunked_over_single']:.2f}x  "
          f"({a.chunks} chunks, one process per task)")
    if a.json:
        a.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
