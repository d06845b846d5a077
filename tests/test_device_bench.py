"""bench/device.sh and its report: the script runs every benchmark end to end (tiny frames,
software GL) and writes the dated table; the report marks the GPU targets met or not from the
figures, and lands in docs at the end of the GPU-runs section."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.device_report import MARKER, build_report, insert_section

ROOT = Path(__file__).resolve().parent.parent


def write_results(folder: Path, dof4k: float, dof1080: float, pipeline_4k: float) -> Path:
    rows = [
        {"size": "1920x1080", "preset": "default", "dof_ms": dof1080, "copy_ms": 0.05,
         "ratio": dof1080 / 0.05},
        {"size": "3840x2160", "preset": "default", "dof_ms": dof4k, "copy_ms": 0.2,
         "ratio": dof4k / 0.2},
        {"size": "3840x2160", "preset": "display", "dof_ms": 0.3, "copy_ms": 0.2, "ratio": 1.5},
    ]
    (folder / "speed.json").write_text(json.dumps({"gl": "NVIDIA H200/PCIe/SSE2", "rows": rows}))
    (folder / "stream.json").write_text(json.dumps({
        "gl": "NVIDIA H200/PCIe/SSE2", "clip_fps": 24.0,
        "3840x2160": {"decode": 90.0, "thread": 85.0, "cached": 80.0, "pipeline": pipeline_4k,
                      "main_ms": 4.0}}))
    (folder / "steps.txt").write_text("speed 0 20\nstream 0 60\nexport 124 70\n"
                                      "interactive skipped 0\n")
    return folder


def test_targets_are_marked_from_the_figures(tmp_path: Path) -> None:
    met = build_report(write_results(tmp_path, 1.5, 0.4, 80.0), "fast", 150)
    assert "| DOF 3840x2160 < 2.0 ms | 1.500 ms | **met** |" in met
    assert "| DOF 1920x1080 < 0.6 ms | 0.400 ms | **met** |" in met
    # 1000 / (1000/80 + 1.5 + 0.3) = 69.9 fps >= 24
    assert "69.9 fps" in met and met.rstrip().endswith("**met** |")
    assert "export timed out, 70 s" in met and "interactive skipped" in met
    assert "Software GL" not in met
    missed = build_report(write_results(tmp_path, 2.5, 0.9, 20.0), "fast", 150)
    assert "| DOF 3840x2160 < 2.0 ms | 2.500 ms | **not met** |" in missed
    assert "| DOF 1920x1080 < 0.6 ms | 0.900 ms | **not met** |" in missed
    assert missed.rstrip().endswith("**not met** |")
    nothing = build_report(tmp_path / "missing", "full", None)
    assert nothing.count("not measured") == 3


def test_the_section_lands_at_the_end_of_the_gpu_runs_part(tmp_path: Path) -> None:
    docs = tmp_path / "benchmarks.md"
    docs.write_text(f"# Benchmarks\n\n## GPU runs\n\nHow.\n\n{MARKER}\n\n## Later section\n\nx\n")
    insert_section(docs, "### GPU run A\n")
    insert_section(docs, "### GPU run B\n")
    text = docs.read_text()
    assert text.index(MARKER) < text.index("run A") < text.index("run B") < text.index("## Later")
    plain = tmp_path / "plain.md"
    plain.write_text("# Benchmarks\n")
    insert_section(plain, "### GPU run C\n")
    assert plain.read_text() == "# Benchmarks\n\n### GPU run C\n"


@pytest.mark.timeout(240)
def test_device_script_runs_every_benchmark(tmp_path: Path) -> None:
    if shutil.which("timeout") is None:
        pytest.skip("coreutils timeout missing")
    out = tmp_path / "out"
    out.mkdir()
    docs_before = (ROOT / "docs" / "benchmarks.md").read_bytes()
    env = {**os.environ, "OUT": str(out), "PYTHON": sys.executable}
    proc = subprocess.run(["bash", str(ROOT / "bench" / "device.sh"), "--smoke", "--no-docs"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=230)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    steps = (out / "steps.txt").read_text().split("\n")
    assert [line.split()[:2] for line in steps if line][:3] == [
        ["speed", "0"], ["stream", "0"], ["export", "0"]]
    speed = json.loads((out / "speed.json").read_text())
    presets = {row["preset"] for row in speed["rows"]}
    assert {"draft", "display", "yuv"} <= presets
    assert all(row["dof_ms"] > 0 and row["copy_ms"] > 0 for row in speed["rows"])
    assert json.loads((out / "stream.json").read_text())["320x180"]["pipeline"] > 0
    assert json.loads((out / "export.json").read_text())["fps"]["export"] > 0
    report = (out / "report.md").read_text()
    assert report.startswith("### GPU run ") and "| yuv 320x180 |" in report
    assert (ROOT / "docs" / "benchmarks.md").read_bytes() == docs_before  # --no-docs
