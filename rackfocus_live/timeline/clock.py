"""Playback clock: media time from a wall clock, with play, pause, seek, step and rate.

Media time is ``anchor_media + (now - anchor_wall) * rate`` while playing and ``anchor_media``
while paused; every control re-anchors, so time stays continuous across rate changes. The frame
to show is computed from media time each time it is asked for, so a slow frame makes the next
one skip ahead (a dropped frame) instead of the picture falling behind the clock: playback never
drifts. The time source is injectable, which makes tests deterministic.

Pure Python: no GL, no media imports.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from fractions import Fraction

# Media times land exactly on frame boundaries after seek_frame/step; floating point can put
# k / fps * fps a hair below k. This tolerance (in frames) keeps such a time on frame k.
_FRAME_EPSILON = 1e-6


class PlaybackClock:
    """Maps wall-clock time to media time and to the frame due now.

    Args:
        time_source: seconds from any monotonic origin (default ``time.perf_counter``).

    Attributes:
        dropped: frames skipped during forward or reverse playback because the caller asked
            late (reset by ``reset_stats``).
    """

    def __init__(self, time_source: Callable[[], float] = time.perf_counter) -> None:
        self._now = time_source
        self._anchor_wall = time_source()
        self._anchor_media = 0.0
        self._playing = False
        self._rate = 1.0
        self._last_frame: int | None = None
        self.dropped = 0

    # -- state -------------------------------------------------------------------------------

    @property
    def playing(self) -> bool:
        return self._playing

    @property
    def rate(self) -> float:
        """Playback speed: 1 real time, 0.5 half speed, -1 reverse."""
        return self._rate

    def media_time(self) -> float:
        """Clip-relative seconds now (not clamped to the clip; see ``frame_for_now``)."""
        if not self._playing:
            return self._anchor_media
        return self._anchor_media + (self._now() - self._anchor_wall) * self._rate

    # -- controls ----------------------------------------------------------------------------

    def _reanchor(self, media_time: float) -> None:
        self._anchor_media = media_time
        self._anchor_wall = self._now()

    def play(self) -> None:
        """Start (or keep) playing from the current media time."""
        if not self._playing:
            self._reanchor(self._anchor_media)
            self._playing = True
            self._last_frame = None  # the first frame after a pause is not a drop

    def pause(self) -> None:
        """Stop at the current media time."""
        if self._playing:
            self._reanchor(self.media_time())
            self._playing = False

    def toggle(self) -> None:
        """Play if paused, pause if playing."""
        if self._playing:
            self.pause()
        else:
            self.play()

    def set_rate(self, rate: float) -> None:
        """Change speed without a jump in media time.

        Raises:
            ValueError: ``rate`` is zero or not finite (pause instead of a zero rate).
        """
        if not math.isfinite(rate) or rate == 0:
            raise ValueError("playback rate must be a finite non-zero number")
        self._reanchor(self.media_time())
        self._rate = float(rate)

    def seek(self, media_time: float) -> None:
        """Jump to ``media_time`` seconds; playing continues from there if it was playing."""
        if not math.isfinite(media_time):
            raise ValueError("seek time must be finite")
        self._reanchor(float(media_time))
        self._last_frame = None

    def seek_frame(self, index: int, fps: Fraction | float) -> None:
        """Jump to the start of frame ``index``."""
        self.seek(float(Fraction(index) / Fraction(fps)))

    def step(self, frames: int, fps: Fraction | float, frame_count: int) -> int:
        """Pause and move ``frames`` frames (negative: back) from the frame shown now.

        Returns:
            The new frame index (clamped to the clip).
        """
        current = self._frame_at(self.media_time(), fps, frame_count)
        self.pause()
        target = max(0, min(frame_count - 1, current + frames))
        self.seek_frame(target, fps)
        self._last_frame = target
        return target

    def reset_stats(self) -> None:
        self.dropped = 0

    # -- frames ------------------------------------------------------------------------------

    @staticmethod
    def _frame_at(t: float, fps: Fraction | float, frame_count: int) -> int:
        index = math.floor(t * float(fps) + _FRAME_EPSILON)
        return max(0, min(frame_count - 1, index))

    def frame_for_now(self, fps: Fraction | float, frame_count: int, loop: bool = False) -> int:
        """The frame due now, for a clip of ``frame_count`` frames at ``fps``.

        Frames the caller was too late for are skipped (and counted in ``dropped``). Reaching
        either end pauses on the end frame, or with ``loop`` wraps around, keeping the clock's
        phase so a looped clip does not drift either.
        """
        if frame_count <= 0:
            raise ValueError("frame_count must be > 0")
        rate = float(fps)
        t = self.media_time()
        raw = math.floor(t * rate + _FRAME_EPSILON)
        if raw >= frame_count or raw < 0:
            if loop and self._playing:
                duration = frame_count / rate
                wrapped = math.fmod(t, duration)
                if wrapped < 0:
                    wrapped += duration
                # Move the anchor by whole loops only, so the phase within the clip is kept.
                self._anchor_media += wrapped - t
                t = wrapped
                raw = math.floor(t * rate + _FRAME_EPSILON) % frame_count
                self._last_frame = None
            else:
                end = frame_count - 1 if raw >= frame_count else 0
                self.pause()
                self.seek_frame(end, fps)
                raw = end
        index = max(0, min(frame_count - 1, raw))
        if self._playing and self._last_frame is not None:
            gap = abs(index - self._last_frame)
            if gap > 1:
                self.dropped += gap - 1
        self._last_frame = index
        return index
