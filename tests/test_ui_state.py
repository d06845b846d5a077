"""UI state and actions without a window: focus, click-to-focus, pulls, overlays, transport."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from rackfocus_live.lens import LensState
from rackfocus_live.ui.state import (
    FocusPull,
    Transport,
    UiState,
    robust_inverse_depth,
    timecode,
    window_around,
)


class FakeTime:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def make_state(frames: int = 48, fps: Fraction = Fraction(24),
               clock: FakeTime | None = None) -> UiState:
    state = UiState(lens=LensState(focal_length_mm=35.0, focus_m=8.0))
    state.transport = Transport(frame_count=frames, fps=fps, time_source=clock or FakeTime())
    return state


def inverse_depth_scene() -> np.ndarray:
    """40x60 inverse depth: wall at 8 m, a post at 1.25 m in columns 10..19 (rows top-down)."""
    w = np.full((40, 60), 1 / 8.0, np.float32)
    w[:, 10:20] = 1 / 1.25
    return w


def test_set_focus_clamps_and_bumps_revision() -> None:
    state = make_state()
    rev = state.revision
    assert state.set_focus(3.0) == 3.0
    assert state.lens.focus_m == 3.0 and state.revision == rev + 1
    lo, hi = state.focus_limits()
    assert state.set_focus(0.001) == lo and lo > state.lens.focal_length_m
    assert state.set_focus(1e9) == hi
    # Garbage keeps the current focus.
    assert state.set_focus(float("nan")) == hi
    assert state.set_focus(-2.0) == hi


def test_click_to_focus_uses_the_median_and_ignores_invalid_samples() -> None:
    state = make_state()
    w = inverse_depth_scene()
    # Poison part of the post window: NaN, inf, 0 (far) and negative samples are all invalid.
    w[18:22, 14] = np.nan
    w[18:22, 15] = np.inf
    w[18:22, 16] = 0.0
    w[18:22, 13] = -1.0
    target = state.focus_at_pixel(w, 15.2, 20.7)
    assert target == pytest.approx(1.25, rel=1e-6)
    assert state.lens.focus_m == pytest.approx(1.25, rel=1e-6)


def test_click_on_an_edge_picks_the_majority_surface() -> None:
    state = make_state()
    w = inverse_depth_scene()
    # Column 8 is two pixels left of the post: 7x7 window holds 2 post columns, 5 wall columns.
    assert state.focus_at_pixel(w, 8.5, 20.0) == pytest.approx(8.0)
    assert state.focus_at_pixel(w, 18.5, 20.0) == pytest.approx(1.25)


def test_click_without_valid_depth_keeps_focus_and_says_why() -> None:
    state = make_state()
    w = np.full((10, 10), np.nan, np.float32)
    assert state.focus_at_pixel(w, 5, 5) is None
    assert state.lens.focus_m == 8.0
    assert state.message is not None and "no valid depth" in state.message
    assert state.focus_at_pixel(w, 50, 5) is None  # outside the image: nothing happens


def test_window_around_is_cut_at_the_border() -> None:
    img = np.arange(100, dtype=np.float32).reshape(10, 10)
    assert window_around(img, 0, 0, 3).shape == (4, 4)
    assert window_around(img, 5, 5, 3).shape == (7, 7)
    assert window_around(img, 9.9, 9.9, 1).shape == (2, 2)
    assert window_around(img, -0.5, 3, 1).size == 0
    assert robust_inverse_depth([np.nan, 0.0, -3.0]) is None
    assert robust_inverse_depth([0.5, 0.25, 100.0]) == 0.5


def test_modifier_click_pulls_focus_over_the_duration() -> None:
    state = make_state()
    state.pull_duration_s = 2.0
    state.pull_easing = "linear"
    w = inverse_depth_scene()
    assert state.focus_at_pixel(w, 15, 20, pull=True, now=10.0) == pytest.approx(1.25)
    assert state.lens.focus_m == 8.0  # nothing moved yet
    assert state.effective_quality == "draft"  # cheaper while the focus moves
    state.update(11.0)
    # Halfway in inverse distance: (1/8 + 1/1.25) / 2.
    assert 1.0 / state.lens.focus_m == pytest.approx((1 / 8 + 1 / 1.25) / 2, rel=1e-6)
    state.update(12.5)
    assert state.lens.focus_m == pytest.approx(1.25)
    assert state.pull is None and state.effective_quality == "default"


def test_pull_with_an_unknown_easing_still_arrives() -> None:
    pull = FocusPull(8.0, 2.0, 0.0, 1.0, easing="no-such-ease")
    assert pull.focus_at(0.0) == pytest.approx(8.0)
    assert pull.focus_at(1.0) == pytest.approx(2.0)
    assert 2.0 < pull.focus_at(0.5) < 8.0


def test_manual_focus_cancels_a_running_pull() -> None:
    state = make_state()
    state.focus_at_pixel(inverse_depth_scene(), 15, 20, pull=True, now=0.0)
    state.set_focus(4.0)
    state.update(0.5)
    assert state.pull is None and state.lens.focus_m == 4.0


def test_toggle_overlay_and_quality_while_dragging() -> None:
    state = make_state()
    rev = state.revision
    assert state.toggle_overlay("focus_plane") is True
    # An overlay changes only the display pass: the DOF result is not re-rendered for it.
    assert state.overlays.focus_plane and state.revision == rev
    assert state.toggle_overlay("focus_plane") is False
    with pytest.raises(ValueError):
        state.toggle_overlay("sparkles")  # type: ignore[arg-type]
    state.set_quality("high")
    state.begin_focus_drag()
    assert state.effective_quality == "draft"
    state.end_focus_drag()
    assert state.effective_quality == "high"
    assert state.set_quality("nope") is False and state.quality == "high"


def test_seek_play_pause_step_loop_rate() -> None:
    now = FakeTime()
    state = make_state(frames=48, clock=now)
    t = state.transport
    assert state.seek(10) == 10 and t.frame == 10
    assert state.seek(1000) == 47 and state.seek(-5) == 0
    assert state.toggle_play() is True and t.playing
    now.t += 0.5
    state.tick(now.t)  # 12 frames at 24 fps
    assert t.frame == 12 and t.frame_time_s == 0.5
    assert state.step(1) == 13 and not t.playing  # a frame step pauses
    assert state.step(-20) == 0
    state.set_rate(2.0)
    state.toggle_play()
    now.t += 1.0
    state.tick(now.t)
    assert t.frame == 0  # two seconds of a two-second clip: looped to the start
    state.toggle_loop()
    assert t.loop is False
    now.t += 5.0
    state.tick(now.t)
    assert t.frame == 47 and not t.playing  # stops on the last frame without loop
    assert state.toggle_play() is True and t.frame == 0  # play at the end restarts
    assert state.faster(+1) == 2.0 and state.faster(-1) == 1.0
    assert state.set_rate(float("nan")) == 1.0


def test_late_frames_are_skipped_to_keep_the_clip_rate() -> None:
    now = FakeTime()
    state = make_state(frames=48, clock=now)
    state.toggle_play()
    for _ in range(3):  # the app draws at 8 fps: every third frame is shown
        now.t += 0.125
        state.tick(now.t)
    assert state.transport.frame == 9  # 0.375 s, still in real time
    assert state.transport.dropped == 4  # 4, 5, 7, 8 (the first frame after play is no drop)


def test_frame_times_use_the_rational_rate() -> None:
    t = Transport(frame_count=1000, fps=Fraction(24000, 1001), time_source=FakeTime())
    t.seek_frame(719)
    assert t.frame_time_s == pytest.approx(719 * 1001 / 24000)
    assert t.frame == 719 and t.seek_time(t.frame_time_s) == 719
    assert timecode(t.frame_time_s, t.fps) == "00:00:29:23"


def test_track_drives_focus_until_the_user_takes_over() -> None:
    from rackfocus_live.timeline.keyframes import FocusTrack, Key

    state = make_state()
    track = FocusTrack([Key(0.0, 8.0), Key(1.0, 2.0)], fps=Fraction(24), space="linear")
    state.set_track(track)
    assert state.follow_track
    state.seek(12)  # 0.5 s
    state.update(now=0.0)
    assert state.lens.focus_m == pytest.approx(5.0)
    state.set_focus(3.0)  # the slider takes over
    assert not state.follow_track
    state.seek(24)
    state.update(now=0.0)
    assert state.lens.focus_m == 3.0


def test_invalid_lens_change_is_refused_with_a_message() -> None:
    state = make_state()
    assert state.set_lens(f_stop=-1.0) is False
    assert state.lens.f_stop == 2.8 and state.message and "f-stop" in state.message
    assert state.set_lens(f_stop=1.4) is True and state.lens.f_stop == 1.4


def test_dropped_files_are_sorted_into_clip_depth_and_pull(tmp_path: Path) -> None:
    from rackfocus_live.ui.files import sort_dropped

    clip, depth = tmp_path / "shot.mp4", tmp_path / "shot_depth.mkv"
    clip.write_bytes(b"x")
    depth.write_bytes(b"x")
    keys = tmp_path / "pull.json"
    both = sort_dropped([keys, depth, clip])
    assert (both.clip, both.depth, both.keys) == (clip, depth, keys)
    alone = sort_dropped([clip])
    assert alone.clip == clip and alone.depth == depth  # found next to the clip
    only_depth = sort_dropped([tmp_path / "frame_0001.exr"])
    assert only_depth.clip is None and only_depth.depth == tmp_path / "frame_0001.exr"
    assert sort_dropped([keys]).keys == keys and sort_dropped([keys]).clip is None


def test_recording_a_live_pull_makes_keys_and_saves(tmp_path: Path) -> None:
    from rackfocus_live.timeline.keyfile import load_pull
    from rackfocus_live.ui.pulls import PullController

    now = FakeTime()
    state = make_state(frames=48, clock=now)
    state.image_size = (640, 360)
    pulls = PullController(state)
    pulls.toggle_record()
    assert pulls.recording and state.track is not None and len(state.track.keys) == 0
    state.toggle_play()
    for i in range(24):  # one second, focus racked from 8 m to 2 m in inverse distance
        now.t += 1 / 24
        state.tick(now.t)
        state.set_focus(1 / (1 / 8 + (1 / 2 - 1 / 8) * i / 23))
        pulls.sample(state.transport.frame_time_s, state.focus_m)
    pulls.toggle_record()
    assert not pulls.recording and state.follow_track
    track = state.track
    assert track is not None and 2 <= len(track.keys) <= 6  # simplified, not one per frame
    assert track.evaluate(track.keys[0].time) == pytest.approx(8.0, rel=0.02)
    assert track.evaluate(track.keys[-1].time) == pytest.approx(2.0, rel=0.02)
    assert state.message is not None and "recorded" in state.message
    assert pulls.save(None, tmp_path / "take.json")
    assert load_pull(tmp_path / "take.json").pull.track.keys == track.keys
    assert not pulls.open(tmp_path / "missing.json", None)
    assert state.message is not None and "missing.json" in state.message
