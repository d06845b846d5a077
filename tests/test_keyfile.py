"""Keyframe file: exact round-trip, validation messages, crash-safe saving, autosave."""

from __future__ import annotations

import copy
import json
import math
import os
import signal
import subprocess
import sys
import textwrap
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rackfocus_live.depth import DepthMapping
from rackfocus_live.errors import InputError
from rackfocus_live.lens import LensState
from rackfocus_live.timeline.easing import cubic_bezier, get_easing
from rackfocus_live.timeline.keyfile import (
    Autosaver,
    MediaIdentity,
    Pull,
    autosave_path,
    backup_path,
    dumps_pull,
    find_autosave,
    load_pull,
    parse_pull,
    recover_autosave,
    save_pull,
)
from rackfocus_live.timeline.keyframes import FocusTrack, Key, Mark, Samples

NTSC = Fraction(24000, 1001)
REPO = Path(__file__).resolve().parents[1]


def sample_pull(focus_scale: float = 1.0, frames: int = 12) -> Pull:
    track = FocusTrack(
        [
            Key(0.0, 4.0 * focus_scale, 2.8, get_easing("sine-in-out"), None),
            Key(0.2, 1.7 * focus_scale, None, cubic_bezier(0.1, -0.2, 0.3, 1.1), "A"),
            Key(0.3, 2.5 * focus_scale, 4.0, get_easing("back-out").sliced(0.125, 0.75)),
            Key(0.45, 9.0 * focus_scale, None, get_easing("hold")),
        ],
        fps=NTSC,
        marks=[Mark("A", "railing", 1.7 * focus_scale), Mark("B", "", 6.0)],
        samples=Samples([0.0, 0.0417, 0.0834], [4.0, 3.9, 3.1], [2.8, math.nan, 2.8]),
    ).split_at(0.1)
    return Pull(
        track,
        MediaIdentity("clip.mp4", 123_456, frames / float(NTSC), NTSC, frames),
        DepthMapping("disparity", None, 0.8, math.inf),
        LensState(focal_length_mm=35.0, f_stop=2.0, blades=7, blade_rotation_deg=12.5,
                  squeeze=1.33, focus_breathing=False),
    )


def write_doc(path: Path, doc: Any) -> Path:
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def valid_doc() -> dict[str, Any]:
    return json.loads(dumps_pull(sample_pull()))


# -- round trip --------------------------------------------------------------------------------


def test_round_trip_is_exact(tmp_path: Path) -> None:
    pull = sample_pull()
    path = tmp_path / "pull.json"
    save_pull(path, pull)
    loaded = load_pull(path)
    assert loaded.warnings == []
    assert loaded.pull == pull
    assert loaded.pull.track.keys == pull.track.keys  # easings, marks, f-stops, times
    assert dumps_pull(loaded.pull) == path.read_bytes()  # and stable byte for byte
    doc = json.loads(path.read_text())
    assert doc["schema"] == "rackfocus-live/keys" and doc["version"] == 1
    assert doc["media"]["fps"] == "24000/1001" and doc["depth"]["far"] == "inf"
    assert doc["baked"]["focus_m"] == pull.track.bake(12, NTSC).tolist()
    assert [k["frame"] for k in doc["keys"]] == [0, 2, 5, 7, 11]


def test_minimal_file_and_frames_without_times(tmp_path: Path) -> None:
    doc = {"schema": "rackfocus-live/keys", "version": 1, "track": {"fps": "25"},
           "keys": [{"frame": 0, "focus_m": 2}, {"frame": 50, "focus_m": 4, "easing": "ease"}]}
    loaded = load_pull(write_doc(tmp_path / "a.json", doc))
    track = loaded.pull.track
    assert [k.time for k in track.keys] == [0.0, 2.0] and track.fps == 25
    assert loaded.pull.media is None and loaded.pull.lens is None


def test_baked_only_file_loads_as_per_frame_keys(tmp_path: Path) -> None:
    doc = {"schema": "rackfocus-live/keys", "version": 1,
           "baked": {"fps": "24", "frame_count": 3, "focus_m": [1.0, 2.0, 3.0], "f_stop": None}}
    track = load_pull(write_doc(tmp_path / "b.json", doc)).pull.track
    assert track.bake(3, Fraction(24)).tolist() == [1.0, 2.0, 3.0]


