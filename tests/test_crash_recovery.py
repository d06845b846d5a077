"""Crash safety of a live recording: a process killed mid-take (SIGKILL, nothing flushed, no
handler runs) leaves an autosave that a fresh process offers back, missing at most the last 2 s
of media time; plus the autosave and recovery rules on their own (``ui/recovery.py``)."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import textwrap
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from rackfocus_live.errors import InputError
from rackfocus_live.media.probe import MediaInfo, probe_clip
from rackfocus_live.timeline.keyfile import (
    Pull,
    autosave_path,
    find_autosave,
    load_pull,
    save_pull,
)
from rackfocus_live.timeline.keyframes import FocusTrack, Key
from rackfocus_live.ui.pulls import PullController
from rackfocus_live.ui.recovery import (
    AUTOSAVE_INTERVAL_S,
    PullAutosave,
    find_recovery,
    pull_path,
)
from rackfocus_live.ui.state import UiState
from tests import media_factory as mf

pytestmark = pytest.mark.timeout(120)

REPO = Path(__file__).resolve().parents[1]
#: The promise: a crash loses at most this much of a take (media time).
MAX_LOSS_S = 2.0

# The app's recording path without a window: the playhead advances one frame per iteration
# (about 4x real time, so the media-time trigger of the autosave is what bounds the loss), the
# focus follows a performance, PullController samples it and PullAutosave ticks, as App does
# each frame. Every sample is printed *before* it is taken, so the parent's record of the take
# is never shorter than the real one.
_RECORDER = textwrap.dedent(
    """
    import math, os, sys, time
    from fractions import Fraction
    from rackfocus_live.media.probe import probe_clip
    from rackfocus_live.ui.pulls import PullController
    from rackfocus_live.ui.recovery import PullAutosave
    from rackfocus_live.ui.state import UiState

    clip, mode = sys.argv[1], sys.argv[2]
    info = probe_clip(clip)
    state = UiState()
    state.transport.reset(info.frame_count, info.fps)
    state.image_size = info.display_size
    pulls = PullController(state)
    autosave = PullAutosave(pulls)
    if mode == "stall":  # killed inside the third autosave, before its temp file is synced
        calls = {"n": 0}
        real_fsync = os.fsync
        def fsync(fd):
            calls["n"] += 1
            if calls["n"] == 5:  # two per save (file, folder): the third save's first
                print("STALL", flush=True)
                time.sleep(60)
            real_fsync(fd)
        os.fsync = fsync
    pulls.toggle_record()
    for i in range(100_000):
        t = float(Fraction(i) / info.fps)
        focus = 2.0 + math.sin(1.3 * t) + 0.25 * math.sin(7.0 * t)
        print(f"S {t!r} {focus!r}", flush=True)
        pulls.sample(t, focus)
        autosave.tick(info, t)
        time.sleep(0.01)
    """
)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Long enough that the take never reaches its end; the frames themselves are never decoded.
    folder = tmp_path_factory.mktemp("crash")
    return mf.make_clip(folder / "take.mp4", frames=2, size=(32, 32))


def _record_and_kill(clip: Path, mode: str, kill_after_s: float) -> list[tuple[float, float]]:
    """Run the recorder, SIGKILL it, return the (time, focus) samples it was about to take."""
    script = clip.parent / "recorder.py"
    script.write_text(_RECORDER)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, str(script), str(clip), mode],
                            stdout=subprocess.PIPE, text=True, env=env)
    performed: list[tuple[float, float]] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("STALL"):
                break
            _, t, f = line.split()
            performed.append((float(t), float(f)))
            if mode == "run" and performed[-1][0] >= kill_after_s:
                break
        proc.send_signal(signal.SIGKILL)
        rest, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    for line in rest.splitlines():
        if line.startswith("S "):
            _, t, f = line.split()
            performed.append((float(t), float(f)))
    return performed


@pytest.mark.parametrize(("mode", "kill_after_s"), [("run", 5.3), ("stall", 0.0)])
def test_killed_recording_is_offered_back_missing_at_most_2_s(
    clip: Path, mode: str, kill_after_s: float
) -> None:
    for leftover in (clip.with_suffix(".pull.json"), autosave_path(clip.with_suffix(".pull.json"))):
        leftover.unlink(missing_ok=True)
    performed = _record_and_kill(clip, mode, kill_after_s)
    assert performed[-1][0] > 2 * AUTOSAVE_INTERVAL_S  # the kill came mid-take, after autosaves
    # Nothing is left half-written: only the autosave (a kill mid-write leaves its temp file,
    # which never shadows it).
    names = sorted(p.name for p in clip.parent.iterdir() if not p.name.startswith("."))
    assert names == ["recorder.py", "take.mp4", "take.pull.autosave.json"]

    # A fresh session opening the clip is offered the take.
    state = UiState()
    pulls = PullController(state)
    info = probe_clip(clip)
    offer = find_recovery(pulls, info)
    assert offer is not None and offer.pull_path == clip.with_suffix(".pull.json")
    assert "take.pull.json: unsaved pull from" in offer.describe()
    samples = offer.loaded.pull.track.samples
    n = len(samples)
    assert n >= 2
    # What came back is exactly the start of the performance, and ends at most 2 s before it.
    got = list(zip(samples.time.tolist(), samples.focus_m.tolist(), strict=True))
    assert got == performed[:n]
    assert performed[-1][0] - got[-1][0] <= MAX_LOSS_S
    offer.accept(pulls)
    assert pulls.editor is not None and pulls.path == offer.pull_path
    track = pulls.editor.track
    times = np.array([t for t, _ in got])
    np.testing.assert_allclose(track.evaluate_many(times), [f for _, f in got], rtol=1e-12)
    assert state.track is track and "recovered" in (state.message or "")
    # Saving keeps it; the autosave is then no longer offered.
    assert pulls.save(info)
    autosave = PullAutosave(pulls)
    autosave.saved()
    assert find_autosave(offer.pull_path) is None
    assert load_pull(offer.pull_path).pull.track == track


# -- the rules, without a subprocess ------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def info(tmp_path: Path) -> MediaInfo:
    return probe_clip(mf.make_clip(tmp_path / "c.mp4", frames=2, size=(32, 32)))


def _recording(info: MediaInfo, clock: Clock) -> tuple[PullController, PullAutosave]:
    state = UiState()
    state.transport.reset(info.frame_count, info.fps)
    pulls = PullController(state)
    autosave = PullAutosave(pulls, clock=clock)
    pulls.toggle_record()
    return pulls, autosave


def test_autosave_follows_media_time_and_wall_time(info: MediaInfo) -> None:
    clock = Clock()
    pulls, autosave = _recording(info, clock)
    saved_at: list[float] = []
    for i in range(240):  # 10 s at 24 fps, wall clock frozen (playback far faster than real time)
        t = i / 24
        pulls.sample(t, 2.0 + t)
        if autosave.tick(info, t):
            saved_at.append(t)
    assert saved_at and np.all(np.diff([0.0, *saved_at]) <= AUTOSAVE_INTERVAL_S + 1 / 24)
    # Paused (same media time): the wall clock alone makes the last samples safe, once.
    pulls.sample(10.0, 3.0)
    assert not autosave.tick(info, 10.0)
    clock.now += AUTOSAVE_INTERVAL_S
    assert autosave.tick(info, 10.0)
    clock.now += AUTOSAVE_INTERVAL_S
    assert not autosave.tick(info, 10.0)  # nothing new: no rewrite
    saved = load_pull(autosave_path(pull_path(pulls, info))).pull.track
    assert float(saved.samples.time[-1]) == 10.0


def test_an_unchanged_pull_and_focus_drags_are_not_autosaved(tmp_path: Path,
                                                             info: MediaInfo) -> None:
    clock = Clock()
    path = tmp_path / "p.json"
    save_pull(path, Pull(FocusTrack([Key(0.0, 2.0), Key(1.0, 3.0)])), backup=False)
    state = UiState()
    pulls = PullController(state)
    assert pulls.open(path, info)
    autosave = PullAutosave(pulls, clock=clock)
    for i in range(100):
        state.set_focus(1.0 + i / 50)  # dragging focus changes the lens, not the pull
        clock.now += 0.5
        assert not autosave.tick(info, i / 24)
    assert not autosave_path(path).exists()
    # An edit is autosaved; the real save removes the autosave again.
    assert pulls.editor is not None
    pulls.editor.apply("move key", pulls.editor.track.replace(
        keys=[Key(0.0, 2.5), Key(1.0, 3.0)]))
    clock.now += AUTOSAVE_INTERVAL_S
    assert autosave.tick(info)
    assert find_autosave(path) == autosave_path(path)
    assert pulls.save(info)
    autosave.saved()
    assert not autosave_path(path).exists()
    clock.now += AUTOSAVE_INTERVAL_S
    assert not autosave.tick(info)


def test_disk_full_autosave_says_so_once_and_loses_nothing(info: MediaInfo, monkeypatch) -> None:
    import errno

    from rackfocus_live import files

    clock = Clock()
    pulls, autosave = _recording(info, clock)
    real_create = files._create_exclusive
    full = {"on": True, "attempts": 0}

    def create(path: Path) -> int:
        if full["on"]:
            full["attempts"] += 1
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_create(path)

    monkeypatch.setattr(files, "_create_exclusive", create)
    messages = []
    for i in range(120):
        t = i / 24
        pulls.sample(t, 2.0 + math.sin(t))
        autosave.tick(info, t)
        if pulls.state.message not in messages:
            messages.append(pulls.state.message)
    failures = [m for m in messages if m and "autosave failed" in m]
    assert len(failures) == 1 and "disk full" in failures[0]
    assert 2 <= full["attempts"] <= 5  # retried once per interval, not every frame
    full["on"] = False
    pulls.sample(5.0, 2.5)
    clock.now += AUTOSAVE_INTERVAL_S
    assert autosave.tick(info, 5.0)
    assert "autosave works again" in (pulls.state.message or "")
    recovered = load_pull(autosave_path(pull_path(pulls, info))).pull.track
    assert len(recovered.samples) == 121  # every sample of the take, none lost to the full disk


def test_recovery_offer_rules(tmp_path: Path, info: MediaInfo) -> None:
    state = UiState()
    pulls = PullController(state)
    target = pull_path(pulls, info)
    assert target == info.path.with_suffix(".pull.json")
    assert find_recovery(pulls, info) is None
    auto = autosave_path(target)
    track = FocusTrack([Key(0.0, 2.0), Key(0.5, 4.0)], fps=Fraction(24))
    save_pull(auto, Pull(track), backup=False)
    offer = find_recovery(pulls, info)
    assert offer is not None and "2 keys, 0.00-0.50 s" in offer.describe()
    # A keyframe file saved after the autosave wins: nothing to offer.
    save_pull(target, Pull(track), backup=False)
    os.utime(auto, ns=(1, 1))
    assert find_recovery(pulls, info) is None
    # A damaged autosave is said, never offered, never raised.
    auto.write_text('{"schema": "rackfocus-live/keys", "version": 1, "keys": [')
    os.utime(auto, ns=(target.stat().st_mtime_ns + 10**9,) * 2)
    assert find_recovery(pulls, info) is None
    assert "ignoring a damaged autosave" in (state.message or "")
    # Declining deletes it.
    save_pull(auto, Pull(track), backup=False)
    os.utime(auto, ns=(target.stat().st_mtime_ns + 10**9,) * 2)
    offer = find_recovery(pulls, info)
    assert offer is not None
    offer.discard()
    assert not auto.exists() and find_recovery(pulls, info) is None
    with pytest.raises(InputError):
        load_pull(auto)
