"""Chunked export and its farm hand-off: chunks rendered apart and joined without re-encoding
give the frames, timestamps and audio of a single export (FFV1 bit for bit; ProRes; a variable
frame rate clip; a range), through the CLI and through ``openjd run`` of the job bundle; a chunk
whose render died is never joined."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rackfocus_live.farm.bundle import JOIN_STEP, RENDER_STEP
from rackfocus_live.files import is_temporary_name
from tests import media_factory as mf
from tests.cli_helpers import run_cli as cli
from tests.farm_helpers import (
    assert_same_export,
    file_bytes,
    make_shot,
    video,
    video_packets,
)

pytestmark = [pytest.mark.gl, pytest.mark.timeout(180)]

BIN = Path(sys.executable).parent
@pytest.fixture
def shot(tmp_path: Path) -> dict[str, Path]:
    return {**make_shot(tmp_path), "dir": tmp_path}


def test_chunks_joined_equal_a_single_export_frame_for_frame_with_audio(shot) -> None:
    before = file_bytes(shot["clip"], shot["depth"], shot["pull"])
    flags = ["--depth", shot["depth"], "--keys", shot["pull"], "--codec", "ffv1"]
    single, joined = shot["dir"] / "single.mkv", shot["dir"] / "joined.mkv"
    assert cli("export", shot["clip"], *flags, "-o", single) == 0
    assert cli("farm", shot["clip"], *flags, "-o", joined, "--chunk-frames", 5) == 0
    assert_same_export(single, joined)
    chunks = sorted((shot["dir"] / "joined.mkv.chunks").glob("chunk_*"))
    assert [p.name[:11] + p.suffix for p in chunks] == [
        "chunk_00000.mkv", "chunk_00001.mkv", "chunk_00002.mkv"]
    assert file_bytes(shot["clip"], shot["depth"], shot["pull"]) == before


def test_a_range_in_prores_joins_to_the_single_export(shot) -> None:
    flags = ["--depth", shot["depth"], "--focus", 2, "--codec", "prores", "--range", "3:11"]
    single, joined = shot["dir"] / "single.mov", shot["dir"] / "joined.mov"
    assert cli("export", shot["clip"], *flags, "-o", single) == 0
    assert cli("farm", shot["clip"], *flags, "-o", joined, "--chunk-frames", 3) == 0
    # prores_ks is not deterministic run to run: two single exports differ this much too.
    assert_same_export(single, joined, min_psnr=50.0)
    assert len(video(joined)[1]) == 8


def test_variable_frame_rate_chunks_join_without_doubling_a_held_frame(tmp_path: Path) -> None:
    # 25 fps slots; the gaps after 80, 281 and 440 ms make slots 3, 8 and 12 repeat a frame, and
    # chunks of 4 start on slots 8 and 12: their first frame is the previous chunk's last.
    times = [0, 40, 80, 160, 200, 240, 281, 360, 400, 440, 520, 560, 600, 640]
    clip = mf.make_vfr_clip(tmp_path / "vfr.mkv", times, (96, 64))
    depth = mf.make_depth_still(tmp_path / "d.png", size=(96, 64))
    flags = ["--depth", depth, "--focus", 2, "--codec", "ffv1"]
    single, joined = tmp_path / "single.mkv", tmp_path / "joined.mkv"
    assert cli("export", clip, *flags, "-o", single) == 0
    assert cli("farm", clip, *flags, "-o", joined, "--chunk-frames", 4) == 0
    assert_same_export(single, joined)
    times_out, frames = video(joined)
    assert [round(t * 1000) for t in times_out] == times
    assert [mf.read_code_rgb(f) for f in frames] == list(range(len(times)))


def test_openjd_bundle_checks_and_runs_to_the_single_export(shot) -> None:
    flags = ["--depth", shot["depth"], "--keys", shot["pull"], "--codec", "ffv1",
             "--f-stop", 2.8]
    single, out, bundle = shot["dir"] / "single.mkv", shot["dir"] / "farm.mkv", shot["dir"] / "b"
    assert cli("export", shot["clip"], *flags, "-o", single) == 0
    assert cli("farm", shot["clip"], *flags, "-o", out, "--chunk-frames", 6,
               "--bundle", bundle) == 0
    assert not out.exists()  # a bundle renders nothing
    template = json.loads((bundle / "template.yaml").read_text())
    assert [s["name"] for s in template["steps"]] == [RENDER_STEP, JOIN_STEP]
    assert template["steps"][0]["parameterSpace"]["taskParameterDefinitions"][0]["range"] == "0-1"
    assert "EGL" in template["description"]
    params = {p["name"]: p for p in template["parameterDefinitions"]}
    assert {params[n]["type"] for n in ("ClipFile", "DepthFile", "KeysFile", "OutputFile",
                                        "WorkDir")} == {"PATH"}
    deadline = json.loads((bundle / "parameter_values.yaml").read_text())["parameterValues"]
    assert {v["name"]: v["value"] for v in deadline}["ClipFile"] == str(shot["clip"].resolve())

    openjd = str(BIN / "openjd")
    check = subprocess.run([openjd, "check", bundle / "template.yaml"], capture_output=True,
                           text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    run = subprocess.run(
        [openjd, "run", bundle / "template.yaml", "--step", JOIN_STEP, "--run-dependencies",
         "-p", f"file://{bundle / 'openjd_parameters.json'}",
         "-p", f"RackfocusCommand={BIN / 'rackfocus-live'}"],
        capture_output=True, text=True, timeout=150)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert_same_export(single, out)


def test_join_refuses_a_missing_or_wrong_chunk_and_writes_nothing(shot, capsys) -> None:
    flags = [shot["clip"], "--depth", shot["depth"], "--focus", 2, "--codec", "ffv1",
             "-o", shot["dir"] / "out.mkv", "--chunk-frames", 5]
    assert cli("farm", *flags, "--render-chunk", 0) == 0
    assert cli("farm", *flags, "--render-chunk", 2) == 0
    capsys.readouterr()
    assert cli("farm", *flags, "--join") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "chunk_00001_" in err[0] and "is missing" in err[0]
    # A chunk of the wrong length under the right name is refused too.
    work = shot["dir"] / "out.mkv.chunks"
    wanted = re.search(r"chunk_00001_\w+\.mkv", err[0])
    assert wanted is not None
    os.replace(next(work.glob("chunk_00002_*.mkv")), work / wanted.group(0))
    assert cli("farm", *flags, "--join") == 2
    assert "has 2 frames, frames 5:10 need 5" in capsys.readouterr().err
    assert not (shot["dir"] / "out.mkv").exists()
    assert [p.name for p in shot["dir"].iterdir() if p.name.startswith("out.mkv")] == [
        "out.mkv.chunks"]


def test_a_worker_killed_mid_chunk_leaves_nothing_the_join_accepts(tmp_path: Path) -> None:
    media = make_shot(tmp_path, frames=60)
    out, work = tmp_path / "out.mkv", tmp_path / "work"
    args = [str(BIN / "rackfocus-live"), "farm", media["clip"], "--depth", media["depth"],
            "--focus", 2, "--codec", "ffv1", "-o", out, "--chunk-frames", 60,
            "--work-dir", work]
    proc = subprocess.Popen([*map(str, args), "--render-chunk", "0"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (work.is_dir() and any(work.glob("*.rftmp*"))):
            time.sleep(0.005)
        assert proc.poll() is None, "the render finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(30)
    assert not list(work.glob("chunk_*"))  # only the killed render's hidden temporary file
    left = sorted(p.name for p in work.glob(".chunk*"))  # its temporary file and unlocked lock
    assert len(left) == 2 and all(n.startswith(".chunk_00000_") for n in left)
    assert all(is_temporary_name(n) for n in left)
    join = subprocess.run([*map(str, args), "--join"], capture_output=True, text=True,
                          timeout=60)
    assert join.returncode == 2
    assert "chunk 0 (frames 0:60) is missing" in join.stderr
    assert not out.exists()


def test_h264_chunks_are_lossless_and_the_join_encodes_the_single_exports_file(shot) -> None:
    flags = ["--depth", shot["depth"], "--keys", shot["pull"], "--range", "1:11"]
    single, joined = shot["dir"] / "single.mp4", shot["dir"] / "joined.mp4"
    assert cli("export", shot["clip"], *flags, "-o", single) == 0
    assert cli("farm", shot["clip"], *flags, "-o", joined, "--chunk-frames", 4) == 0
    assert len(list((shot["dir"] / "joined.mp4.chunks").glob("chunk_*.mkv"))) == 3  # FFV1
    assert_same_export(single, joined)
    # Encoded once from the same pixels by the same writer: the same H.264 stream.
    assert video_packets(joined) == video_packets(single)


def test_stale_chunks_of_other_settings_are_never_joined(shot, capsys) -> None:
    base = [shot["clip"], "--depth", shot["depth"], "--codec", "ffv1", "-o",
            shot["dir"] / "out.mkv", "--chunk-frames", 6]
    assert cli("farm", *base, "--focus", 2, "--render-chunk", 0) == 0
    assert cli("farm", *base, "--focus", 2, "--render-chunk", 1) == 0
    capsys.readouterr()
    # The same plan with another focus: the chunks on disk are not its chunks.
    assert cli("farm", *base, "--focus", 3, "--join") == 2
    assert "chunk 0 (frames 0:6) is missing" in capsys.readouterr().err
    assert cli("farm", *base, "--focus", 2, "--join") == 0


def test_chunks_are_never_written_among_other_files(shot, capsys) -> None:
    (shot["dir"] / "mine").mkdir()
    (shot["dir"] / "mine" / "notes.txt").write_text("keep me")
    assert cli("farm", shot["clip"], "--depth", shot["depth"], "--focus", 2, "--codec", "ffv1",
               "-o", shot["dir"] / "out.mkv", "--work-dir", shot["dir"] / "mine") == 2
    assert "work folder holds other files" in capsys.readouterr().err
    assert [p.name for p in (shot["dir"] / "mine").iterdir()] == ["notes.txt"]


def test_plan_covers_the_range_once_in_order() -> None:
    from rackfocus_live.farm.plan import plan_chunks

    chunks = plan_chunks(3, 20, 5)
    assert [(c.start, c.end) for c in chunks] == [(3, 8), (8, 13), (13, 18), (18, 20)]
    assert [c.index for c in chunks] == [0, 1, 2, 3]
    assert [(c.start, c.end) for c in plan_chunks(0, 4, 10)] == [(0, 4)]