def test_backup_keeps_the_previous_version(tmp_path: Path) -> None:
    path = tmp_path / "pull.json"
    first, second = sample_pull(1.0), sample_pull(2.0)
    save_pull(path, first)
    assert not backup_path(path).exists()
    save_pull(path, second)
    assert load_pull(path).pull == second
    assert load_pull(backup_path(path)).pull == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pull.json", "pull.json.bak"]


# -- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["keys"][3].__setitem__("time", "abc"),
         'keys[3].time: expected a number, got "abc"'),
        (lambda d: d["keys"][1].__setitem__("focus_m", -1),
         "keys[1].focus_m: must be > 0"),
        (lambda d: d["keys"][0].__setitem__("easing", "wobble"),
         "keys[0].easing: unknown easing 'wobble'"),
        (lambda d: d["keys"][2].__setitem__("mark", "Z"),
         "keys[2].mark: no mark labelled 'Z'"),
        (lambda d: d["keys"].reverse(), "keys[1].time: keys must be in increasing time order"),
        (lambda d: d["media"].__setitem__("fps", "24/0"), "media.fps"),
        (lambda d: d["lens"].__setitem__("f_stop", 0), "lens: f-stop must be > 0"),
        (lambda d: d["lens"].__setitem__("blades", 2.5), "lens.blades: expected an integer"),
        (lambda d: d["depth"].__setitem__("kind", "sonar"), "depth.kind: expected one of"),
        (lambda d: d["samples"]["time"].__setitem__(1, 0.0), "samples.time[1]: times must be"),
        (lambda d: d["samples"]["focus_m"].pop(), "samples: time, focus_m and f_stop"),
        (lambda d: d["baked"]["focus_m"].pop(), "baked: frame_count is 12"),
        (lambda d: d["marks"][0].pop("focus_m"), "marks[0].focus_m: missing"),
        (lambda d: d["track"].__setitem__("space", "log"), "track.space: expected one of"),
        (lambda d: d.__setitem__("keys", {}), "keys: expected a list, got an object"),
    ],
)
def test_errors_name_the_file_and_the_field(tmp_path: Path, mutate: Any, message: str) -> None:
    doc = valid_doc()
    mutate(doc)
    path = write_doc(tmp_path / "bad.json", doc)
    with pytest.raises(InputError) as info:
        load_pull(path)
    assert message in str(info.value)
    assert str(info.value).startswith(f"{path}: ")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "file is empty"),
        (b"\xff\xfe{", "not UTF-8"),
        (b"[1, 2]", "not a rackfocus-live keyframe file"),
        (b'{"schema": "something/else", "version": 1}', "not a rackfocus-live keyframe file"),
        (b'{"schema": "rackfocus-live/keys"}', "version: missing"),
        (b"[" * 100_000, "nested too deeply"),
    ],
)
def test_not_a_keyframe_file(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "x.json"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        load_pull(path)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        load_pull(tmp_path / "nope.json")
    with pytest.raises(InputError, match="directory"):
        load_pull(tmp_path)


def test_newer_version_is_refused_before_reading_anything_else(tmp_path: Path) -> None:
    doc = valid_doc()
    doc["version"] = 2
    doc["keys"] = "a format we do not know"
    with pytest.raises(InputError, match="version 2, written by a newer rackfocus-live"):
        load_pull(write_doc(tmp_path / "new.json", doc))


def test_other_clip_loads_with_a_warning_and_is_retimed(tmp_path: Path) -> None:
    pull = sample_pull()
    path = tmp_path / "pull.json"
    save_pull(path, pull)
    assert pull.media is not None
    same = load_pull(path, pull.media)
    assert same.warnings == [] and same.pull.track == pull.track
    other = MediaIdentity("other.mov", 1, 0.2, Fraction(50), 10)
    loaded = load_pull(path, other)
    assert any("made for another clip" in w and "other.mov" in w for w in loaded.warnings)
    assert any("past the end of this clip" in w for w in loaded.warnings)
    track = loaded.pull.track
    assert track.fps == 50
    assert [k.time for k in track.keys] == [k.time for k in pull.track.keys]  # by seconds
    assert track.frame_of(0.3) == 15


def test_hand_edited_baked_values_warn_and_keys_win(tmp_path: Path) -> None:
    doc = valid_doc()
    doc["baked"]["focus_m"][5] = 99.0
    loaded = load_pull(write_doc(tmp_path / "e.json", doc))
    assert any("from frame 5" in w for w in loaded.warnings)
    assert loaded.pull.track == sample_pull().track


# -- fuzzing: corrupt files only ever produce InputError ------------------------------------------

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=3),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def _mutated(draw: st.DrawFn) -> str:
    doc = copy.deepcopy(_BASE)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(doc)))
        if not path:
            doc = draw(_JSON)
            continue
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["replace", "delete", "wrap"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "wrap":
            parent[path[-1]] = [parent[path[-1]]]
        else:
            parent[path[-1]] = draw(_JSON)
        if not isinstance(doc, dict | list):
            break
    return json.dumps(doc, allow_nan=True)


_BASE = json.loads(dumps_pull(sample_pull(frames=4)))
_FUZZ = settings(max_examples=250, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.too_slow])


