"""Pure edits of a FocusTrack, used by the curve editor and the keyboard commands.

Every function takes a track and returns a new one (tracks are immutable), so the editor can
keep an undo stack of tracks and the UI stays a thin layer over these functions.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from rackfocus_live.timeline.easing import Easing
from rackfocus_live.timeline.keyframes import (
    MAX_FOCUS_M,
    MIN_FOCUS_M,
    TIME_EPS,
    FloatArray,
    FocusTrack,
    Key,
    Mark,
)

#: Default snapping distance to a mark, as a ratio of distances (log scale: 4 % either side).
SNAP_RATIO = 1.04


def clamp_focus(focus_m: float) -> float:
    """Focus clamped to what a key can hold."""
    return min(max(focus_m, MIN_FOCUS_M), MAX_FOCUS_M)


def snap_time(track: FocusTrack, time_s: float) -> float:
    """``time_s`` moved to the nearest frame time of the track's frame rate."""
    return track.time_of(track.frame_of(time_s))


def add_key(
    track: FocusTrack,
    time_s: float,
    focus_m: float | None = None,
    *,
    default_focus_m: float = 2.0,
) -> tuple[FocusTrack, int]:
    """Add a key at ``time_s``; on the existing curve unless ``focus_m`` is given.

    On an empty track the key takes ``focus_m`` or ``default_focus_m``.

    Returns:
        The new track and the index of the key at ``time_s``.
    """
    if not track.keys:
        new = track.replace(keys=[Key(time_s, clamp_focus(focus_m or default_focus_m))])
        return new, 0
    new = track.split_at(time_s)
    index = new.index_at(time_s)
    assert index is not None
    if focus_m is not None:
        keys = list(new.keys)
        keys[index] = replace(keys[index], focus_m=clamp_focus(focus_m), mark=None)
        new = new.replace(keys=keys)
    return new, index


def delete_key(track: FocusTrack, index: int) -> FocusTrack:
    """The track without key ``index``."""
    keys = list(track.keys)
    del keys[index]
    return track.replace(keys=keys)


def move_key(
    track: FocusTrack,
    index: int,
    time_s: float,
    focus_m: float,
    *,
    snap_ratio: float | None = None,
    snap_frames: bool = True,
) -> FocusTrack:
    """Move key ``index`` to (time_s, focus_m), keeping key order.

    With ``snap_frames`` the time lands on a frame (a drag is never exactly on one). The time is
    clamped to at least one frame after the previous key and one frame before the
    next one, so a drag can never reorder keys or stack two keys on one frame. When
    ``snap_ratio`` is given and the focus lands within that ratio of a mark, the key snaps to the
    mark and is linked to it; otherwise any link is cleared.
    """
    keys = list(track.keys)
    frame = float(track.fps.denominator) / track.fps.numerator
    lo = keys[index - 1].time + frame if index > 0 else -math.inf
    hi = keys[index + 1].time - frame if index + 1 < len(keys) else math.inf
    t = snap_time(track, time_s) if snap_frames else time_s
    t = keys[index].time if lo > hi + TIME_EPS else min(max(t, lo), hi)
    focus, label = clamp_focus(focus_m), None
    if snap_ratio is not None:
        mark = nearest_mark(track.marks, focus, snap_ratio)
        if mark is not None:
            focus, label = mark.focus_m, mark.label
    keys[index] = replace(keys[index], time=t, focus_m=focus, mark=label)
    return track.replace(keys=keys)


def set_segment_easing(track: FocusTrack, index: int, easing: Easing) -> FocusTrack:
    """Set the easing of the segment that starts at key ``index``."""
    keys = list(track.keys)
    keys[index] = replace(keys[index], easing=easing)
    return track.replace(keys=keys)


def set_key_f_stop(track: FocusTrack, index: int, f_stop: float | None) -> FocusTrack:
    """Set (or clear, with None) the f-stop of key ``index``."""
    keys = list(track.keys)
    keys[index] = replace(keys[index], f_stop=f_stop)
    return track.replace(keys=keys)


# -- marks ---------------------------------------------------------------------------------------


def nearest_mark(marks: tuple[Mark, ...], focus_m: float, ratio: float) -> Mark | None:
    """The mark closest to ``focus_m`` in log distance, if within ``ratio`` (e.g. 1.04)."""
    best, best_d = None, math.log(ratio)
    for m in marks:
        d = abs(math.log(m.focus_m / focus_m))
        if d <= best_d:
            best, best_d = m, d
    return best


