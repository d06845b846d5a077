"""Recording: simplification within the CoC tolerance, punch-in, undo/redo, takes."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from rackfocus_live.lens import LensState
from rackfocus_live.timeline.easing import get_easing
from rackfocus_live.timeline.keyframes import FocusTrack, Key, Samples, frame_times
from rackfocus_live.timeline.recorder import Recorder, punch_in, resimplify
from rackfocus_live.timeline.simplify import CocTolerance, fit_keys
from rackfocus_live.timeline.undo import TrackEditor

FPS = Fraction(24000, 1001)
LENS = LensState(focal_length_mm=50.0, f_stop=2.8, sensor_width_mm=36.0)
WIDTH = 1920


def coc_error_px(lens: LensState, fit_m: np.ndarray, rec_m: np.ndarray,
                 depths: tuple[float, ...] = (0.5, 1.0, 3.0, 10.0, math.inf)) -> float:
    """Independent check through LensState.coc_px: worst CoC difference over subject depths."""
    worst = 0.0
    for s_fit, s_rec in zip(fit_m, rec_m, strict=True):
        a = lens.with_focus(float(s_fit)).coc_px(np.array(depths), WIDTH)
        b = lens.with_focus(float(s_rec)).coc_px(np.array(depths), WIDTH)
        worst = max(worst, float(np.max(np.abs(a - b))))
    return worst


def pull_and_hold(t: np.ndarray) -> np.ndarray:
    """Hold 5 m for 1.5 s, a smootherstep pull (in metres) to 1.2 m over 2.5 s, then hold."""
    x = np.clip((t - 1.5) / 2.5, 0.0, 1.0)
    s = x * x * x * (x * (6 * x - 15) + 10)
    return 5.0 + (1.2 - 5.0) * s


def perform(recorder: Recorder, times: np.ndarray, focus: np.ndarray) -> None:
    for t, f in zip(times, focus, strict=True):
        recorder.sample(float(t), float(f))


@pytest.mark.parametrize("breathing", [True, False])
def test_smooth_pull_and_hold_become_few_keys_within_half_a_pixel(breathing: bool) -> None:
    lens = LensState(focal_length_mm=50.0, f_stop=2.8, focus_breathing=breathing)
    editor = TrackEditor(FocusTrack(fps=FPS))
    recorder = Recorder(editor, CocTolerance(lens, WIDTH, 0.5, (0.5, math.inf)))
    recorder.arm()
    times = frame_times(144, FPS)
    focus = pull_and_hold(times)
    perform(recorder, times, focus)
    take = recorder.stop()
    assert take is not None
    track = editor.track
    assert 3 <= len(track.keys) <= 6
    fitted = track.bake(144)
    assert take.max_error_px <= 0.5
    assert coc_error_px(lens, fitted, focus) <= 0.5 + 1e-9
    # The holds really are holds: the first and the last key sit at the performance's ends.
    assert track.keys[0].time == 0.0 and track.keys[0].focus_m == 5.0
    assert track.keys[-1].focus_m == pytest.approx(1.2)
    assert track.samples == take.samples and len(track.samples) == 144


def test_a_tighter_tolerance_needs_more_keys() -> None:
    times = frame_times(144, FPS)
    focus = pull_and_hold(times)
    counts = [len(fit_keys(times, focus, CocTolerance(LENS, WIDTH, tol))) for tol in (4.0, 0.05)]
    assert counts[0] < counts[1]
    keys = fit_keys(times, focus, CocTolerance(LENS, WIDTH, 0.05))
    fitted = FocusTrack(keys, fps=FPS).bake(144)
    assert coc_error_px(LENS, fitted, focus) <= 0.05 + 1e-9


def test_an_exact_ease_is_found_as_one_segment() -> None:
    truth = FocusTrack([Key(0.0, 6.0, easing=get_easing("sine-in-out")), Key(2.0, 1.5)], fps=FPS)
    times = frame_times(int(2 * 24000 / 1001) + 1, FPS)
    times = times[times <= 2.0]
    keys = fit_keys(times, truth.evaluate_many(times), CocTolerance(LENS, WIDTH))
    assert len(keys) <= 3
    fitted = FocusTrack(keys, fps=FPS).evaluate_many(times)
    assert coc_error_px(LENS, fitted, truth.evaluate_many(times)) <= 0.5 + 1e-9


def test_click_to_focus_jump_is_kept() -> None:
    times = frame_times(48, FPS)
    focus = np.where(times < 1.0, 8.0, 1.0)
    keys = fit_keys(times, focus, CocTolerance(LENS, WIDTH))
    fitted = FocusTrack(keys, fps=FPS).evaluate_many(times)
    assert np.array_equal(fitted, focus)
    assert len(keys) <= 4


def test_coc_tolerance_matches_the_lens() -> None:
    flat = LensState(focal_length_mm=35, f_stop=1.4, focus_breathing=False)
    tol = CocTolerance(flat, WIDTH, 0.5, (1.0, 20.0))
    k = flat.coc_scale_px(WIDTH)
    # Without breathing the difference is K * |1/S1 - 1/S2| whatever the subject depth.
    assert tol.error_px(2.0, 2.5) == pytest.approx(k * abs(1 / 2.0 - 1 / 2.5))
    assert coc_error_px(flat, np.array([2.0]), np.array([2.5])) == pytest.approx(
        k * abs(1 / 2.0 - 1 / 2.5))
    breathing = CocTolerance(LENS, WIDTH, 0.5, (0.5, math.inf))
    for s1, s2 in ((0.6, 0.7), (3.0, 5.0)):
        got = float(breathing.error_px(s1, s2))
        assert got == pytest.approx(coc_error_px(LENS, np.array([s1]), np.array([s2]),
                                                 (0.5, math.inf)))


def test_punch_in_replaces_only_the_recorded_span() -> None:
    base = FocusTrack(
        [Key(0.0, 3.0, easing=get_easing("sine-in-out")), Key(2.5, 1.0, 2.8,
         easing=get_easing("bounce-out")), Key(5.0, 6.0, 4.0, easing=get_easing("ease")),
         Key(7.0, 2.0)],
        fps=FPS,
        samples=Samples([0.1, 0.2, 4.0, 6.5], [3.0, 3.0, 2.0, 2.5]),
    )
    editor = TrackEditor(base)
    recorder = Recorder(editor, CocTolerance(LENS, WIDTH))
    recorder.arm()
    frames = np.arange(48, 97)  # 2.0 s .. 4.0 s
    times = frame_times(200, FPS)[frames]
    focus = 1.5 + 0.5 * np.sin(times * 3.0)
    perform(recorder, times, focus)
    recorder.stop()
    after = editor.track
    before_all, after_all = base.bake(200), after.bake(200)
    outside = (np.arange(200) < 48) | (np.arange(200) > 96)
    np.testing.assert_allclose(after_all[outside], before_all[outside], rtol=1e-12, atol=0)
    np.testing.assert_allclose(after.bake_f_stop(200)[outside], base.bake_f_stop(200)[outside],
                               rtol=1e-12)
    assert coc_error_px(LENS, after_all[frames], focus) <= 0.5 + 1e-9
    # Samples: the take replaced the old ones in its span only.
    assert after.samples.time.tolist()[:2] == [0.1, 0.2] and after.samples.time[-1] == 6.5
    assert 4.0 not in after.samples.time.tolist()
    assert len(after.samples) == 3 + len(frames)


def test_punch_in_from_frame_zero_into_a_later_track() -> None:
    base = FocusTrack([Key(5.0, 2.0), Key(6.0, 4.0)], fps=FPS)
    times = frame_times(24, FPS)
    new = punch_in(base, [Key(0.0, 1.0), Key(float(times[-1]), 1.0)],
                   Samples(times, np.ones(24)))
    assert np.array_equal(new.evaluate_many(times), np.ones(24))
    late = np.linspace(5.0, 9.0, 50)
    np.testing.assert_allclose(new.evaluate_many(late), base.evaluate_many(late), rtol=1e-12)


def test_undo_redo_round_trips_a_take_and_edits() -> None:
    base = FocusTrack([Key(0.0, 3.0), Key(4.0, 1.0)], fps=FPS)
    editor = TrackEditor(base)
    recorder = Recorder(editor, CocTolerance(LENS, WIDTH))
    recorder.arm()
    times = frame_times(48, FPS)
    perform(recorder, times + 1.0, pull_and_hold(times))
    recorder.stop()
    recorded = editor.track
    assert recorded != base and editor.undo_label == "record"
    assert editor.undo() == "record" and editor.track == base
    assert editor.redo() == "record" and editor.track == recorded
    assert editor.redo() is None
    editor.apply("move", lambda t: t.replace(keys=[Key(0.0, 2.0), *t.keys[1:]]))
    assert editor.undo() == "move" and editor.track == recorded
    assert editor.undo() == "record" and editor.undo() is None and editor.track == base


def test_drag_edits_merge_into_one_step() -> None:
    editor = TrackEditor(FocusTrack([Key(0.0, 3.0), Key(1.0, 1.0)]))
    start = editor.track
    for f in (2.9, 2.8, 2.7):
        editor.apply("move key", lambda t, f=f: t.replace(keys=[Key(0.0, f), t.keys[1]]),
                     merge=("move", 0))
    editor.seal()
    editor.apply("move key", lambda t: t.replace(keys=[Key(0.0, 2.0), t.keys[1]]),
                 merge=("move", 0))
    assert editor.track.keys[0].focus_m == 2.0
    editor.undo()
    assert editor.track.keys[0].focus_m == 2.7
    editor.undo()
    assert editor.track == start
    assert not editor.apply("noop", start)  # an edit that changes nothing is not a step


def test_a_seek_back_ends_a_part_and_disarm_commits_the_take_as_one_step() -> None:
    editor = TrackEditor(FocusTrack(fps=FPS))
    recorder = Recorder(editor, CocTolerance(LENS, WIDTH))
    recorder.sample(0.0, 2.0)  # not armed: ignored
    assert not recorder.recording
    recorder.arm()
    for t in (1.0, 1.1, 1.2):
        recorder.sample(t, 2.0)
    recorder.sample(1.2, 2.5)  # the same frame again: latest value wins
    recorder.sample(0.5, 3.0)  # a seek back: the first part ends there
    recorder.sample(0.6, 3.0)
    assert [p.focus_m.tolist() for p in recorder.pending_parts()] == [[2.0, 2.0, 2.5],
                                                                      [3.0, 3.0]]
    take = recorder.disarm()
    assert take is not None and take.spans == ((1.0, 1.2), (0.5, 0.6)) and not recorder.armed
    assert editor.undo_label == "record" and editor.track.evaluate(0.55) == 3.0
    assert editor.track.evaluate(1.1) == 2.0
    editor.undo()  # both parts in one step
    assert not editor.track.keys


def test_a_take_replaces_exactly_the_keys_inside_its_range() -> None:
    old = [Key(t, 9.0) for t in (0.0, 0.1, 2.0, 5.0, 9.6, 9.7)]
    editor = TrackEditor(FocusTrack(old, fps=Fraction(10)))
    recorder = Recorder(editor, CocTolerance(LENS, WIDTH), duration_s=10.0)
    recorder.arm()
    for t in np.arange(1.0, 6.01, 0.3):  # a slow preview: every third frame shown
        recorder.sample(float(t), 2.0)
    take = recorder.stop(end_s=6.5)  # stopped at 6.5 s: held up to there
    assert take is not None and take.end_s == 6.5
    track = editor.track
    times = [k.time for k in track.keys]
    assert 2.0 not in times and 5.0 not in times  # old keys inside the take: gone
    assert {0.0, 0.1, 9.6, 9.7} <= set(times)  # outside: kept
    assert track.evaluate_many(np.linspace(1.0, 6.5, 56)).tolist() == pytest.approx([2.0] * 56)


def test_a_take_that_wraps_around_the_loop_covers_both_ends() -> None:
    """Recording from 6 s through the loop's end to 3 s: one take, 6 s..end and 0..3 s."""
    fps = Fraction(10)
    old = [Key(t, 9.0) for t in (0.0, 0.1, 5.0, 9.6, 9.7)]
    editor = TrackEditor(FocusTrack(old, fps=fps))
    recorder = Recorder(editor, CocTolerance(LENS, WIDTH), duration_s=10.0)
    recorder.arm()
    for t in np.arange(6.0, 9.55, 0.4):  # the last frame shown before the wrap: 9.2 s
        recorder.sample(round(float(t), 3), 2.0)
    for t in np.arange(0.3, 3.01, 0.4):  # the first after it: 0.3 s
        recorder.sample(round(float(t), 3), 4.0)
    take = recorder.stop(end_s=3.0)
    assert take is not None
    assert take.spans == ((6.0, 9.9), (0.0, 3.0))
    assert take.describe() == f"recorded {len(take.keys)} keys (6.00-9.90 s + 0.00-3.00 s)"
    track = editor.track
    kept = [k.time for k in track.keys if k.focus_m == 9.0]
    assert 5.0 in kept and all(3.0 < t < 6.0 for t in kept)  # only what lies between
    assert track.evaluate_many(np.linspace(0.0, 3.0, 31)).tolist() == pytest.approx([4.0] * 31)
    assert track.evaluate_many(np.linspace(6.0, 9.9, 40)).tolist() == pytest.approx([2.0] * 40)
    editor.undo()
    assert editor.track.keys == tuple(old)


