"""A tracked subject over a clip: anchors (clicks), per-frame boxes and depth, and its focus.

The first anchor is tracked forward to the end of the range and backward to its start. A later
anchor (a click on the subject at another frame, to correct a wrong or lost track) owns the
frames from it forward up to the next anchor, and backward until its track meets the old one
again (the boxes overlap, both tracked) or the previous anchor: a correction replaces only what
was wrong. A later anchor with ``backward=False`` owns only the frames from it forward (a rack
to another subject).

Focus per frame: the smoothed subject depth (``subject_depth.smooth_inverse_depth``, runs never
crossing an anchor) where the subject was seen; where it was lost (hidden, out of frame), the
focus holds the value of the nearest seen frame on its anchor's side, i.e. the last focus before
the subject was lost in the direction of tracking. Lost frames are reported for the timeline.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from rackfocus_live.timeline.keyframes import MAX_FOCUS_M, MIN_FOCUS_M
from rackfocus_live.tracking.frames import TrackFrames, prefetched
from rackfocus_live.tracking.subject_depth import smooth_inverse_depth
from rackfocus_live.tracking.tracker import (
    Box,
    SubjectTracker,
    TrackerParams,
    TrackFrame,
    TrackStatus,
)

Progress = Callable[[int, int], None]  # (frames done, frames to do)
#: Told each frame's result as it is tracked: (clip frame, box in display px, status).
Observer = Callable[[int, Box, TrackStatus], None]
#: Overlap (intersection over union) at which a correcting track has rejoined the old one.
REJOIN_IOU = 0.5


@dataclass(frozen=True, slots=True)
class Anchor:
    """A click on the subject: clip frame and position in display pixels.

    ``backward`` False makes a later anchor own only the frames from it forward: a rack to
    another subject from this frame on, rather than a correction of the same subject.
    """

    frame: int
    x: float
    y: float
    backward: bool = True


class TrackCancelledError(Exception):
    """The user cancelled tracking; nothing was changed."""


def box_iou(a: Box, b: Box) -> float:
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = max(0.0, min(ax1, bx1) - max(a[0], b[0]))
    ih = max(0.0, min(ay1, by1) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


class SubjectTrack:
    """Per-frame results over the clip frames ``[start, stop)``; boxes in display pixels.

    Immutable from the outside: ``with_anchor`` returns a new one (the app keeps the old one
    until tracking finishes, so a cancelled re-anchor changes nothing).
    """

    def __init__(self, start: int, stop: int) -> None:
        if not 0 <= start < stop:
            raise ValueError("empty frame range")
        n = stop - start
        self.start, self.stop = start, stop
        self.anchors: tuple[Anchor, ...] = ()
        self.boxes = np.full((n, 4), math.nan)
        self.inv_depth = np.full(n, math.nan)
        self.status = np.zeros(n, np.int8)
        self.owner = np.full(n, -1, np.int16)

    def copy(self) -> SubjectTrack:
        new = SubjectTrack(self.start, self.stop)
        new.anchors = self.anchors
        new.boxes, new.inv_depth = self.boxes.copy(), self.inv_depth.copy()
        new.status, new.owner = self.status.copy(), self.owner.copy()
        return new

    # -- queries (main thread) -----------------------------------------------------------------

    def covers(self, frame: int) -> bool:
        return self.start <= frame < self.stop and self.owner[frame - self.start] >= 0

    def at(self, frame: int) -> tuple[Box, TrackStatus] | None:
        """Box and status at a clip frame, None where nothing was tracked."""
        if not self.covers(frame):
            return None
        i = frame - self.start
        x, y, w, h = (float(v) for v in self.boxes[i])
        return (x, y, w, h), TrackStatus(int(self.status[i]))

    def frames(self) -> npt.NDArray[np.int64]:
        """Clip frames that have a focus (owned by an anchor)."""
        return np.flatnonzero(self.owner >= 0) + self.start

    def lost_frames(self) -> npt.NDArray[np.int64]:
        """Clip frames where the subject was hidden or out of the picture (focus held)."""
        lost = (self.owner >= 0) & (self.status != TrackStatus.TRACKED)
        return np.flatnonzero(lost) + self.start

    def lost_spans(self) -> list[tuple[int, int]]:
        """Lost frames as [first, last] runs."""
        spans: list[tuple[int, int]] = []
        for f in self.lost_frames().tolist():
            if spans and spans[-1][1] == f - 1:
                spans[-1] = (spans[-1][0], f)
            else:
                spans.append((f, f))
        return spans

    def focus_m(self) -> npt.NDArray[np.float64]:
        """Focus distance (m) per frame of ``[start, stop)``; NaN where nothing was tracked."""
        seen = (self.owner >= 0) & (self.status == TrackStatus.TRACKED) & np.isfinite(
            self.inv_depth)
        w = smooth_inverse_depth(self.inv_depth, seen, self.owner)
        out = np.full(w.shape, math.nan)
        for k, anchor in enumerate(self.anchors):
            owned = np.flatnonzero(self.owner == k)
            if owned.size == 0:
                continue
            a = anchor.frame - self.start
            after = owned[owned >= a]
            before = owned[owned < a][::-1]
            for run in (after, before):  # walking away from the anchor: hold the last seen
                held = math.nan
                for i in run.tolist():
                    if seen[i]:
                        held = w[i]
                    out[i] = held
        with np.errstate(divide="ignore", invalid="ignore"):
            focus = 1.0 / out
        focus = np.where(np.isnan(out), math.nan, np.clip(focus, MIN_FOCUS_M, MAX_FOCUS_M))
        return focus

    # -- tracking (worker thread) --------------------------------------------------------------

    def with_anchor(self, frames: TrackFrames, anchor: Anchor,
                    progress: Progress | None = None,
                    cancelled: Callable[[], bool] = lambda: False,
                    params: TrackerParams | None = None,
                    observe: Observer | None = None) -> SubjectTrack:
        """A new SubjectTrack with ``anchor`` added and tracked (see the module docstring).

        Raises:
            TrackCancelledError: ``cancelled()`` returned True.
            ValueError: the anchor lies outside the range.
        """
        if not self.start <= anchor.frame < self.stop:
            raise ValueError(f"frame {anchor.frame} is outside {self.start}..{self.stop - 1}")
        new = self.copy()
        k = len(new.anchors)
        new.anchors = (*self.anchors, anchor)
        later = [a.frame for a in self.anchors if a.frame > anchor.frame]
        earlier = [a.frame for a in self.anchors if a.frame < anchor.frame]
        fwd_stop = min(later, default=self.stop)
        back_stop = max(earlier, default=self.start - 1)
        if not anchor.backward and self.anchors:
            back_stop = anchor.frame - 1
        total = (fwd_stop - anchor.frame) + (anchor.frame - back_stop - 1)
        done = 0
        scale = frames.scale

        def record(obs_frame: int, box: Box, w: float, status: TrackStatus) -> None:
            i = obs_frame - self.start
            shown = (box[0] * scale, box[1] * scale, box[2] * scale, box[3] * scale)
            new.boxes[i] = shown
            new.inv_depth[i] = w
            new.status[i] = status
            new.owner[i] = k
            if observe is not None:
                observe(obs_frame, shown, status)

        def tick() -> None:
            nonlocal done
            done += 1
            if cancelled():
                raise TrackCancelledError
            if progress is not None:
                progress(done, total)

        tracker = SubjectTracker(params)
        first = frames.read(anchor.frame)
        obs = tracker.start(first, anchor.x / scale, anchor.y / scale)
        record(obs.index, obs.box, obs.inv_depth, obs.status)
        tick()
        forward = prefetched(frames.forward(anchor.frame + 1, fwd_stop))
        try:
            self._run(tracker, forward, record, tick, None, scale)
        finally:
            forward.close()  # stops the reader thread before the backward pass uses the readers
        back = SubjectTracker(params)
        back.start(first, anchor.x / scale, anchor.y / scale)
        rejoin = self if self.anchors else None
        backward = prefetched(frames.backward(anchor.frame - 1, back_stop, cancelled))
        try:
            self._run(back, backward, record, tick, rejoin, scale)
        finally:
            backward.close()
        return new

    def _run(self, tracker: SubjectTracker, source: Iterator[TrackFrame],
             record: Callable[[int, Box, float, TrackStatus], None], tick: Callable[[], None],
             rejoin: SubjectTrack | None, scale: float) -> None:
        for frame in source:
            obs = tracker.step(frame)
            if rejoin is not None and obs.status == TrackStatus.TRACKED:
                old = rejoin.at(frame.index)
                if old is not None and old[1] == TrackStatus.TRACKED:
                    shown = (obs.box[0] * scale, obs.box[1] * scale,
                             obs.box[2] * scale, obs.box[3] * scale)
                    if box_iou(shown, old[0]) >= REJOIN_IOU:
                        return  # the old track is right from here on
            record(obs.index, obs.box, obs.inv_depth, obs.status)
            tick()
