"""Batch export of a shot list: every shot's output equals its single export, refused shot lists
stop before any work with one report naming shot and file, a rerun after a crash skips the
finished shots and redoes the rest, and ``farm --bundle`` makes one job per shot."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli_helpers import run_cli as cli
from tests.farm_helpers import assert_same_export, file_bytes, make_shot, video

pytestmark = [pytest.mark.gl, pytest.mark.timeout(180)]

BIN = Path(sys.executable).parent
def write_shots(folder: Path, count: int, frames: int = 8, **extra: object) -> Path:
    """A shot list of ``count`` shots (ProRes, a pull each, relative paths)."""
    shots = []
    for i in range(count):
        m = make_shot(folder, frames=frames, name=f"c{i}")
        shots.append({"name": f"sh{i}", "clip": m["clip"].name, "depth": m["depth"].name,
                      "keys": m["pull"].name, "output": f"out/sh{i}.mkv",
                      "lens": {"f_stop": 2.0 + i}, **extra})
    (folder / "out").mkdir()
    path = folder / "shots.json"
    path.write_text(json.dumps({"version": 1, "defaults": {"codec": "ffv1"}, "shots": shots}))
    return path


def test_batch_with_two_workers_equals_single_exports_and_skips_on_rerun(tmp_path, capsys) -> None:
    shots = write_shots(tmp_path, 3, **{"range": "1:7"})
    inputs = sorted(p for p in tmp_path.iterdir() if p.is_file())
    before = file_bytes(*inputs)
    assert cli("batch", shots, "--workers", 2) == 0
    assert "3 exported, 0 skipped, 0 failed" in capsys.readouterr().err
    for i in range(3):
        single = tmp_path / f"single{i}.mkv"
        assert cli("export", tmp_path / f"c{i}.mp4", "--depth", tmp_path / f"c{i}_depth.mkv",
                   "--keys", tmp_path / f"c{i}_pull.json", "--f-stop", 2.0 + i,
                   "--codec", "ffv1", "--range", "1:7", "-o", single) == 0
        assert_same_export(single, tmp_path / "out" / f"sh{i}.mkv")
    assert file_bytes(*inputs) == before
    stamps = [(tmp_path / "out" / f"sh{i}.mkv").stat().st_mtime_ns for i in range(3)]
    capsys.readouterr()
    assert cli("batch", shots) == 0
    assert "0 exported, 3 skipped" in capsys.readouterr().err
    assert [(tmp_path / "out" / f"sh{i}.mkv").stat().st_mtime_ns for i in range(3)] == stamps


def test_a_refused_shot_list_names_every_bad_shot_and_file_and_runs_nothing(tmp_path,
                                                                            capsys) -> None:
    shots = write_shots(tmp_path, 3)
    doc = json.loads(shots.read_text())
    doc["shots"][0]["clip"] = "missing.mp4"
    (tmp_path / "broken_pull.json").write_text('{"version": 1, "keys": [')
    doc["shots"][2]["keys"] = "broken_pull.json"
    shots.write_text(json.dumps(doc))
    assert cli("batch", shots) == 2
    err = capsys.readouterr().err
    assert "2 of 3 shots refused, nothing was run" in err
    assert "shot sh0: " in err and "missing.mp4" in err
    assert "shot sh2: " in err and "broken_pull.json" in err and "shot sh1" not in err
    assert not any((tmp_path / "out").iterdir())
    assert cli("farm", shots, "--bundle", tmp_path / "b") == 2
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("shot, problem", [
    ({"output": "c0.mp4"}, "output is the same file as the clip"),
    ({"lens": {"f_stops": 2}}, 'unknown key "lens.f_stops"'),
    ({"focus": 2.0}, "give either --keys PULL.json or a constant --focus M"),
    ({"range": "20:30"}, "--range"),
    ({"codec": "mpeg2"}, "invalid choice: 'mpeg2'"),
    ({"output": "out/sh0.mov"}, "a .mov file cannot hold ffv1"),
])
def test_bad_shot_fields_are_refused_by_name(tmp_path, capsys, shot, problem) -> None:
    shots = write_shots(tmp_path, 1)
    doc = json.loads(shots.read_text())
    doc["shots"][0].update(shot)
    shots.write_text(json.dumps(doc))
    assert cli("batch", shots) == 2
    err = capsys.readouterr().err
    assert "shot sh0" in err and problem in err
    assert not any((tmp_path / "out").iterdir())


def test_a_shot_may_not_overwrite_another_shots_input(tmp_path, capsys) -> None:
    shots = write_shots(tmp_path, 2)
    doc = json.loads(shots.read_text())
    doc["shots"][1]["output"] = "c0_depth.mkv"
    shots.write_text(json.dumps(doc))
    assert cli("batch", shots) == 2
    assert "shot sh1: " in (err := capsys.readouterr().err)
    assert "output is the same file as the depth of shot sh0" in err


def test_a_batch_killed_mid_run_resumes_without_redoing_finished_shots(tmp_path) -> None:
    shots = write_shots(tmp_path, 3, frames=40)
    record = tmp_path / "shots.done.json"
    proc = subprocess.Popen([str(BIN / "rackfocus-live"), "batch", str(shots), "--workers", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not record.exists():
            time.sleep(0.01)
        assert proc.poll() is None, "the batch finished before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)  # the coordinator and its worker, mid-shot
    finally:
        proc.wait(30)
    done = json.loads(record.read_text())["shots"]
    assert list(done) == ["sh0"]
    first = (tmp_path / "out" / "sh0.mkv").stat().st_mtime_ns
    # A partial (or foreign) file under a later shot's name must not count as finished.
    (tmp_path / "out" / "sh1.mkv").write_bytes(b"not a finished export")
    rerun = subprocess.run([str(BIN / "rackfocus-live"), "batch", str(shots)],
                           capture_output=True, text=True, timeout=150)
    assert rerun.returncode == 0, rerun.stderr
    assert "2 exported, 1 skipped" in rerun.stderr
    assert (tmp_path / "out" / "sh0.mkv").stat().st_mtime_ns == first
    for i in range(3):
        assert len(video(tmp_path / "out" / f"sh{i}.mkv")[1]) == 40


def test_farm_bundles_one_job_per_shot_of_a_shot_list(tmp_path) -> None:
    shots = write_shots(tmp_path, 2)
    assert cli("farm", shots, "--bundle", tmp_path / "jobs", "--chunk-frames", 3,
               "--require-gpu") == 0
    for i in range(2):
        template = json.loads((tmp_path / "jobs" / f"sh{i}" / "template.yaml").read_text())
        assert template["name"] == f"rackfocus sh{i}"
        assert template["steps"][0]["parameterSpace"]["taskParameterDefinitions"][0][
            "range"] == "0-2"
        values = json.loads((tmp_path / "jobs" / f"sh{i}" / "openjd_parameters.json").read_text())
        assert values["OutputFile"] == str((tmp_path / "out" / f"sh{i}.mkv").resolve())
        render, join = template["steps"]
        assert render["hostRequirements"]["amounts"] == [{"name": "amount.worker.gpu", "min": 1}]
        assert "hostRequirements" not in join
        args = join["script"]["actions"]["onRun"]["args"]
        assert args[args.index("--f-stop") + 1] == str(2.0 + i)
    check = subprocess.run([str(BIN / "openjd"), "check",
                            tmp_path / "jobs" / "sh1" / "template.yaml"],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr


def _worker_pids(parent: int) -> list[int]:
    """The batch's worker processes (spawned children running a pool worker, not multiprocessing's
    resource tracker)."""
    pids = []
    for task in Path(f"/proc/{parent}/task").iterdir():
        for child in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
            if b"spawn_main" in cmdline and b"resource_tracker" not in cmdline:
                pids.append(int(child))
    return pids


def test_a_worker_that_dies_fails_only_unfinished_shots_and_a_rerun_completes(tmp_path) -> None:
    shots = write_shots(tmp_path, 3, frames=40)
    record = tmp_path / "shots.done.json"
    proc = subprocess.Popen([str(BIN / "rackfocus-live"), "batch", str(shots), "--workers", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not record.exists():
            time.sleep(0.01)
        workers = _worker_pids(proc.pid)
        assert len(workers) == 1 and proc.poll() is None
        os.kill(workers[0], signal.SIGKILL)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 1
    assert "sh1: failed: a worker process died" in err and "1 exported" in err
    assert list(json.loads(record.read_text())["shots"]) == ["sh0"]
    rerun = subprocess.run([str(BIN / "rackfocus-live"), "batch", str(shots)],
                           capture_output=True, text=True, timeout=150)
    assert rerun.returncode == 0 and "2 exported, 1 skipped" in rerun.stderr, rerun.stderr