def test_a_hold_then_a_move_stays_a_hold_then_a_move() -> None:
    """Hold 2.43 m until 4.0 s, then pull to 2.82 m: not one ramp from start to end, even
    though the whole move is within a pixel of blur (35 mm f/1.4 on 640 px)."""
    lens = LensState(focal_length_mm=35.0, f_stop=1.4, sensor_width_mm=36.0,
                     focus_breathing=False)
    tol = CocTolerance(lens, 640, 0.5, (1.0, 9.0))
    times = np.round(np.arange(0.2, 9.6, 0.4), 3)  # a 2.5 fps preview
    focus = np.where(times < 4.0, 2.43, 2.82)
    keys = fit_keys(times, focus, tol)
    track = FocusTrack(keys, fps=Fraction(24))
    assert track.evaluate_many(times).tolist() == focus.tolist()  # every sample as performed
    assert track.evaluate(2.0) == 2.43 and track.evaluate(6.0) == 2.82  # flat, not a ramp


def test_resimplify_with_a_looser_tolerance_keeps_the_raw_take() -> None:
    editor = TrackEditor(FocusTrack(fps=FPS))
    recorder = Recorder(editor, CocTolerance(LENS, WIDTH, 0.1))
    recorder.arm()
    times = frame_times(144, FPS)
    rng = np.random.default_rng(3)
    focus = pull_and_hold(times) * (1 + 0.01 * rng.standard_normal(times.shape))
    perform(recorder, times, focus)
    recorder.stop()
    tight = editor.track
    loose, n = resimplify(tight, CocTolerance(LENS, WIDTH, 4.0))
    assert n == len(loose.keys) < len(tight.keys)
    assert loose.samples == tight.samples  # the raw take is kept
    err = CocTolerance(LENS, WIDTH, 4.0).error_px(loose.evaluate_many(times), focus)
    assert float(np.max(err)) <= 4.0 + 1e-9


