"""The report of one ``bench/device.sh`` run: a dated table of absolute figures and the GPU
targets of the performance work, met or not, from the JSON files the benchmarks wrote.

    python bench/device_report.py --results DIR [--mode fast] [--seconds N] [--docs FILE]
    python bench/device_report.py --append REPORT.md --docs docs/benchmarks.md

Prints the section (Markdown); with ``--docs`` also inserts it into that file after the GPU-runs
marker (at the end of the marker's section), or at the end of the file when the marker is
missing. ``--append`` inserts a report fetched from the device machine the same way.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import cpu_model  # noqa: E402
from rackfocus_live.files import atomic_write  # noqa: E402
from rackfocus_live.gpu.context import SOFTWARE_RENDERERS  # noqa: E402

MARKER = "<!-- bench/device.sh: GPU runs below, oldest first -->"
#: The issue's absolute targets on a GPU (default preset).
DOF_4K_MS = 2.0
DOF_1080P_MS = 0.6
SIZE_4K, SIZE_1080P = "3840x2160", "1920x1080"


def _load(path: Path) -> dict[str, object] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _speed_rows(speed: dict[str, object] | None) -> dict[tuple[str, str], dict[str, float]]:
    rows: dict[tuple[str, str], dict[str, float]] = {}
    for row in (speed or {}).get("rows", []) or []:  # type: ignore[union-attr]
        rows[(str(row["size"]), str(row["preset"]))] = {
            "ms": float(row["dof_ms"]), "copy_ms": float(row["copy_ms"]),
            "ratio": float(row["ratio"])}
    return rows


def _verdict(ok: bool | None) -> str:
    return "not measured" if ok is None else ("**met**" if ok else "**not met**")


def build_report(results: Path, mode: str, seconds: int | None) -> str:
    speed, stream = _load(results / "speed.json"), _load(results / "stream.json")
    export, interactive = _load(results / "export.json"), _load(results / "interactive.json")
    rows = _speed_rows(speed)
    steps = []
    steps_file = results / "steps.txt"
    if steps_file.is_file():
        for line in steps_file.read_text().splitlines():
            parts = line.split()
            if len(parts) < 2:
                continue
            name, rc = parts[0], parts[1]
            if rc == "skipped":
                steps.append(f"{name} skipped (not in this tree)")
                continue
            state = {"0": "ok", "124": "timed out", "137": "killed"}.get(rc, f"exit {rc}")
            took = f", {parts[2]} s" if len(parts) > 2 else ""
            steps.append(f"{name} {state}{took}")
    gl = next((str(d["gl"]) for d in (speed, stream, export) if d and "gl" in d), "unknown GL")
    software = any(s in gl.lower() for s in SOFTWARE_RENDERERS)
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    took = f", {seconds} s" if seconds is not None else ""
    out = [f"### GPU run {now} (bench/device.sh, {mode}{took})", ""]
    out.append(f"GL: {gl}; CPU: {cpu_model()}, {os.cpu_count()} CPUs."
               + (" **Software GL: not GPU figures.**" if software else ""))
    if steps:
        out.append("Steps: " + "; ".join(steps) + ".")
    out += ["", "| figure | value |", "|---|---|"]
    for (size, preset), r in rows.items():
        what = preset if preset in ("display", "yuv") else f"DOF {preset}"
        out.append(f"| {what} {size} | {r['ms']:.3f} ms ({r['ratio']:.1f}x a copy of "
                   f"{r['copy_ms']:.3f} ms) |")
    clip_fps = float(stream.get("clip_fps", 24.0)) if stream else 24.0  # type: ignore[arg-type]
    for key, value in (stream or {}).items():
        if isinstance(value, dict) and "pipeline" in value:
            out.append(f"| stream {key}: decode only / decoder thread / full pipeline | "
                       f"{value['decode']:.1f} / {value['thread']:.1f} / {value['pipeline']:.1f} "
                       f"fps (main thread {value['main_ms']:.2f} ms a frame) |")
        elif isinstance(value, dict) and "median_ms" in value:
            out.append(f"| {key} | median {value['median_ms']:.1f} ms, worst "
                       f"{value['worst_ms']:.1f} ms |")
    if export:
        fps = export.get("fps", {})
        stages = ", ".join(f"{k} {v:.1f}" for k, v in fps.items())  # type: ignore[union-attr]
        out.append(f"| export {export.get('size')} {export.get('codec')} "
                   f"{export.get('preset')}, DOF {export.get('quality')} | {stages} fps |")
    for key, value in _flat(interactive or {}):
        out.append(f"| interactive {key} | {value} |")

    # Targets.
    dof4k = rows.get((SIZE_4K, "default"), {}).get("ms")
    dof1080 = rows.get((SIZE_1080P, "default"), {}).get("ms")
    display4k = rows.get((SIZE_4K, "display"), {}).get("ms")
    pipe4k = (stream or {}).get(SIZE_4K)
    pipeline_fps = float(pipe4k["pipeline"]) if isinstance(pipe4k, dict) else None
    preview_fps = None
    if pipeline_fps is not None and dof4k is not None and display4k is not None:
        # The stream pipeline's frame time (decode, upload, conversion, a view pass, finish)
        # plus the DOF and display passes, as if nothing overlapped: a lower bound.
        preview_fps = 1000.0 / (1000.0 / pipeline_fps + dof4k + display4k)
    out += ["", "| target (GPU, default preset) | measured | |", "|---|---|---|"]
    out.append(f"| DOF {SIZE_4K} < {DOF_4K_MS} ms | "
               f"{'-' if dof4k is None else f'{dof4k:.3f} ms'} | "
               f"{_verdict(None if dof4k is None else dof4k < DOF_4K_MS)} |")
    out.append(f"| DOF {SIZE_1080P} < {DOF_1080P_MS} ms | "
               f"{'-' if dof1080 is None else f'{dof1080:.3f} ms'} | "
               f"{_verdict(None if dof1080 is None else dof1080 < DOF_1080P_MS)} |")
    if preview_fps is None:
        measured = "-"
    else:
        measured = (f"{preview_fps:.1f} fps (pipeline {pipeline_fps:.1f} fps with the DOF "
                    f"{dof4k:.2f} ms and display {display4k:.2f} ms added per frame)")
    out.append(f"| 4K preview (decode + upload + DOF + display) >= the clip's {clip_fps:g} fps | "
               f"{measured} | "
               f"{_verdict(None if preview_fps is None else preview_fps >= clip_fps)} |")
    return "\n".join(out) + "\n"


def _flat(data: dict[str, object], prefix: str = "") -> list[tuple[str, str]]:
    """Numeric and short text leaves of a JSON object (two levels), for the table."""
    items: list[tuple[str, str]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and not prefix:
            items += _flat(value, f"{name} ")
        elif isinstance(value, float):
            items.append((name, f"{value:.3f}"))
        elif isinstance(value, (int, str)) and len(str(value)) < 60:
            items.append((name, str(value)))
    return items[:20]


def insert_section(docs: Path, section: str) -> None:
    """Put ``section`` at the end of the GPU-runs part of ``docs`` (after the marker, before the
    next top-level heading), or at the end of the file; written atomically."""
    text = docs.read_text() if docs.is_file() else ""
    at = text.find(MARKER)
    if at < 0:
        new = text.rstrip("\n") + "\n\n" + section
    else:
        nxt = text.find("\n## ", at)
        end = len(text) if nxt < 0 else nxt + 1
        new = text[:end].rstrip("\n") + "\n\n" + section + ("\n" + text[end:] if nxt >= 0 else "")
    atomic_write(docs, new.encode(), backup=False)  # git keeps the previous version


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", type=Path, help="folder of the benchmarks' JSON files")
    ap.add_argument("--mode", default="full")
    ap.add_argument("--seconds", type=int)
    ap.add_argument("--docs", type=Path, help="insert the section into this Markdown file")
    ap.add_argument("--append", type=Path, help="a report made on the device machine")
    args = ap.parse_args(argv)
    if args.append is not None:
        section = args.append.read_text()
    elif args.results is not None:
        section = build_report(args.results, args.mode, args.seconds)
    else:
        ap.error("give --results or --append")
    print(section, end="")
    if args.docs is not None:
        insert_section(args.docs, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
