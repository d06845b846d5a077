"""``rackfocus-live keys``: exports, summary, CSV import, one-line errors with exit code 2."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from rackfocus_live.cli import main
from rackfocus_live.lens import LensState
from rackfocus_live.timeline.easing import get_easing
from rackfocus_live.timeline.interop import parse_ae_focus
from rackfocus_live.timeline.keyfile import MediaIdentity, Pull, load_pull, save_pull
from rackfocus_live.timeline.keyframes import FocusTrack, Key, Mark

NTSC = Fraction(24000, 1001)


@pytest.fixture
def pull_file(tmp_path: Path) -> Path:
    track = FocusTrack(
        [Key(0.0, 5.0, 2.8, get_easing("ease-in-out")), Key(1.0, 1.5, None, mark="A")],
        fps=NTSC, marks=[Mark("A", "face", 1.5)],
    )
    path = tmp_path / "pull.json"
    save_pull(path, Pull(track, MediaIdentity("clip.mp4", 10, 2.0, NTSC, 48),
                         lens=LensState(focal_length_mm=35.0, sensor_width_mm=24.0)))
    return path


def test_exports_all_three(pull_file: Path, tmp_path: Path) -> None:
    csv, py, ae = tmp_path / "o.csv", tmp_path / "o.py", tmp_path / "o.txt"
    rc = main(["keys", str(pull_file), "--csv", str(csv), "--blender", str(py), "--ae", str(ae)])
    assert rc == 0
    track = load_pull(pull_file).pull.track
    rows = csv.read_text().splitlines()
    assert len(rows) == 49  # the clip's 48 frames and a header
    assert float(rows[-1].split(",")[2]) == track.bake(48)[-1]
    assert "dof.keyframe_insert" in py.read_text() and "FPS = (24000, 1001)" in py.read_text()
    ae_rows = parse_ae_focus(ae.read_text())
    assert len(ae_rows) == 48
    # The file's lens sets the default AE scale: 1920 px over a 24 mm sensor.
    np.testing.assert_allclose(ae_rows[0][1], 5.0 * 1920 / 0.024, atol=1e-3)


def test_frames_fps_and_ae_options(pull_file: Path, tmp_path: Path) -> None:
    csv, ae = tmp_path / "o.csv", tmp_path / "o.txt"
    assert main(["keys", str(pull_file), "--csv", str(csv), "--frames", "10", "--fps", "25",
                 "--ae", str(ae), "--ae-size", "1280x720", "--ae-px-per-m", "100"]) == 0
    assert len(csv.read_text().splitlines()) == 11
    assert float(csv.read_text().splitlines()[2].split(",")[1]) == 1 / 25
    text = ae.read_text()
    assert "\tSource Width\t1280" in text and parse_ae_focus(text)[0] == (0, 500.0)


def test_a_dash_sends_one_output_to_standard_output(
        pull_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    csv = tmp_path / "o.csv"
    assert main(["keys", str(pull_file), "--csv", str(csv)]) == 0
    assert main(["keys", str(pull_file), "--csv", "-", "--info"]) == 0
    captured = capsys.readouterr()
    assert captured.out == csv.read_text()  # the same CSV, on standard output
    assert "2 keys" in captured.err  # the summary stays off the data stream
    assert not (tmp_path / "-").exists()  # no file named '-'
    assert main(["keys", str(pull_file), "--ae", "-"]) == 0
    assert len(parse_ae_focus(capsys.readouterr().out)) == 48
    assert main(["keys", str(pull_file), "--csv", "-", "--ae", "-"]) == 2
    assert "only one of --csv, --blender and --ae" in capsys.readouterr().err


def test_info_is_the_default(pull_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", str(pull_file)]) == 0
    out = capsys.readouterr().out
    assert "2 keys" in out and "clip.mp4 (48 frames at 24000/1001 fps" in out
    assert "mark A: face: 1.500 m" in out and "ease-in-out" in out and "[A]" in out


def test_from_csv_creates_a_keyframe_file(tmp_path: Path) -> None:
    csv = tmp_path / "in.csv"
    csv.write_text("frame,time,focus_m,f_stop\n0,0.0,3.0,\n24,1.0,1.0,\n")
    out = tmp_path / "made.json"
    assert main(["keys", str(out), "--from-csv", str(csv)]) == 0
    track = load_pull(out).pull.track
    assert track.fps == 24 and [k.focus_m for k in track.keys] == [3.0, 1.0]
    assert json.loads(out.read_text())["schema"] == "rackfocus-live/keys"


def test_from_csv_counts_frames_at_the_pulls_clip_rate(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """A pull made for a 10 fps clip: the CSV's frame 10 is at 1 s, not at 10/24 s."""
    out = tmp_path / "pull.json"
    lens = LensState(focal_length_mm=35.0)
    save_pull(out, Pull(FocusTrack([Key(0.0, 2.0)], fps=Fraction(10)),
                        MediaIdentity("clip10.mp4", 10, 2.0, Fraction(10), 20), lens=lens))
    before = out.read_bytes()
    csv = tmp_path / "in.csv"
    csv.write_text("frame,focus_m\n0,3.0\n10,1.0\n")
    assert main(["keys", str(out), "--from-csv", str(csv)]) == 0
    assert "at 10 fps (from the clip of pull.json)" in capsys.readouterr().out
    pull = load_pull(out).pull
    assert pull.track.fps == 10 and [k.time for k in pull.track.keys] == [0.0, 1.0]
    assert pull.media is not None and pull.media.name == "clip10.mp4" and pull.lens == lens
    assert (tmp_path / "pull.json.bak").read_bytes() == before  # the previous version kept


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.json"], "missing.json: file not found"),
        (["bad.json"], 'bad.json: keys[0].time: expected a number, got "x"'),
        (["new.json"], "newer rackfocus-live"),
        (["empty.json", "--csv", "o.csv"], "empty.json: has no keys to export"),
        (["ok.json", "--ae", "o.txt", "--ae-size", "big"], "--ae-size must look like"),
        (["ok.json", "--csv", "o.csv", "--frames", "0"], "--frames must be between"),
        (["ok.json", "--from-csv", "nope.csv"], "nope.csv: file not found"),
    ],
)
def test_errors_are_one_line_with_exit_code_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    args: list[str], message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    header = {"schema": "rackfocus-live/keys", "version": 1}
    Path("bad.json").write_text(json.dumps({**header, "keys": [{"time": "x", "focus_m": 1}]}))
    Path("new.json").write_text(json.dumps({**header, "version": 9}))
    Path("empty.json").write_text(json.dumps(header))
    save_pull("ok.json", Pull(FocusTrack([Key(0.0, 2.0)])))
    assert main(["keys", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("rackfocus-live keys: error: ")
    assert message in err


def test_warnings_go_to_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "w.json"
    doc = {"schema": "rackfocus-live/keys", "version": 1, "track": {"fps": "24"},
           "keys": [{"time": 1.0, "frame": 7, "focus_m": 2.0}]}
    path.write_text(json.dumps(doc))
    assert main(["keys", str(path), "--info"]) == 0
    err = capsys.readouterr().err
    assert "warning" in err and "keys[0].frame 7 disagrees" in err
