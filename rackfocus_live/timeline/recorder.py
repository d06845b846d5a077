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

A backwards jump in media time (loop, seek) ends the take and starts a new one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from rackfocus_live.timeline.easing import LINEAR
from rackfocus_live.timeline.keyframes import TIME_EPS, FocusTrack, Key, Samples
from rackfocus_live.timeline.simplify import CocTolerance, fit_keys
from rackfocus_live.timeline.undo import TrackEditor


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

    @property
    def start_s(self) -> float:
        return float(self.samples.time[0])

    @property
    def end_s(self) -> float:
        return float(self.samples.time[-1])


def punch_in(track: FocusTrack, keys: list[Key] | tuple[Key, ...], samples: Samples) -> FocusTrack:
    """``track`` with the span of ``samples`` replaced by ``keys`` (see the module docstring).

    Args:
        track: the track before the take.
        keys: keys covering [samples.time[0], samples.time[-1]].
        samples: the take's raw samples; they replace the track's samples in that span.
    """
    t0, t1 = float(samples.time[0]), float(samples.time[-1])
    new_samples = track.samples.punched(t0, t1, samples)
    if not track.keys:
        return track.replace(keys=keys, samples=new_samples)
    frame = track.fps.denominator / track.fps.numerator
    a, b = t0 - frame, t1 + frame
    # Before frame 0 there is nothing to keep, so no boundary key there.
    has_before = a > -0.5 * frame
    split = track.split_at(a) if has_before else track
    split = split.split_at(b)
    before = [k for k in split.keys if has_before and k.time <= a + TIME_EPS]
    after = [k for k in split.keys if k.time >= b - TIME_EPS]
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
    """

    def __init__(self, editor: TrackEditor, tolerance: CocTolerance) -> None:
        self.editor = editor
        self.tolerance = tolerance
        self._armed = False
        self._t: list[float] = []
        self._f: list[float] = []
        self._n: list[float] = []

    @property
    def armed(self) -> bool:
        return self._armed

    @property
    def recording(self) -> bool:
        """True while a take has samples that are not yet in the track."""
        return bool(self._t)

    def arm(self) -> None:
        """Arm recording: samples are taken from now on."""
        self._armed = True

    def disarm(self) -> Take | None:
        """Stop taking samples, committing the take in progress (if any)."""
        take = self.stop()
        self._armed = False
        return take

    def sample(self, time_s: float, focus_m: float, f_stop: float | None = None) -> Take | None:
        """Record the focus shown at media time ``time_s`` (ignored unless armed).

        Returns:
            The committed take when a backwards jump in time ended one, else None.
        """
        if not self._armed:
            return None
        if not (math.isfinite(time_s) and math.isfinite(focus_m) and focus_m > 0):
            return None
        stop = math.nan if f_stop is None else float(f_stop)
        committed = None
        if self._t and time_s <= self._t[-1] + TIME_EPS:
            if time_s >= self._t[-1] - TIME_EPS:
                # The same frame shown again (e.g. a stall): keep the latest focus.
                self._f[-1], self._n[-1] = float(focus_m), stop
                return None
            committed = self.stop()
        self._t.append(float(time_s))
        self._f.append(float(focus_m))
        self._n.append(stop)
        return committed

    def cancel(self) -> None:
        """Drop the take in progress."""
        self._t, self._f, self._n = [], [], []

    def pending_samples(self) -> Samples:
        """The samples of the take in progress (empty when not recording)."""
        has_stop = any(not math.isnan(v) for v in self._n)
        return Samples(self._t, self._f, self._n if has_stop else None)

    def stop(self) -> Take | None:
        """End the take: simplify it and punch it into the track as one undo step."""
        if not self._t:
            return None
        samples = self.pending_samples()
        self.cancel()
        track = self.editor.track
        keys = fit_keys(samples.time, samples.focus_m, self.tolerance, track.space,
                        samples.f_stop if samples.has_f_stop else None)
        new = punch_in(track, keys, samples)
        self.editor.apply("record", new)
        fit = new.evaluate_many(samples.time)
        err = float(np.max(self.tolerance.error_px(fit, samples.focus_m)))
        return Take(samples, tuple(keys), err)

    def live_track(self) -> FocusTrack:
        """The track as it would be with the take in progress, unsimplified (one linear key per
        sample): what an autosave during recording should write, so a crash loses nothing of
        the performance but the last autosave interval."""
        track = self.editor.track
        if not self._t:
            return track
        samples = self.pending_samples()
        stops = samples.f_stop
        keys = [
            Key(float(t), float(f), None if math.isnan(s) else float(s), LINEAR)
            for t, f, s in zip(samples.time, samples.focus_m, stops, strict=True)
        ]
        return punch_in(track, keys, samples)