def _load_or_input_error(data: bytes | str) -> None:
    try:
        loaded = parse_pull(data, "fuzz.json")
    except InputError as exc:
        assert str(exc).startswith("fuzz.json: ") and exc.problem
    else:
        assert isinstance(loaded.pull.track, FocusTrack)


@_FUZZ
@given(_mutated())
def test_mutated_files_give_input_errors_only(text: str) -> None:
    _load_or_input_error(text)


@_FUZZ
@given(st.integers(0, len(dumps_pull(sample_pull(frames=4)).rstrip()) - 1))
def test_truncated_files_are_refused(cut: int) -> None:
    data = dumps_pull(sample_pull(frames=4))[:cut]  # anything short of the closing brace
    with pytest.raises(InputError):
        parse_pull(data, "fuzz.json")


@_FUZZ
@given(st.lists(st.tuples(st.integers(0, 10**6), st.binary(min_size=1, max_size=3)),
                min_size=1, max_size=4))
def test_byte_corruption_gives_input_errors_only(edits: list[tuple[int, bytes]]) -> None:
    data = bytearray(dumps_pull(sample_pull(frames=4)))
    for pos, junk in edits:
        at = pos % len(data)
        data[at: at + len(junk)] = junk
    _load_or_input_error(bytes(data))


# -- crash during save ---------------------------------------------------------------------------

_CRASHER = textwrap.dedent(
    """
    import os, sys, time
    from rackfocus_live import files
    from rackfocus_live.timeline import keyfile

    stage, path, source = sys.argv[1], sys.argv[2], sys.argv[3]
    pull = keyfile.load_pull(source).pull
    real_replace, real_fdopen = os.replace, os.fdopen

    def stall():
        print("READY", flush=True)
        time.sleep(60)

    if stage == "partial":  # half of the temp file written, then killed
        class Half:
            def __init__(self, fh):
                self.fh = fh
            def __enter__(self):
                return self
            def __exit__(self, *exc):
                return False
            def write(self, data):
                self.fh.write(data[: len(data) // 2])
                self.fh.flush()
                stall()
        os.fdopen = lambda fd, mode: Half(real_fdopen(fd, mode))
    elif stage == "fsync":  # whole temp file written, killed before it is synced
        os.fsync = lambda fd: stall()
    elif stage == "replace":  # backup made, killed before the new file replaces the old
        def replace(src, dst):
            if os.fspath(dst) == path:
                stall()
            return real_replace(src, dst)
        os.replace = replace
    elif stage == "dirsync":  # new file in place, killed before the directory sync
        files._fsync_dir = lambda directory: stall()
    keyfile.save_pull(path, pull)
    print("SAVED", flush=True)
    """
)