def test_resimplify_at_the_same_tolerance_changes_nothing() -> None:
    # A take fitted again is punched over its own keys: no boundary keys appear beside it
    # (they were 2 extra keys per take, a take starting mid-clip with nothing before it).
    editor = TrackEditor(FocusTrack(fps=FPS))
    tolerance = CocTolerance(LENS, WIDTH, 0.5)
    recorder = Recorder(editor, tolerance)
    recorder.arm()
    times = frame_times(144, FPS)[20:100]
    perform(recorder, times, pull_and_hold(times))
    recorder.stop()
    again, n = resimplify(editor.track, tolerance)
    assert n == len(editor.track.keys)
    assert [(k.time, k.focus_m) for k in again.keys] == [
        (k.time, k.focus_m) for k in editor.track.keys]


def test_live_track_holds_the_take_in_progress_exactly() -> None:
    editor = TrackEditor(FocusTrack([Key(0.0, 4.0)], fps=FPS))
    recorder = Recorder(editor, CocTolerance(LENS, WIDTH))
    recorder.arm()
    times = frame_times(30, FPS)[10:]
    focus = pull_and_hold(times * 3)
    perform(recorder, times, focus)
    live = recorder.live_track()
    assert np.array_equal(live.evaluate_many(times), focus)
    assert len(live.samples) == len(times)
    assert editor.track == FocusTrack([Key(0.0, 4.0)], fps=FPS)  # nothing committed yet
    recorder.cancel()
    assert recorder.stop() is None
