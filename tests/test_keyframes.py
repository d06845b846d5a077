"""FocusTrack: evaluation at, between, before and after keys; spaces; baking; splitting."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from rackfocus_live.lens import LensState
from rackfocus_live.timeline.easing import cubic_bezier, easing_names, get_easing
from rackfocus_live.timeline.keyframes import (
    MAX_FOCUS_M,
    FocusTrack,
    Key,
    Mark,
    Samples,
    frame_times,
)

NTSC = Fraction(24000, 1001)


def two_keys(space: str = "inverse", easing: str = "linear") -> FocusTrack:
    return FocusTrack([Key(1.0, 1.0, easing=get_easing(easing)), Key(3.0, 10.0)], space=space)


def busy_track(fps: Fraction = NTSC) -> FocusTrack:
    """Every kind of segment, including overshoot and a slice."""
    names = ["hold", "sine-in-out", "ease", "back-out", "elastic-in", "bounce-out", "expo-in"]
    keys = [Key(0.25 + 0.6 * i, [4.0, 1.2, 7.5, 2.0, 3.3, 0.8, 12.0, 2.5][i],
                f_stop=[2.0, None, 4.0, None, 1.4, 5.6, None, 2.8][i],
                easing=get_easing(names[i]) if i < len(names) else get_easing("linear"))
            for i in range(8)]
    keys.append(Key(5.2, 3.0, easing=cubic_bezier(0.1, 0.8, 0.3, 1.0)))
    keys.append(Key(5.9, 1.7, easing=get_easing("quad-in").sliced(0.2, 0.9)))
    keys.append(Key(6.5, 2.2))
    return FocusTrack(keys, fps=fps)


def test_at_keys_values_are_exact() -> None:
    track = busy_track()
    for k in track.keys:
        assert track.evaluate(k.time) == k.focus_m
    times = [k.time for k in track.keys]
    assert track.evaluate_many(times).tolist() == [k.focus_m for k in track.keys]


def test_before_first_and_after_last_hold_the_end_values() -> None:
    track = two_keys()
    assert track.evaluate(-5.0) == 1.0 and track.evaluate(0.999) == 1.0
    assert track.evaluate(3.0001) == 10.0 and track.evaluate(1e6) == 10.0


def test_between_keys_inverse_space_is_even_in_dioptres() -> None:
    track = two_keys("inverse")
    for u in (0.25, 0.5, 0.75):
        want = 1.0 / ((1 - u) * 1.0 + u * 0.1)
        assert track.evaluate(1.0 + 2.0 * u) == pytest.approx(want, rel=1e-14)
    assert track.evaluate(2.0) == pytest.approx(1.0 / 0.55)


def test_between_keys_linear_space_is_even_in_metres() -> None:
    track = two_keys("linear")
    assert track.evaluate(2.0) == pytest.approx(5.5, rel=1e-14)
    assert track.evaluate(1.5) == pytest.approx(3.25, rel=1e-14)


def test_inverse_pull_changes_blur_evenly() -> None:
    """Why inverse is the default: the CoC of any subject changes linearly in time."""
    lens = LensState(focal_length_mm=50, f_stop=2, focus_breathing=False)
    times = np.linspace(1.0, 3.0, 41)
    for space, even in (("inverse", True), ("linear", False)):
        focus = two_keys(space).evaluate_many(times)
        coc = np.array([lens.with_focus(float(f)).coc_px(4.0, 1920) for f in focus])
        steps = np.diff(coc)
        assert np.allclose(steps, steps[0], rtol=1e-9) == even


def test_easing_shapes_the_segment() -> None:
    track = two_keys("inverse", "quad-in")
    # quad-in at u = 0.5 is 0.25 of the way in inverse distance.
    assert track.evaluate(2.0) == pytest.approx(1.0 / (0.75 * 1.0 + 0.25 * 0.1), rel=1e-14)
    hold = two_keys("inverse", "hold")
    assert hold.evaluate(2.999) == 1.0 and hold.evaluate(3.0) == 10.0


def test_single_key_is_constant_and_empty_track_raises() -> None:
    track = FocusTrack([Key(2.0, 3.0)])
    assert track.evaluate(0.0) == track.evaluate(5.0) == 3.0
    with pytest.raises(ValueError, match="no keys"):
        FocusTrack().evaluate(0.0)


def test_bake_equals_per_frame_evaluate_exactly() -> None:
    track = busy_track()
    frames = 180
    baked = track.bake(frames)
    one_by_one = np.array([track.evaluate(track.time_of(n)) for n in range(frames)])
    assert np.array_equal(baked, one_by_one)
    stops = track.bake_f_stop(frames)
    assert stops is not None
    assert np.array_equal(stops, [track.evaluate_f_stop(track.time_of(n)) for n in range(frames)])


def test_cached_index_gives_the_same_answers_in_any_order(rng: np.random.Generator) -> None:
    track = busy_track()
    times = np.concatenate([np.linspace(-1, 8, 500), rng.uniform(-1, 8, 500)])
    sequential = [track.evaluate(float(t)) for t in times]
    assert np.array_equal(sequential, track.evaluate_many(times))
    backwards = [track.evaluate(float(t)) for t in times[::-1]]
    assert np.array_equal(backwards[::-1], sequential)
    assert track.segment_index(-1.0) == -1
    assert track.segment_index(100.0) == len(track.keys) - 1
    assert track.segment_index(track.keys[3].time) == 3


def test_frame_times_are_exact_rationals() -> None:
    times = frame_times(100_000, NTSC)
    for n in (0, 1, 1001, 24000, 99_999):
        assert times[n] == float(Fraction(n) / NTSC)
        assert FocusTrack(fps=NTSC).time_of(n) == times[n]
        assert FocusTrack(fps=NTSC).frame_of(times[n]) == n


def test_f_stop_is_even_in_stops_and_fills_gaps() -> None:
    track = FocusTrack([Key(0.0, 2.0, 2.0), Key(1.0, 2.0, None), Key(2.0, 2.0, 8.0)])
    assert track.evaluate_f_stop(0.5) == pytest.approx(2.0)  # filled from the previous key
    assert track.evaluate_f_stop(1.5) == pytest.approx(4.0)  # halfway in stops: 2 -> 8 is 4
    assert FocusTrack([Key(0.0, 2.0)]).evaluate_f_stop(0.0) is None
    lens = track.lens_at(1.5, LensState(f_stop=11.0))
    assert lens.f_stop == pytest.approx(4.0) and lens.focus_m == 2.0


def test_overshoot_stays_finite_and_positive() -> None:
    for name in ("back-in", "back-out", "elastic-in-out", "elastic-out"):
        for space in ("inverse", "linear"):
            track = FocusTrack([Key(0, 0.5, easing=get_easing(name)), Key(1, 100.0)], space=space)
            v = track.evaluate_many(np.linspace(0, 1, 2001))
            assert np.all(np.isfinite(v)) and v.min() > 0 and v.max() <= MAX_FOCUS_M


@pytest.mark.parametrize("name", easing_names())
def test_split_keeps_the_curve(name: str) -> None:
    fps = Fraction(24)
    track = FocusTrack([Key(0.0, 5.0, 2.0, get_easing(name)), Key(22 / 24, 1.5, 4.0)], fps=fps)
    before = track.bake(30)
    stops = track.bake_f_stop(30)
    for frame in (1, 2, 7, 11, 20):  # 2/24 is a zero of bounce-in: the ill-conditioned case
        split = track.split_at(frame / 24)
        assert split.index_at(frame / 24) is not None
        np.testing.assert_allclose(split.bake(30), before, rtol=1e-12, atol=0)
        np.testing.assert_allclose(split.bake_f_stop(30), stops, rtol=1e-12, atol=0)


def test_split_outside_and_on_keys() -> None:
    track = two_keys()
    assert track.split_at(1.0) is track
    early, late = track.split_at(0.5), track.split_at(4.0)
    assert [k.time for k in early.keys] == [0.5, 1.0, 3.0]
    assert [k.time for k in late.keys] == [1.0, 3.0, 4.0]
    t = np.linspace(-1, 5, 101)
    assert np.array_equal(early.evaluate_many(t), track.evaluate_many(t))
    assert np.array_equal(late.evaluate_many(t), track.evaluate_many(t))


def test_validation() -> None:
    with pytest.raises(ValueError, match="same time"):
        FocusTrack([Key(1.0, 2.0), Key(1.0, 3.0)])
    with pytest.raises(ValueError):
        Key(float("nan"), 2.0)
    with pytest.raises(ValueError):
        Key(0.0, 0.0)
    with pytest.raises(ValueError):
        Key(0.0, 1.0, f_stop=-1.0)
    with pytest.raises(ValueError, match="unique"):
        FocusTrack(marks=[Mark("A", "", 1.0), Mark("A", "x", 2.0)])
    with pytest.raises(ValueError):
        Samples([0.0, 0.0], [1.0, 1.0])


def test_tracks_compare_by_value_and_keys_are_sorted() -> None:
    a = FocusTrack([Key(2, 1.0), Key(1, 2.0)], samples=Samples([0, 1], [1, 2]))
    b = FocusTrack([Key(1.0, 2.0), Key(2.0, 1.0)], samples=Samples([0.0, 1.0], [1.0, 2.0]))
    assert a == b and [k.time for k in a.keys] == [1.0, 2.0]
    assert a != b.replace(space="linear")
    assert a.replace(marks=[Mark("A", "", 1.0)]) != b
