"""FocusTrack: focus keyframes over clip time; the single source of focus in playback and export.

Keys sit at clip-relative times in seconds; the frame index of a time is ``round(t * fps)`` at the
clip's rational frame rate, and frame n is shown at exactly ``n / fps`` seconds (computed from the
``Fraction``, so preview and export agree bit for bit).

Each key carries a focus distance, optionally an f-stop, and the easing of the segment that
follows it. Before the first key the track holds the first key's value, after the last key the
last key's value.

Interpolation space (a track option, ``space``):

``"inverse"`` (default)
    Focus is interpolated in inverse distance (1/m, dioptres). The circle of confusion of any
    subject is linear in 1/S (``lens.py``: c_px = K_px * (1/S - 1/z)), so an even pull in 1/S is
    an even change in blur on screen, which is what a focus puller's "even pull" looks like.
    A linear-in-metres pull from 1 m to 10 m would spend most of its time looking like it has
    already arrived.
``"linear"``
    Focus is interpolated in metres, as most 3D packages do.

f-stops are interpolated in log2 (even in stops); keys without an f-stop take the f-stop of the
nearest earlier key that has one (or the first later one). A track whose keys carry no f-stop has
no f-stop at all (``evaluate_f_stop`` returns None) and leaves the lens's f-stop alone.

FocusTrack is immutable: editing returns a new track (``replace``), which is what makes undo a
stack of tracks. The only mutable state is the cached segment index used by ``evaluate`` to find
the segment of the next frame in O(1) during sequential playback; it is a hint and never changes
a result.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Literal

import numpy as np
import numpy.typing as npt

from rackfocus_live.lens import LensState
from rackfocus_live.timeline.easing import LINEAR, Easing

FloatArray = npt.NDArray[np.float64]
Space = Literal["inverse", "linear"]
SPACES: tuple[Space, ...] = ("inverse", "linear")

#: Evaluated focus is kept within these bounds (metres): overshooting eases (back, elastic) can
#: otherwise push 1/S through zero (focus at or beyond infinity) or below zero.
MIN_FOCUS_M = 1e-3
MAX_FOCUS_M = 1e6
#: Most frames a pull is baked to (per-frame exports, the file's ``baked`` block): 11.5 h at
#: 24 fps. Keys may lie further out; a span beyond this is refused by the exports, not baked.
MAX_BAKE_FRAMES = 1_000_000
#: Keys closer than this in time (seconds) are the same instant.
TIME_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class Key:
    """One keyframe.

    Attributes:
        time: clip-relative time in seconds.
        focus_m: focus distance in metres (> 0).
        f_stop: f-number at this key, or None to leave the iris alone.
        easing: the interpolation of the segment from this key to the next one.
        mark: label of the mark this key was snapped to (moving the mark moves the key), or None.
    """

    time: float
    focus_m: float
    f_stop: float | None = None
    easing: Easing = LINEAR
    mark: str | None = None

    def __post_init__(self) -> None:
        # Plain floats whatever came in (ints, numpy scalars): equality and JSON stay exact.
        object.__setattr__(self, "time", float(self.time))
        object.__setattr__(self, "focus_m", float(self.focus_m))
        if self.f_stop is not None:
            object.__setattr__(self, "f_stop", float(self.f_stop))
        if not math.isfinite(self.time):
            raise ValueError("key time must be finite")
        if not (math.isfinite(self.focus_m) and 0.0 < self.focus_m <= MAX_FOCUS_M):
            raise ValueError(f"key focus must be within (0, {MAX_FOCUS_M:g}] m")
        if self.f_stop is not None and not (math.isfinite(self.f_stop) and self.f_stop > 0):
            raise ValueError("key f-stop must be > 0")


@dataclass(frozen=True, slots=True)
class Mark:
    """A named focus distance on a subject, as a focus puller marks the lens ("A: railing").

    Attributes:
        label: short label, usually one letter ("A").
        name: what the mark is on ("railing"); may be empty.
        focus_m: focus distance in metres.
    """

    label: str
    name: str
    focus_m: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "focus_m", float(self.focus_m))
        if not self.label:
            raise ValueError("mark label must not be empty")
        if not (math.isfinite(self.focus_m) and 0.0 < self.focus_m <= MAX_FOCUS_M):
            raise ValueError(f"mark focus must be within (0, {MAX_FOCUS_M:g}] m")

    @property
    def title(self) -> str:
        """"A: railing" (or just "A" without a name)."""
        return f"{self.label}: {self.name}" if self.name else self.label


class Samples:
    """Raw recorded focus samples (media time of each shown frame, focus, optional f-stop).

    Arrays are read-only, sorted by strictly increasing time; ``f_stop`` is NaN where none was
    recorded.
    """

    __slots__ = ("f_stop", "focus_m", "time")

    def __init__(
        self,
        time: npt.ArrayLike = (),
        focus_m: npt.ArrayLike = (),
        f_stop: npt.ArrayLike | None = None,
    ) -> None:
        t = np.array(time, dtype=np.float64).reshape(-1)
        f = np.array(focus_m, dtype=np.float64).reshape(-1)
        n = np.full(t.shape, np.nan) if f_stop is None else np.array(f_stop, np.float64).reshape(-1)
        if not (t.shape == f.shape == n.shape):
            raise ValueError("sample arrays must have the same length")
        if not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
            raise ValueError("sample times must be finite and strictly increasing")
        if not np.all(np.isfinite(f) & (f > 0)):
            raise ValueError("sample focus must be finite and > 0")
        if np.any(~np.isnan(n) & ~(np.isfinite(n) & (n > 0))):
            raise ValueError("sample f-stop must be > 0 (or missing)")
        for a in (t, f, n):
            a.flags.writeable = False
        self.time, self.focus_m, self.f_stop = t, f, n

    def __len__(self) -> int:
        return int(self.time.shape[0])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Samples):
            return NotImplemented
        return (
            np.array_equal(self.time, other.time)
            and np.array_equal(self.focus_m, other.focus_m)
            and np.array_equal(self.f_stop, other.f_stop, equal_nan=True)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Samples(n={len(self)})"

    @property
    def has_f_stop(self) -> bool:
        return bool(np.any(~np.isnan(self.f_stop)))

    def punched(self, t0: float, t1: float, take: Samples) -> Samples:
        """These samples with everything in [t0, t1] replaced by ``take``."""
        keep = (self.time < t0 - TIME_EPS) | (self.time > t1 + TIME_EPS)
        t = np.concatenate([self.time[keep], take.time])
        order = np.argsort(t, kind="stable")
        return Samples(
            t[order],
            np.concatenate([self.focus_m[keep], take.focus_m])[order],
            np.concatenate([self.f_stop[keep], take.f_stop])[order],
        )


EMPTY_SAMPLES = Samples()


def to_space(focus_m: npt.ArrayLike, space: Space) -> FloatArray:
    """Focus (m) to the interpolation space: 1/m for "inverse", metres for "linear"."""
    f = np.asarray(focus_m, dtype=np.float64)
    return 1.0 / f if space == "inverse" else f.copy()


def from_space(w: npt.ArrayLike, space: Space) -> FloatArray:
    """Inverse of ``to_space``, clamped to [MIN_FOCUS_M, MAX_FOCUS_M]."""
    v = np.asarray(w, dtype=np.float64)
    if space == "inverse":
        return 1.0 / np.clip(v, 1.0 / MAX_FOCUS_M, 1.0 / MIN_FOCUS_M)
    return np.clip(v, MIN_FOCUS_M, MAX_FOCUS_M)


def frame_index(time_s: float, fps: Fraction) -> int:
    """Index of the frame nearest to ``time_s`` (halves round up, unlike ``round``)."""
    return math.floor(time_s * fps.numerator / fps.denominator + 0.5)


def frame_times(frame_count: int, fps: Fraction) -> FloatArray:
    """Exact (correctly rounded) times n / fps of frames 0..frame_count-1."""
    return np.arange(frame_count, dtype=np.float64) * fps.denominator / fps.numerator


class FocusTrack:
    """An immutable focus track; see the module docstring.

    Args:
        keys: keyframes in any order; sorted by time. Two keys at the same time are an error.
        fps: the clip's frame rate (rational, e.g. ``Fraction(24000, 1001)``).
        space: interpolation space of focus, "inverse" (default) or "linear".
        marks: named focus marks, unique labels.
        samples: the raw recorded samples behind the keys, if the pull was recorded live.

    Raises:
        ValueError: for duplicate key times or mark labels, a bad fps or space.
    """

    __slots__ = ("_ease_ids", "_eases", "_f", "_fps", "_keys", "_logn", "_marks", "_samples",
                 "_seg", "_space", "_stops", "_t", "_times", "_w")

    def __init__(
        self,
        keys: Iterable[Key] = (),
        *,
        fps: Fraction | int = Fraction(24),
        space: Space = "inverse",
        marks: Iterable[Mark] = (),
        samples: Samples | None = None,
    ) -> None:
        fps = Fraction(fps)
        if fps <= 0:
            raise ValueError("fps must be > 0")
        if space not in SPACES:
            raise ValueError(f"space must be one of {SPACES}")
        ks = tuple(sorted(keys, key=lambda k: k.time))
        for a, b in itertools.pairwise(ks):
            if b.time - a.time <= TIME_EPS:
                raise ValueError(f"two keys at the same time ({a.time:g} s)")
        ms = tuple(marks)
        if len({m.label for m in ms}) != len(ms):
            raise ValueError("mark labels must be unique")
        self._keys = ks
        self._fps = fps
        self._space: Space = space
        self._marks = ms
        self._samples = samples if samples is not None else EMPTY_SAMPLES
        self._times = [k.time for k in ks]
        self._t = np.array(self._times, dtype=np.float64)
        self._f = np.array([k.focus_m for k in ks], dtype=np.float64)
        self._w = to_space(self._f, space)
        distinct: dict[Easing, int] = {}
        self._ease_ids = np.array([distinct.setdefault(k.easing, len(distinct)) for k in ks],
                                  dtype=np.intp)
        self._eases = list(distinct)
        self._stops = _filled_f_stops(ks)
        self._logn = None if self._stops is None else np.log2(self._stops)
        self._seg = 0

    # -- value semantics ------------------------------------------------------------------------

    @property
    def keys(self) -> tuple[Key, ...]:
        return self._keys

    @property
    def fps(self) -> Fraction:
        return self._fps

    @property
    def space(self) -> Space:
        return self._space

    @property
    def marks(self) -> tuple[Mark, ...]:
        return self._marks

    @property
    def samples(self) -> Samples:
        return self._samples

    def __len__(self) -> int:
        return len(self._keys)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FocusTrack):
            return NotImplemented
        return (
            self._keys == other._keys
            and self._fps == other._fps
            and self._space == other._space
            and self._marks == other._marks
            and self._samples == other._samples
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (f"FocusTrack({len(self._keys)} keys, fps={self._fps}, space={self._space!r}, "
                f"marks={len(self._marks)}, samples={len(self._samples)})")

    def replace(
        self,
        *,
        keys: Iterable[Key] | None = None,
        fps: Fraction | None = None,
        space: Space | None = None,
        marks: Iterable[Mark] | None = None,
        samples: Samples | None = None,
    ) -> FocusTrack:
        """A new track with the given parts replaced."""
        return FocusTrack(
            self._keys if keys is None else keys,
            fps=self._fps if fps is None else fps,
            space=self._space if space is None else space,
            marks=self._marks if marks is None else marks,
            samples=self._samples if samples is None else samples,
        )

    def mark(self, label: str) -> Mark | None:
        """The mark with this label, or None."""
        return next((m for m in self._marks if m.label == label), None)

    # -- time ------------------------------------------------------------------------------------

    def frame_of(self, time_s: float, fps: Fraction | None = None) -> int:
        """Index of the frame shown at ``time_s`` rounded to the nearest frame."""
        return frame_index(time_s, fps or self._fps)

    def time_of(self, frame: int, fps: Fraction | None = None) -> float:
        """Exact time in seconds of frame ``frame`` (same arithmetic as ``frame_times``)."""
        r = fps or self._fps
        return float(np.float64(frame) * r.denominator / r.numerator)

    @property
    def start_s(self) -> float:
        return self._times[0] if self._times else 0.0

    @property
    def end_s(self) -> float:
        return self._times[-1] if self._times else 0.0

    def frame_count_hint(self) -> int:
        """Frames needed to reach the last key (for baking without a known clip length)."""
        return max(self.frame_of(self.end_s), 0) + 1 if self._keys else 0

    # -- evaluation ------------------------------------------------------------------------------

    def segment_index(self, time_s: float) -> int:
        """Index of the key that starts the segment containing ``time_s``; -1 before the first.

        Uses the cached index of the previous call, so sequential playback is O(1); anything
        else falls back to binary search.
        """
        times = self._times
        n = len(times)
        if n == 0 or time_s < times[0]:
            return -1
        if time_s >= times[-1]:
            return n - 1
        i = min(self._seg, n - 2)
        if not times[i] <= time_s < times[i + 1]:
            if i + 2 < n and times[i + 1] <= time_s < times[i + 2]:
                i += 1  # the next frame during playback
            else:
                i = bisect.bisect_right(times, time_s) - 1
        self._seg = i
        return i

    def evaluate(self, time_s: float) -> float:
        """Focus distance (m) at clip time ``time_s``.

        Raises:
            ValueError: if the track has no keys.
        """
        seg = np.array([self.segment_index(time_s)], dtype=np.intp)
        focus, _ = self._evaluate_core(np.array([time_s], dtype=np.float64), seg, False)
        return float(focus[0])

    def evaluate_f_stop(self, time_s: float) -> float | None:
        """f-number at ``time_s``, or None if no key has one."""
        if self._logn is None:
            return None
        seg = np.array([self.segment_index(time_s)], dtype=np.intp)
        _, fstop = self._evaluate_core(np.array([time_s], dtype=np.float64), seg, True)
        assert fstop is not None
        return float(fstop[0])

    def evaluate_many(self, times_s: npt.ArrayLike) -> FloatArray:
        """Focus (m) at each time; same arithmetic as ``evaluate``, vectorised."""
        t = np.asarray(times_s, dtype=np.float64)
        seg = np.searchsorted(self._t, t.reshape(-1), side="right").astype(np.intp) - 1
        focus, _ = self._evaluate_core(t.reshape(-1), seg, False)
        return focus.reshape(t.shape)

    def evaluate_f_stop_many(self, times_s: npt.ArrayLike) -> FloatArray | None:
        """f-number at each time, or None if no key has one."""
        if self._logn is None:
            return None
        t = np.asarray(times_s, dtype=np.float64)
        seg = np.searchsorted(self._t, t.reshape(-1), side="right").astype(np.intp) - 1
        _, fstop = self._evaluate_core(t.reshape(-1), seg, True)
        assert fstop is not None
        return fstop.reshape(t.shape)

    def bake(self, frame_count: int, fps: Fraction | None = None) -> FloatArray:
        """Focus (m) at every frame 0..frame_count-1 (equal to ``evaluate`` at each frame time)."""
        return self.evaluate_many(frame_times(frame_count, fps or self._fps))

    def bake_f_stop(self, frame_count: int, fps: Fraction | None = None) -> FloatArray | None:
        """f-number at every frame, or None if no key has one."""
        return self.evaluate_f_stop_many(frame_times(frame_count, fps or self._fps))

    def lens_at(self, time_s: float, base: LensState) -> LensState:
        """``base`` with this track's focus (and f-stop, if keyed) at ``time_s``.

        Focus is kept just beyond the focal length, which the thin lens needs.
        """
        focus = max(self.evaluate(time_s), base.focal_length_m * 1.001)
        f_stop = self.evaluate_f_stop(time_s)
        return replace(base, focus_m=focus, f_stop=base.f_stop if f_stop is None else f_stop)

    def _evaluate_core(
        self, t: FloatArray, seg: npt.NDArray[np.intp], want_f_stop: bool
    ) -> tuple[FloatArray, FloatArray | None]:
        n = len(self._keys)
        if n == 0:
            raise ValueError("the focus track has no keys")
        before = seg < 0
        after = seg >= n - 1
        s = np.clip(seg, 0, max(n - 2, 0))
        e = np.zeros_like(t)
        if n >= 2:
            inside = ~before & ~after
            t0 = self._t[s]
            u = (t - t0) / (self._t[s + 1] - t0)
            # Grouped by easing, not by segment: a per-frame track (CSV import, autosave of a
            # take) has thousands of segments but only a handful of distinct easings.
            ids = self._ease_ids[s]
            for j in np.unique(ids[inside]):
                sel = inside & (ids == j)
                e[sel] = self._eases[int(j)](u[sel])
        nxt = np.minimum(s + 1, n - 1)
        w = self._w[s] + (self._w[nxt] - self._w[s]) * e
        focus = from_space(w, self._space)
        # Hit key values exactly (1/(1/f) need not round-trip) and hold outside the keys.
        focus = np.where(e == 0.0, self._f[s], np.where(e == 1.0, self._f[nxt], focus))
        focus = np.where(before, self._f[0], np.where(after, self._f[-1], focus))
        if not want_f_stop or self._logn is None:
            return focus, None
        n_stop = self._stops
        assert n_stop is not None
        stop = np.exp2(self._logn[s] + (self._logn[nxt] - self._logn[s]) * e)
        # As for focus: a key's own f-stop exactly, and held outside the keys.
        stop = np.where(e == 0.0, n_stop[s], np.where(e == 1.0, n_stop[nxt], stop))
        stop = np.where(before, n_stop[0], np.where(after, n_stop[-1], stop))
        return focus, stop

    # -- structural edits -----------------------------------------------------------------------

    def index_at(self, time_s: float) -> int | None:
        """Index of the key at ``time_s`` (within TIME_EPS), or None."""
        i = bisect.bisect_left(self._times, time_s - TIME_EPS)
        if i < len(self._times) and abs(self._times[i] - time_s) <= TIME_EPS:
            return i
        return None

    def split_at(self, time_s: float) -> FocusTrack:
        """This track with a key inserted at ``time_s`` on the curve, without changing its shape.

        The segment that contains ``time_s`` is cut into two slices of its easing, so every
        value before and after stays the same. Outside the keys the new key holds the end value.
        Where a slice would be ill-conditioned (an overshooting ease that returns to its start
        value exactly at the cut), that part is rebuilt as linear keys on every frame, which
        still matches the old curve at every frame.

        Raises:
            ValueError: if the track has no keys.
        """
        if not self._keys:
            raise ValueError("the focus track has no keys")
        if self.index_at(time_s) is not None:
            return self
        focus = self.evaluate(time_s)
        f_stop = self.evaluate_f_stop(time_s)
        keys = list(self._keys)
        i = self.segment_index(time_s)
        if i < 0:
            return self.replace(keys=[Key(time_s, focus, f_stop, LINEAR), *keys])
        if i >= len(keys) - 1:
            return self.replace(keys=[*keys, Key(time_s, focus, f_stop, keys[-1].easing)])
        left, right = keys[i], keys[i + 1]
        u = (time_s - left.time) / (right.time - left.time)
        ease = left.easing
        new = Key(time_s, focus, f_stop, ease.sliced(u, 1.0))
        keys[i] = replace(left, easing=ease.sliced(0.0, u))
        extra: list[Key] = []
        if not _slice_well_conditioned(ease, 0.0, u):
            keys[i] = replace(left, easing=LINEAR)
            extra += self._frame_keys(left.time, time_s)
        if not _slice_well_conditioned(ease, u, 1.0):
            new = replace(new, easing=LINEAR)
            extra += self._frame_keys(time_s, right.time)
        return self.replace(keys=[*keys[: i + 1], new, *extra, *keys[i + 1:]])

    def _frame_keys(self, t0: float, t1: float) -> list[Key]:
        """Linear keys on the current curve at every frame strictly between t0 and t1."""
        first, last = self.frame_of(t0) - 1, self.frame_of(t1) + 1
        times = [self.time_of(n) for n in range(first, last + 1)]
        times = [t for t in times if t0 + TIME_EPS < t < t1 - TIME_EPS]
        if not times:
            return []
        focus = self.evaluate_many(times)
        stops = self.evaluate_f_stop_many(times)
        return [
            Key(t, float(f), None if stops is None else float(stops[j]), LINEAR)
            for j, (t, f) in enumerate(zip(times, focus, strict=True))
        ]


def _slice_well_conditioned(ease: Easing, u0: float, u1: float) -> bool:
    """Whether ``ease.sliced(u0, u1)`` reproduces the part without amplifying rounding.

    A slice divides by the base's rise over the part. For monotone eases the rise bounds the
    excursion, so any rise is fine; an overshooting ease (back, elastic, bounce) can return to
    its start value while moving in between, and then the division blows up.
    """
    if ease.name in ("hold", "linear"):
        return True
    vals = ease(np.linspace(u0, u1, 65))
    rise = abs(float(vals[-1] - vals[0]))
    excursion = float(np.max(np.abs(vals - vals[0])))
    return excursion == 0.0 or rise >= 1e-3 * excursion


def _filled_f_stops(keys: Sequence[Key]) -> FloatArray | None:
    """f-stop per key, gaps filled from the previous key (or the next for leading gaps)."""
    values = [k.f_stop for k in keys]
    if all(v is None for v in values):
        return None
    filled: list[float] = []
    last: float | None = next(v for v in values if v is not None)
    for v in values:
        last = v if v is not None else last
        assert last is not None
        filled.append(last)
    return np.array(filled, dtype=np.float64)