@pytest.mark.parametrize("stage", ["partial", "fsync", "replace", "dirsync"])
def test_killed_save_leaves_a_loadable_file(tmp_path: Path, stage: str) -> None:
    path = tmp_path / "pull.json"
    v0, v1, v2 = sample_pull(1.0), sample_pull(2.0), sample_pull(3.0)
    save_pull(path, v0)
    save_pull(path, v1)
    source = tmp_path / "source.json"
    save_pull(source, v2, backup=False)
    script = tmp_path / "crasher.py"
    script.write_text(_CRASHER)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, str(script), stage, str(path), str(source)],
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "READY"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    expected = v2 if stage == "dirsync" else v1
    assert load_pull(path).pull == expected
    assert load_pull(backup_path(path)).pull == (v1 if stage in ("replace", "dirsync") else v0)
    # A leftover temp file never shadows the real one, and the next save still works.
    save_pull(path, v0)
    assert load_pull(path).pull == v0


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root ignores directory permissions")
def test_unwritable_directory_is_an_input_error(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(InputError, match="cannot save"):
            save_pull(locked / "pull.json", sample_pull())
    finally:
        locked.chmod(0o700)


# -- autosave ------------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_autosave_at_most_every_interval_and_only_when_changed(tmp_path: Path) -> None:
    clock = FakeClock()
    path = tmp_path / "pull.json"
    saver = Autosaver(path, interval_s=2.0, clock=clock)
    assert saver.path == autosave_path(path) == tmp_path / "pull.autosave.json"
    first = sample_pull(1.0)
    assert saver.due() and saver.maybe_save(first)
    clock.now += 1.0
    assert not saver.due()
    assert not saver.maybe_save(sample_pull(2.0))  # too soon
    clock.now += 1.5
    assert not saver.maybe_save(first)  # unchanged
    second = sample_pull(2.0)
    assert saver.maybe_save(second)
    recovered = recover_autosave(path)
    assert recovered.pull.track == second.track
    assert json.loads(saver.path.read_text())["baked"] is None  # cheap: no baked values
    assert not backup_path(saver.path).exists()


def test_find_and_discard_autosave(tmp_path: Path) -> None:
    path = tmp_path / "pull.json"
    saver = Autosaver(path, clock=FakeClock())
    assert find_autosave(path) is None
    saver.save_now(sample_pull())
    assert find_autosave(path) == saver.path  # no main file yet: crashed before the first save
    save_pull(path, sample_pull())
    os.utime(saver.path, ns=(1, 1))  # the main file is newer: nothing to recover
    assert find_autosave(path) is None
    os.utime(saver.path, ns=(path.stat().st_mtime_ns + 10**9,) * 2)
    assert find_autosave(path) == saver.path == saver.find()
    assert saver.recover().pull == recover_autosave(path).pull
    saver.discard()
    assert not saver.path.exists() and find_autosave(path) is None


def test_autosave_of_a_recording_keeps_the_performance(tmp_path: Path) -> None:
    from rackfocus_live.timeline.recorder import Recorder
    from rackfocus_live.timeline.simplify import CocTolerance
    from rackfocus_live.timeline.undo import TrackEditor

    clock = FakeClock()
    editor = TrackEditor(FocusTrack(fps=NTSC))
    recorder = Recorder(editor, CocTolerance(LensState(), 1920))
    saver = Autosaver(tmp_path / "pull.json", clock=clock)
    recorder.arm()
    times = np.arange(120) / float(NTSC)
    focus = 3.0 + np.sin(times)
    saves = 0
    for t, f in zip(times, focus, strict=True):  # real time runs with media time here
        recorder.sample(float(t), float(f))
        clock.now = 100.0 + float(t)
        saves += saver.maybe_save(Pull(recorder.live_track()))
    assert saves == 3  # t = 0, 2, 4 s: never more than 2 s of the take unsaved
    saved = recover_autosave(tmp_path / "pull.json").pull.track
    n = len(saved.samples)
    assert times[n - 1] >= times[-1] - 2.0
    assert np.array_equal(saved.evaluate_many(times[:n]), focus[:n])
