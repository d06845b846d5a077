"""Tracking on a worker thread: progress, cancel, and a result the main thread picks up.

The worker opens its own readers (PyAV objects stay on the thread that made them) and hands
back only numpy data: progress goes through a bounded queue (a full queue drops a progress
update, never blocks the worker), the result is read after the thread has ended. Nothing here
touches GL; the main thread polls ``poll()`` once per UI frame.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from rackfocus_live.errors import InputError
from rackfocus_live.media.depthsource import DepthSource
from rackfocus_live.media.probe import MediaInfo
from rackfocus_live.tracking.frames import MAX_WORK_WIDTH, TrackFrames
from rackfocus_live.tracking.session import Anchor, Observer, SubjectTrack, TrackCancelledError
from rackfocus_live.tracking.tracker import Box, TrackerParams, TrackStatus

JobState = Literal["running", "done", "cancelled", "failed"]
Progress = Callable[[int, int], None]
CancelFn = Callable[[], bool]


@dataclass(frozen=True, slots=True)
class TrackProgress:
    """Where a tracking job stands."""

    done: int
    total: int
    state: JobState
    elapsed_s: float
    message: str = ""
    #: The newest frame tracked: (clip frame, box in display px, status), for drawing.
    latest: tuple[int, Box, TrackStatus] | None = None

    @property
    def fraction(self) -> float:
        return 1.0 if self.total <= 0 else min(self.done / self.total, 1.0)


def run_tracking(info: MediaInfo, depth: DepthSource, base: SubjectTrack, anchor: Anchor,
                 *, progress: Progress | None = None, cancelled: CancelFn | None = None,
                 params: TrackerParams | None = None, observe: Observer | None = None,
                 max_width: int = MAX_WORK_WIDTH) -> SubjectTrack:
    """``base`` with ``anchor`` tracked, on the calling thread (the CLI, the worker)."""
    frames = TrackFrames(info, depth, max_width)
    try:
        return base.with_anchor(frames, anchor, progress,
                                cancelled or (lambda: False), params, observe)
    finally:
        frames.close()


class TrackJob:
    """One anchor tracked in the background.

    Args:
        info, depth: the clip and its depth (opened and validated on the main thread).
        base: the subject so far (an empty ``SubjectTrack`` for a first click).
        anchor: the click.
    """

    def __init__(self, info: MediaInfo, depth: DepthSource, base: SubjectTrack,
                 anchor: Anchor, params: TrackerParams | None = None) -> None:
        self.info, self.depth, self.base, self.anchor = info, depth, base, anchor
        self.params = params
        self.result: SubjectTrack | None = None
        self.error: str | None = None
        self._cancel = threading.Event()
        self._updates: queue.Queue[TrackProgress] = queue.Queue(maxsize=4)
        self._last = TrackProgress(0, 1, "running", 0.0)
        self._t0 = time.monotonic()
        self._latest: tuple[int, Box, TrackStatus] | None = None
        self._thread = threading.Thread(target=self._work, name="track", daemon=True)

    def start(self) -> TrackJob:
        self._t0 = time.monotonic()
        self._thread.start()
        return self

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def poll(self) -> TrackProgress:
        """The newest progress (main thread); the final state once the worker has ended."""
        while True:
            try:
                self._last = self._updates.get_nowait()
            except queue.Empty:
                break
        if not self._thread.is_alive() and self._last.state == "running":
            elapsed = time.monotonic() - self._t0
            if self.result is not None:
                self._last = TrackProgress(self._last.total, self._last.total, "done", elapsed)
            elif self.error is not None:
                self._last = TrackProgress(self._last.done, self._last.total, "failed", elapsed,
                                           self.error)
            elif self._thread.ident is not None:
                self._last = TrackProgress(self._last.done, self._last.total, "cancelled",
                                           elapsed)
        return self._last

    def _observe(self, frame: int, box: Box, status: TrackStatus) -> None:
        self._latest = (frame, box, status)

    def _report(self, done: int, total: int) -> None:
        update = TrackProgress(done, total, "running", time.monotonic() - self._t0,
                               latest=self._latest)
        # A full queue drops this update: the UI shows the next one; the worker never waits.
        with contextlib.suppress(queue.Full):
            self._updates.put_nowait(update)

    def _work(self) -> None:
        try:
            self.result = run_tracking(self.info, self.depth, self.base, self.anchor,
                                       progress=self._report, cancelled=self._cancel.is_set,
                                       params=self.params, observe=self._observe)
        except TrackCancelledError:
            pass
        except InputError as exc:
            self.error = str(exc)
        except Exception as exc:  # a damaged file mid-way: report it, keep the app alive
            self.error = f"tracking failed: {type(exc).__name__}: {exc}"
