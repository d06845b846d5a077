"""Live recording of a focus pull: arm, play, perform; on stop, keys within a blur tolerance.

The app calls ``Recorder.sample(media_time, focus)`` once per *shown* frame while playing with
record armed (whatever moved the focus: slider, click-to-focus, a pull to a mark). Samples are
taken at media time, not wall time, so a dropped or repeated frame cannot stretch the pull.

On ``stop()`` the take is simplified into eased keys (``simplify.fit_keys``) and punched into the
track as one undoable edit: only the recorded span changes. The raw samples are kept on the track
too (they go into the keyframe file).

Punch-in keeps the rest of the track exactly: the track is split on its own curve one frame
before and one frame after the take (``FocusTrack.split_at``), keys in between are replaced by
the take's keys, and the one-frame gaps become linear transitions. Every frame outside the take
evaluates as before (to floating-point precision).

A take spans from the media time recording started at to where it was stopped (punch in /
punch out): ``stop(end_s)`` holds the last focus up to the playhead, so a take stopped between two
shown frames (a slow preview shows few) still replaces every key up to where the user stopped.

A take that wraps around the loop is one take in two parts: the part before the wrap runs to
the clip's end, the part after starts at 0 (nothing the performer did is left out at either end,
and no key of an older take survives in between). Both parts go into the track as one undo step,
and ``Take.describe()`` reports both ranges. Any other backwards jump (a seek) ends the part
there.

The raw samples stay on the track (and in the keyframe file); ``resimplify`` fits them again
with another tolerance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from rackfocus_live.timeline.easing import LINEAR
from rackfocus_live.timeline.keyframes import TIME_EPS, FocusTrack, Key, Samples
from rackfocus_live.timeline.simplify import DEFAULT_SHAPE_FRACTION, CocTolerance, fit_keys
from rackfocus_live.timeline.undo import TrackEditor

#: Recorded samples further apart than this belong to different takes (``resimplify``).
RUN_GAP_S = 1.0


@dataclass(frozen=True, slots=True)
class Take:
    """One recorded pass.

    Attributes:
        samples: the raw samples of the pass.
        keys: the keys it was simplified into.
        max_error_px: largest CoC difference (px) between the resulting track and the samples.
    """

    samples: Samples
    keys: tuple[Key, ...]
    max_error_px: float
    #: (start, end) media time of each part: two when the take wrapped around the loop.
    spans: tuple[tuple[float, float], ...] = ()

    @property
    def start_s(self) -> float:
        return self.spans[0][0] if self.spans else float(self.samples.time[0])

    @property
    def end_s(self) -> float:
        return self.spans[-1][1] if self.spans else float(self.samples.time[-1])

    def describe(self) -> str:
        """One line for the user: how many keys, over which time range(s)."""
        spans = self.spans or ((self.start_s, self.end_s),)
        ranges = " + ".join(f"{a:.2f}-{b:.2f} s" for a, b in spans)
        noun = "key" if len(self.keys) == 1 else "keys"
        return f"recorded {len(self.keys)} {noun} ({ranges})"


def punch_in(track: FocusTrack, keys: list[Key] | tuple[Key, ...], samples: Samples,
             clip_end_s: float | None = None) -> FocusTrack:
    """``track`` with the span of ``samples`` replaced by ``keys`` (see the module docstring).

    Args:
        track: the track before the take.
        keys: keys covering [samples.time[0], samples.time[-1]].
        samples: the take's raw samples; they replace the track's samples in that span.
        clip_end_s: the clip's duration, if known: a take reaching its last frame leaves no
            boundary key after the clip.
    """
    t0, t1 = float(samples.time[0]), float(samples.time[-1])
    new_samples = track.samples.punched(t0, t1, samples)
    if not track.keys:
        return track.replace(keys=keys, samples=new_samples)
    frame = track.fps.denominator / track.fps.numerator
    a, b = t0 - frame, t1 + frame
    # A boundary key keeps what the track does outside the span; where no key lies beyond it
    # (before frame 0, after the clip's end, or only a hold of the span's own end keys, as when
    # a take is fitted again) there is nothing to keep and no boundary key.
    has_before = a > -0.5 * frame and any(k.time < a - TIME_EPS for k in track.keys)
    has_after = ((clip_end_s is None or b < clip_end_s - TIME_EPS)
                 and any(k.time > b + TIME_EPS for k in track.keys))
    split = track.split_at(a) if has_before else track
    split = split.split_at(b) if has_after else split
    before = [k for k in split.keys if has_before and k.time <= a + TIME_EPS]
    after = [k for k in split.keys if has_after and k.time >= b - TIME_EPS]
    if before:
        before[-1] = replace(before[-1], easing=LINEAR)
    inner = list(keys)
    if inner and after:
        inner[-1] = replace(inner[-1], easing=LINEAR)
    return track.replace(keys=[*before, *inner, *after], samples=new_samples)


class Recorder:
    """Records focus performances into a track through a TrackEditor (so takes are undoable).

    Args:
        editor: owns the track; a take is applied as one "record" step.
        tolerance: the CoC tolerance for simplification (lens, width, px, depth range).
        duration_s: the clip's duration (a loop wrap runs the take to its last frame); None:
            unknown, the part ends at its last sample.
    """

    def __init__(self, editor: TrackEditor, tolerance: CocTolerance,
                 duration_s: float | None = None) -> None:
        self.editor = editor
        self.tolerance = tolerance
        self.duration_s = duration_s
        self._armed = False
        self._t: list[float] = []
        self._f: list[float] = []
        self._n: list[float] = []
        #: Parts of the take that ended at a loop wrap or a seek (not yet in the track).
        self._parts: list[Samples] = []

    @property
    def armed(self) -> bool:
        return self._armed

    @property
    def recording(self) -> bool:
        """True while a take has samples that are not yet in the track."""
        return bool(self._t) or bool(self._parts)

    def arm(self) -> None:
        """Arm recording: samples are taken from now on."""
        self._armed = True

    def disarm(self) -> Take | None:
        """Stop taking samples, committing the take in progress (if any)."""
        take = self.stop()
        self._armed = False
        return take

    def sample(self, time_s: float, focus_m: float, f_stop: float | None = None) -> None:
        """Record the focus shown at media time ``time_s`` (ignored unless armed)."""
        if not self._armed:
            return
        if not (math.isfinite(time_s) and math.isfinite(focus_m) and focus_m > 0):
            return
        stop = math.nan if f_stop is None else float(f_stop)
        if self._t and time_s <= self._t[-1] + TIME_EPS:
            if time_s >= self._t[-1] - TIME_EPS:
                # The same frame shown again (e.g. a stall): keep the latest focus.
                self._f[-1], self._n[-1] = float(focus_m), stop
                return
            wrapped = self._is_wrap(time_s)
            if wrapped:
                self._hold_to(self._last_frame_s())
            self._end_part()
            if wrapped and time_s > TIME_EPS:
                # The frames from 0 to here went by at the focus the performer had: hold it.
                self._t.append(0.0)
                self._f.append(float(focus_m))
                self._n.append(stop)
        self._t.append(float(time_s))
        self._f.append(float(focus_m))
        self._n.append(stop)

    def _last_frame_s(self) -> float:
        track = self.editor.track
        if self.duration_s is None:
            return self._t[-1]
        return max(self._t[-1], self.duration_s - track.fps.denominator / track.fps.numerator)

    def _is_wrap(self, time_s: float) -> bool:
        """A jump back from near the end to near the start: the loop, not a seek."""
        if self.duration_s is None:
            return False
        steps = np.diff(self._t) if len(self._t) > 1 else np.array([0.0])
        reach = max(0.5, 3.0 * float(np.median(steps)))
        return self._t[-1] >= self.duration_s - reach and time_s <= reach

    def _hold_to(self, end_s: float) -> None:
        if self._t and end_s > self._t[-1] + TIME_EPS:
            self._t.append(float(end_s))
            self._f.append(self._f[-1])
            self._n.append(self._n[-1])

    def _end_part(self) -> None:
        if self._t:
            self._parts.append(self._current())
        self._t, self._f, self._n = [], [], []

    def _current(self) -> Samples:
        has_stop = any(not math.isnan(v) for v in self._n)
        return Samples(self._t, self._f, self._n if has_stop else None)

    def cancel(self) -> None:
        """Drop the take in progress."""
        self._t, self._f, self._n = [], [], []
        self._parts = []

    def pending_parts(self) -> list[Samples]:
        """The parts of the take in progress, in recording order (empty when not recording)."""
        return [*self._parts, self._current()] if self._t else list(self._parts)

    def pending_samples(self) -> Samples:
        """The samples of the take in progress, all parts, in time order (the live trace)."""
        return _merge(self.pending_parts())

    def stop(self, end_s: float | None = None) -> Take | None:
        """End the take (held at its last focus up to media time ``end_s``, the playhead, if
        later): simplify every part and punch them into the track as one undo step."""
        if end_s is not None and math.isfinite(end_s):
            self._hold_to(end_s)
        parts = self.pending_parts()
        self.cancel()
        if not parts:
            return None
        track = self.editor.track
        keys: list[Key] = []
        for part in parts:
            part_keys = fit_keys(part.time, part.focus_m, self.tolerance, track.space,
                                 part.f_stop if part.has_f_stop else None)
            track = punch_in(track, part_keys, part, self.duration_s)
            keys += part_keys
        self.editor.apply("record", track)
        samples = _merge(parts)
        fit = track.evaluate_many(samples.time)
        err = float(np.max(self.tolerance.error_px(fit, samples.focus_m)))
        spans = tuple((float(p.time[0]), float(p.time[-1])) for p in parts)
        return Take(samples, tuple(keys), err, spans)

    def live_track(self) -> FocusTrack:
        """The track as it would be with the take in progress, unsimplified (one linear key per
        sample): what an autosave during recording should write, so a crash loses nothing of
        the performance but the last autosave interval."""
        track = self.editor.track
        for part in self.pending_parts():
            keys = [
                Key(float(t), float(f), None if math.isnan(s) else float(s), LINEAR)
                for t, f, s in zip(part.time, part.focus_m, part.f_stop, strict=True)
            ]
            track = punch_in(track, keys, part, self.duration_s)
        return track


def _merge(parts: list[Samples]) -> Samples:
    """Parts of a take (disjoint in time) as one sorted set of samples; on overlap (a seek back
    over what was just recorded) the later part wins."""
    out = Samples()
    for part in parts:
        if len(part):
            out = out.punched(float(part.time[0]), float(part.time[-1]), part)
    return out


def resimplify(track: FocusTrack, tolerance: CocTolerance,
               shape_fraction: float = DEFAULT_SHAPE_FRACTION) -> tuple[FocusTrack, int]:
    """Fit the track's raw recorded samples again (e.g. with another tolerance): each run of
    samples (a take; runs are split where samples are more than a second apart) replaces the
    keys in its span, as when it was recorded. Returns the new track and its number of keys.
    """
    s = track.samples
    if len(s) == 0:
        return track, len(track.keys)
    cuts = np.flatnonzero(np.diff(s.time) > RUN_GAP_S) + 1
    out = track
    for idx in np.split(np.arange(len(s)), cuts):
        part = Samples(s.time[idx], s.focus_m[idx], s.f_stop[idx])
        keys = fit_keys(part.time, part.focus_m, tolerance, track.space,
                        part.f_stop if part.has_f_stop else None, shape_fraction)
        out = punch_in(out, keys, part)
    return out, len(out.keys)