def set_mark(track: FocusTrack, label: str, focus_m: float, name: str | None = None) -> FocusTrack:
    """Create or move mark ``label`` to ``focus_m``; keys linked to it follow.

    ``name`` None keeps the existing name (or empty for a new mark).
    """
    old = track.mark(label)
    mark = Mark(label, name if name is not None else (old.name if old else ""), focus_m)
    marks = [mark if m.label == label else m for m in track.marks]
    if old is None:
        marks.append(mark)
        marks.sort(key=lambda m: m.label)
    keys = [replace(k, focus_m=focus_m) if k.mark == label else k for k in track.keys]
    return track.replace(keys=keys, marks=marks)


def remove_mark(track: FocusTrack, label: str) -> FocusTrack:
    """Remove mark ``label``; keys linked to it keep their focus and lose the link."""
    keys = [replace(k, mark=None) if k.mark == label else k for k in track.keys]
    return track.replace(keys=keys, marks=[m for m in track.marks if m.label != label])


def snap_key_to_mark(track: FocusTrack, index: int, label: str) -> FocusTrack:
    """Set key ``index`` to mark ``label``'s focus and link it.

    Raises:
        KeyError: if there is no such mark.
    """
    mark = track.mark(label)
    if mark is None:
        raise KeyError(label)
    keys = list(track.keys)
    keys[index] = replace(keys[index], focus_m=mark.focus_m, mark=label)
    return track.replace(keys=keys)


def pull_to_mark(
    track: FocusTrack,
    time_s: float,
    label: str,
    duration_s: float,
    easing: Easing,
    *,
    current_focus_m: float | None = None,
) -> FocusTrack:
    """A pull starting at ``time_s`` that lands on mark ``label`` ``duration_s`` later.

    The start key sits on the current curve (or at ``current_focus_m`` on an empty track); keys
    inside the pull are removed; the landing key is linked to the mark and keeps the value after
    it (later keys stay).

    Raises:
        KeyError: if there is no such mark.
        ValueError: if ``duration_s`` is not positive.
    """
    mark = track.mark(label)
    if mark is None:
        raise KeyError(label)
    if not duration_s > 0:
        raise ValueError("pull duration must be > 0")
    start_focus = current_focus_m if current_focus_m is not None else mark.focus_m
    track, i = add_key(track, time_s, None if track.keys else start_focus)
    end = time_s + duration_s
    keys = [k for k in track.keys if not (time_s + TIME_EPS < k.time <= end + TIME_EPS)]
    keys[i] = replace(keys[i], easing=easing)
    keys.insert(i + 1, Key(end, mark.focus_m, keys[i].f_stop, easing, label))
    return track.replace(keys=keys)


# -- hit testing and drawing ---------------------------------------------------------------------


def key_near(
    track: FocusTrack, time_s: float, focus_m: float, time_tol_s: float, ratio: float = SNAP_RATIO
) -> int | None:
    """Index of the key nearest (time_s, focus_m) within the tolerances, or None."""
    best, best_d = None, math.inf
    log_tol = math.log(ratio)
    for i, k in enumerate(track.keys):
        dt = abs(k.time - time_s) / time_tol_s
        df = abs(math.log(k.focus_m / focus_m)) / log_tol
        d = max(dt, df)
        if d <= 1.0 and d < best_d:
            best, best_d = i, d
    return best


def curve_points(
    track: FocusTrack, t0: float, t1: float, count: int = 512
) -> tuple[FloatArray, FloatArray]:
    """(times, focus) to draw the curve over [t0, t1]; includes every key time inside so
    holds and corners are drawn sharp (a hold is drawn as a step just before its next key)."""
    if not track.keys or not t1 > t0:
        return np.zeros(0), np.zeros(0)
    ts = np.linspace(t0, t1, max(count, 2))
    key_t = np.array([k.time for k in track.keys])
    inside = key_t[(key_t > t0) & (key_t < t1)]
    # A point just before each key makes steps (hold) vertical instead of slanted.
    before = inside - min(1e-6, (t1 - t0) * 1e-6)
    ts = np.unique(np.concatenate([ts, inside, before]))
    return ts, track.evaluate_many(ts)
