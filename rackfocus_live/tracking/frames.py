"""Working-resolution luma + inverse depth for the tracker, read with the project's readers.

The clip's Y plane is the tracker's colour input (no colour conversion: luma carries the texture
optical flow needs); depth comes from ``DepthSource.reader()`` (already inverse depth, 1/m) and is
resampled to the working size with nearest-neighbour, so no pixel takes an in-between depth that
exists neither on the subject nor behind it. Frames wider than ``MAX_WORK_WIDTH`` are tracked
downscaled: for a focus distance, flow at 640 px is as accurate (bench/track.py at 1280x720) and
several times cheaper than at full resolution.

Backward tracking reads blocks forward and hands them out in reverse: a ``VideoReader`` reading
backwards would seek and decode a whole GOP for every frame.

``prefetched`` decodes on a second thread while the tracker works on the previous frame (PyAV
and OpenCV release the GIL), handing frames over through a bounded queue.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterator

import av
import cv2
import numpy as np
import numpy.typing as npt

from rackfocus_live.errors import InputError
from rackfocus_live.media.depthsource import DepthReader, DepthSource
from rackfocus_live.media.probe import MediaInfo, reason
from rackfocus_live.media.reader import StreamEndedError, VideoReader, frame_luma
from rackfocus_live.tracking.tracker import TrackFrame

MAX_WORK_WIDTH = 640
#: Frames read ahead per block when tracking backwards.
BACKWARD_BLOCK = 32
#: Frames decoded ahead of the tracker (bounded: a few MB at the working size).
PREFETCH_FRAMES = 6


def work_size(display_size: tuple[int, int], max_width: int = MAX_WORK_WIDTH) -> tuple[int, int]:
    """(width, height) the tracker works at for a clip shown at ``display_size``."""
    w, h = display_size
    if w <= max_width:
        return w, h
    return max_width, max(round(h * max_width / w), 1)


class TrackFrames:
    """Reads ``TrackFrame``s of one clip and its depth; belongs to one (worker) thread.

    Args:
        info: the probed clip.
        depth: its validated depth.
        max_width: widest working frame.
    """

    def __init__(self, info: MediaInfo, depth: DepthSource,
                 max_width: int = MAX_WORK_WIDTH) -> None:
        self.info = info
        self.size = work_size(info.display_size, max_width)
        self._video = VideoReader(info)
        self._depth: DepthReader | None = None
        try:
            self._depth = depth.reader()
        except BaseException:
            self._video.close()
            raise
        self._shift = max(info.layout.bits - 8, 0)

    @property
    def scale(self) -> float:
        """Display pixels per working pixel."""
        return self.info.display_size[0] / self.size[0]

    def read(self, index: int) -> TrackFrame:
        """Frame ``index``; a damaged or cut-short clip is an InputError naming the file."""
        try:
            frame = self._video.read(index)
        except (StreamEndedError, av.EOFError) as exc:
            last = exc.last_index + 1 if isinstance(exc, StreamEndedError) else index
            raise InputError(f"video ends at frame {last} of {self.info.frame_count} "
                             "(cut short or damaged)", self.info.path) from None
        except av.FFmpegError as exc:
            raise InputError(f"decode error at frame {index} ({reason(exc)})",
                             self.info.path) from None
        assert frame is not None  # no abort callback: read() always returns a frame
        luma = self._luma(frame_luma(frame, self.info))
        assert self._depth is not None
        inv = self._depth.read(index)
        w, h = self.size
        if inv.shape != (h, w):
            inv = np.asarray(cv2.resize(np.ascontiguousarray(inv), (w, h),
                                        interpolation=cv2.INTER_NEAREST), np.float32)
        return TrackFrame(index, luma, np.ascontiguousarray(inv, dtype=np.float32))

    def forward(self, start: int, stop: int) -> Iterator[TrackFrame]:
        """Frames start, start+1, ..., stop-1."""
        for i in range(start, stop):
            yield self.read(i)

    def backward(self, start: int, stop: int,
                 cancelled: Callable[[], bool] = lambda: False) -> Iterator[TrackFrame]:
        """Frames start, start-1, ..., stop+1 (``stop`` excluded), read in forward blocks."""
        hi = start
        while hi > stop and not cancelled():
            lo = max(hi - BACKWARD_BLOCK, stop + 1)
            block = [self.read(i) for i in range(lo, hi + 1)]
            yield from reversed(block)
            hi = lo - 1

    def _luma(self, y: npt.NDArray[np.generic]) -> npt.NDArray[np.uint8]:
        if y.dtype != np.uint8:
            y = (y.astype(np.uint16) >> self._shift).astype(np.uint8)
        if self.info.rotation:
            y = np.rot90(y, k=self.info.rotation // 90)
        w, h = self.size
        if y.shape != (h, w):
            return np.asarray(cv2.resize(np.ascontiguousarray(y), (w, h),
                                         interpolation=cv2.INTER_AREA), np.uint8)
        return np.ascontiguousarray(y)

    def close(self) -> None:
        self._video.close()
        if self._depth is not None:
            self._depth.close()
            self._depth = None


_END = object()


def prefetched(frames: Iterator[TrackFrame],
               depth: int = PREFETCH_FRAMES) -> Generator[TrackFrame, None, None]:
    """``frames``, produced on a reader thread up to ``depth`` frames ahead.

    The readers behind ``frames`` are used by that thread only while this generator runs; when
    the consumer stops early (closing the generator) the reader thread is stopped and joined
    before this returns, so the next pass may use the readers again. A reader error is raised
    in the consumer.
    """
    handoff: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for frame in frames:
                if not put(frame):
                    return
            put(_END)
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)

    thread = threading.Thread(target=produce, name="track-read", daemon=True)
    thread.start()
    try:
        while True:
            item = handoff.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, TrackFrame)
            yield item
    finally:
        stop.set()
        thread.join()
