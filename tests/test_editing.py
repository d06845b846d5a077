"""Pure curve-editor edits and mark actions (what the ImPlot view calls)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from rackfocus_live.timeline import editing
from rackfocus_live.timeline.easing import get_easing
from rackfocus_live.timeline.keyframes import FocusTrack, Key, Mark
from rackfocus_live.timeline.marks import (
    apply_mark_action,
    label_for_slot,
    next_free_label,
)

FPS = Fraction(24)


def track() -> FocusTrack:
    return FocusTrack([Key(0.0, 4.0, easing=get_easing("quad-in-out")), Key(2.0, 1.0),
                       Key(4.0, 8.0)], fps=FPS, marks=[Mark("A", "railing", 2.0)])


def test_add_key_on_the_curve_keeps_the_shape() -> None:
    t = track()
    new, i = editing.add_key(t, 1.25)
    assert i == 1 and len(new.keys) == 4
    times = np.linspace(-1, 5, 301)
    np.testing.assert_allclose(new.evaluate_many(times), t.evaluate_many(times), rtol=1e-12)
    moved, j = editing.add_key(t, 3.0, 2.5)
    assert moved.keys[j].focus_m == 2.5 and moved.evaluate(3.0) == 2.5
    first, k = editing.add_key(FocusTrack(fps=FPS), 1.0, None, default_focus_m=3.0)
    assert k == 0 and first.keys == (Key(1.0, 3.0),)


def test_move_key_snaps_to_frames_marks_and_keeps_order() -> None:
    t = track()
    moved = editing.move_key(t, 1, 2.013, 2.03, snap_ratio=1.04)
    key = moved.keys[1]
    assert key.time == 2.0 and key.focus_m == 2.0 and key.mark == "A"
    free = editing.move_key(moved, 1, 2.0, 3.0, snap_ratio=1.04)
    assert free.keys[1].mark is None and free.keys[1].focus_m == 3.0
    # Cannot pass a neighbour: stops one frame short of it.
    assert editing.move_key(t, 1, 10.0, 1.0).keys[1].time == pytest.approx(4.0 - 1 / 24)
    assert editing.move_key(t, 1, -3.0, 1.0).keys[1].time == pytest.approx(1 / 24)
    assert editing.move_key(t, 0, 0.0, 1e12).keys[0].focus_m == 1e6  # clamped


def test_delete_and_easing_and_f_stop() -> None:
    t = track()
    assert [k.time for k in editing.delete_key(t, 1).keys] == [0.0, 4.0]
    eased = editing.set_segment_easing(t, 1, get_easing("hold"))
    assert eased.evaluate(3.9) == 1.0
    assert editing.set_key_f_stop(t, 2, 5.6).evaluate_f_stop(4.0) == 5.6


def test_marks_link_keys_and_move_them() -> None:
    t = editing.snap_key_to_mark(track(), 2, "A")
    assert t.keys[2].focus_m == 2.0 and t.keys[2].mark == "A"
    moved = editing.set_mark(t, "A", 2.5)
    assert moved.keys[2].focus_m == 2.5 and moved.mark("A") == Mark("A", "railing", 2.5)
    added = editing.set_mark(moved, "B", 7.0, "face")
    assert [m.title for m in added.marks] == ["A: railing", "B: face"]
    gone = editing.remove_mark(added, "A")
    assert gone.keys[2].mark is None and gone.keys[2].focus_m == 2.5
    with pytest.raises(KeyError):
        editing.snap_key_to_mark(gone, 0, "A")


def test_pull_to_mark_lands_on_the_mark() -> None:
    t = track()
    pulled = editing.pull_to_mark(t, 1.0, "A", 1.5, get_easing("sine-in-out"))
    assert pulled.evaluate(2.5) == 2.0 and pulled.keys[2].mark == "A"
    assert pulled.evaluate(1.0) == pytest.approx(t.evaluate(1.0))
    assert [k.time for k in pulled.keys] == [0.0, 1.0, 2.5, 4.0]  # the key at 2 s was inside
    np.testing.assert_allclose(pulled.evaluate_many([0.0, 0.5]), t.evaluate_many([0.0, 0.5]),
                               rtol=1e-12)
    with pytest.raises(ValueError):
        editing.pull_to_mark(t, 1.0, "A", 0.0, get_easing("linear"))


def test_mark_actions() -> None:
    empty = FocusTrack(fps=FPS)
    assert label_for_slot(1) == "A" and label_for_slot(9) == "I"
    assert next_free_label(track().marks) == "B"
    jump = apply_mark_action(empty, "jump", "A", playhead_s=0.0, current_focus_m=3.0)
    assert jump.track is empty and jump.focus_m is None and "no mark A" in jump.message
    setm = apply_mark_action(empty, "set", "A", playhead_s=0.0, current_focus_m=3.0)
    assert setm.track.mark("A") is not None and setm.track.mark("A").focus_m == 3.0
    jump = apply_mark_action(setm.track, "jump", "A", playhead_s=0.0, current_focus_m=9.0)
    assert jump.focus_m == 3.0 and jump.track is setm.track
    pull = apply_mark_action(setm.track, "pull", "A", playhead_s=1.0, current_focus_m=9.0,
                             pull_duration_s=2.0, pull_easing="no-such-ease")
    assert pull.track.evaluate(1.0) == 9.0 and pull.track.evaluate(3.0) == 3.0
    assert pull.track.keys[0].easing == get_easing("ease-in-out")  # unknown name: default


def test_key_near_and_curve_points() -> None:
    t = track()
    assert editing.key_near(t, 2.02, 1.01, 0.05) == 1
    assert editing.key_near(t, 2.5, 1.0, 0.05) is None
    ts, fs = editing.curve_points(t, 0.0, 4.0, 64)
    assert {0.0, 2.0, 4.0} <= set(ts.tolist()) and np.all(np.diff(ts) > 0)
    assert np.array_equal(fs, t.evaluate_many(ts))
    assert editing.curve_points(FocusTrack(), 0, 1)[0].size == 0
