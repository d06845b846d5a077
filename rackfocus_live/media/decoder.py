"""The decoder thread: clip frames and their depth, decoded ahead into a bounded queue.

One thread per clip reads the clip and its depth in lockstep and hands the main thread
:class:`FramePacket`s: the raw YUV planes as decoded (no colour conversion on the CPU) and the
depth already mapped to inverse depth, so the main thread only uploads. The thread never touches
GL.

Seeking bumps an *epoch*. Packets carry the epoch they were made in, and ``get`` drops those from
an older one, so nothing from before a seek arrives after it. A seek that hits the frame cache is
answered on the calling thread at once; otherwise the thread lands on the keyframe before the
target and decodes forward to it (``VideoReader``), abandoning that work if another seek comes.

Errors in the thread (a damaged file, a depth image that cannot be read) travel through the queue
behind the packets decoded before them and are raised by ``get`` as :class:`InputError` naming the
file; the thread then waits for a seek (which may land before the damage) or ``close``.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
from dataclasses import dataclass
from types import TracebackType

import av
import numpy as np

from rackfocus_live.errors import InputError
from rackfocus_live.media.depthsource import DepthReader, DepthSource
from rackfocus_live.media.framecache import FrameCache
from rackfocus_live.media.probe import MediaInfo, PathLike, reason
from rackfocus_live.media.reader import StreamEndedError, VideoReader, frame_planes
from rackfocus_live.media.sequence import (
    PLATE_FORMAT,
    PlateFrame,
    PlateReader,
    open_frame_reader,
    probe_media,
    video_frame_rgb,
)

#: Thread name prefix (tests look for leaked threads by it).
THREAD_NAME_PREFIX = "rackfocus-decoder"
# How often a blocked put re-checks for a stop or a seek (a seek drains the queue, so this is only
# a safety net).
_PUT_POLL_S = 0.1
_JOIN_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class FramePacket:
    """One decoded clip frame and its depth.

    Attributes:
        index: frame index (0-based, presentation order).
        pts: presentation timestamp of the decoded frame, in the stream's time base.
        time: clip-relative seconds of the frame slot, ``index / fps``.
        planes: for YUV, ``(Y, U, V)`` or, decoded with ``interleave_chroma``, ``(Y, UV)``
            (``reader.frame_planes``; uint8, or uint16 for more than 8 bits), read-only: planes
            are HxW zero-copy views into the decoded frame's buffer (rows may be padded beyond
            the view, which ``gpu.upload.whole_rows`` uses), UV the two chroma planes
            interleaved, (h, w, 2); for plates, ``(RGB,)``.
        format: pixel format of ``planes`` (``MediaInfo.pix_fmt``).
        depth: inverse depth in 1/m, float32 HxW (may differ in size from the frame), read-only;
            the same array object for consecutive packets that share a depth frame.
        epoch: the seek generation this packet belongs to.
    """

    index: int
    pts: int
    time: float
    planes: tuple[np.ndarray, ...]
    format: str
    depth: np.ndarray
    epoch: int

    @property
    def nbytes(self) -> int:
        return sum(int(p.nbytes) for p in self.planes) + int(self.depth.nbytes)


@dataclass(frozen=True, slots=True)
class _Failure:
    """An error from the thread, queued in order behind the packets decoded before it."""

    epoch: int
    error: InputError


class DecoderThread:
    """Decodes a clip and its depth ahead of playback on a background thread.

    Args:
        clip_path: the clip.
        depth_source: its depth (from ``open_depth``), or None for none: every packet then carries
            a 1x1 inverse depth of 0 (everything at infinity).
        queue_size: packets decoded ahead (bounded, so a paused player does not fill memory).
        cache: frame cache shared with seeks; None disables caching.
        info: the probed clip, if the caller has it (otherwise probed here).
        threads: let FFmpeg decode with its own threads (``thread_type = "AUTO"``).
        interleave_chroma: hand chroma over interleaved, ``(Y, UV)`` (for a software
            rasteriser: ``gpu.context.interleave_chroma_for``).

    Use as a context manager (``start`` on entry, ``close`` on exit), or call both yourself.
    """

    def __init__(
        self,
        clip_path: PathLike,
        depth_source: DepthSource | None,
        queue_size: int = 8,
        cache: FrameCache | None = None,
        *,
        info: MediaInfo | None = None,
        threads: bool = True,
        interleave_chroma: bool = False,
    ) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be >= 1")
        self.info = info if info is not None else probe_media(clip_path)
        self.depth_source = depth_source
        self.cache = cache
        self._threads = threads
        self._interleave = interleave_chroma
        self._queue: queue.Queue[FramePacket | _Failure] = queue.Queue(maxsize=queue_size)
        self._cond = threading.Condition()
        self._epoch = 0
        self._next = 0
        self._halted = False
        self._stop = False
        self._closed = False
        self._error: InputError | None = None
        self._peeked: FramePacket | None = None
        self._no_depth = np.zeros((1, 1), np.float32)
        self._no_depth.flags.writeable = False
        name = f"{THREAD_NAME_PREFIX}:{self.info.path.name}"
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    # -- main-thread API ---------------------------------------------------------------------

    def start(self) -> DecoderThread:
        """Start decoding from frame 0 (or from the last ``seek``). Idempotent."""
        if self._closed:
            raise RuntimeError("decoder is closed")
        if not self._thread.is_alive() and self._thread.ident is None:
            self._thread.start()
        return self

    @property
    def epoch(self) -> int:
        """The current seek generation; packets of older ones are dropped."""
        return self._epoch

    @property
    def error(self) -> InputError | None:
        """The error that stopped decoding since the last seek, if any."""
        return self._error

    @property
    def queued(self) -> int:
        """Packets waiting in the queue (a gauge for a HUD; stale ones included until dropped)."""
        return self._queue.qsize()

    @property
    def queue_capacity(self) -> int:
        """The queue's bound (``queue_size``)."""
        return self._queue.maxsize

    @property
    def at_end(self) -> bool:
        """Every frame up to the last has been handed out (nothing is queued or coming)."""
        with self._cond:
            done = self._next >= self.info.frame_count or self._halted
        return done and self._peeked is None and self._queue.empty()

    def seek(self, index: int) -> None:
        """Continue from frame ``index``: packets decoded before this call are never returned.

        A cached frame is queued at once, by the calling thread; otherwise the decoder thread
        lands on the keyframe before ``index`` and decodes forward to it.

        Raises:
            IndexError: ``index`` is outside 0 .. frame_count - 1.
        """
        if not 0 <= index < self.info.frame_count:
            raise IndexError(f"frame {index} is outside 0..{self.info.frame_count - 1}")
        with self._cond:
            self._epoch += 1
            epoch = self._epoch
            self._next = index
            self._halted = False
            self._error = None
            self._peeked = None
            hit = self.cache.get(index) if self.cache is not None else None
            if hit is not None:
                self._next = index + 1
            self._drain()
            if hit is not None:
                packet = dataclasses.replace(hit, epoch=epoch)
                while True:
                    try:
                        self._queue.put_nowait(packet)
                        break
                    except queue.Full:
                        self._drain()  # the thread slipped a stale packet in; make room
            self._cond.notify_all()

    def get(self, timeout: float = 0.0) -> FramePacket | None:
        """The next packet of the current epoch, waiting up to ``timeout`` seconds (0 = poll).

        Returns None when none arrived in time (also at the end of the clip).

        Raises:
            InputError: the thread failed (damaged file, unreadable depth); packets decoded
                before the failure are returned first.
        """
        if self._peeked is not None:
            packet, self._peeked = self._peeked, None
            if packet.epoch == self._epoch:
                return packet
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            remaining = deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=remaining) if remaining > 0 else (
                    self._queue.get_nowait()
                )
            except queue.Empty:
                return None
            if item.epoch != self._epoch:
                continue  # from before the latest seek
            if isinstance(item, _Failure):
                raise item.error
            return item

    def get_frame(self, index: int, timeout: float = 0.0) -> FramePacket | None:
        """The packet for frame ``index``, dropping queued packets before it (late frames).

        A packet past ``index`` is kept for a later call and None is returned: its time has not
        come. Waits up to ``timeout`` seconds in all.
        """
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            packet = self.get(max(0.0, deadline - time.monotonic()))
            if packet is None:
                return None
            if packet.index == index:
                return packet
            if packet.index > index:
                self._peeked = packet
                return None

    def close(self) -> None:
        """Stop the thread, wait for it and release its files. Idempotent.

        Raises:
            RuntimeError: the thread did not stop within 10 s (a bug; it is a daemon thread).
        """
        if self._closed:
            return
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._drain()  # unblock a put
        if self._thread.ident is not None:
            self._thread.join(_JOIN_TIMEOUT_S)
            if self._thread.is_alive():
                raise RuntimeError(f"{self._thread.name} did not stop")
        self._closed = True
        self._peeked = None
        self._drain()

    def __enter__(self) -> DecoderThread:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _drain(self) -> None:
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return

    # -- decoder thread ----------------------------------------------------------------------

    def _run(self) -> None:
        video: VideoReader | PlateReader | None = None
        depth: DepthReader | None = None
        try:
            while True:
                with self._cond:
                    while not self._stop and (
                        self._halted or self._next >= self.info.frame_count
                    ):
                        self._cond.wait()
                    if self._stop:
                        return
                    epoch, index = self._epoch, self._next
                    self._next = index + 1
                try:
                    if video is None:
                        video = open_frame_reader(self.info, self._threads)
                    if depth is None and self.depth_source is not None:
                        depth = self.depth_source.reader()
                    packet = self._produce(video, depth, index, epoch)
                except Exception as exc:  # every failure reaches the main thread, none is lost
                    error = exc if isinstance(exc, InputError) else self._wrap(exc, index)
                    for r in (video, depth):
                        if r is not None:
                            r.close()
                    video = depth = None  # reopened after the next seek
                    self._fail(epoch, error)
                    continue
                if packet is not None:
                    self._deliver(packet)
        finally:
            for r in (video, depth):
                if r is not None:
                    r.close()

    def _wrap(self, exc: Exception, index: int) -> InputError:
        info = self.info
        if isinstance(exc, (StreamEndedError, av.EOFError)):
            last = exc.last_index + 1 if isinstance(exc, StreamEndedError) else index
            return InputError(
                f"video ends at frame {last} of {info.frame_count} (cut short or damaged)",
                info.path,
            )
        if isinstance(exc, av.FFmpegError):
            return InputError(f"decode error at frame {index} ({reason(exc)})", info.path)
        return InputError(f"decoding failed at frame {index} ({type(exc).__name__}: {exc})",
                          info.path)

    def _produce(
        self, video: VideoReader | PlateReader, depth: DepthReader | None, index: int, epoch: int
    ) -> FramePacket | None:
        if self.cache is not None:
            hit = self.cache.get(index)
            if hit is not None:
                return dataclasses.replace(hit, epoch=epoch)
        frame = video.read(index, abort=lambda: self._stop or self._epoch != epoch)
        if frame is None:
            return None  # superseded by a seek
        info = self.info
        packet = FramePacket(
            index=index,
            pts=int(frame.pts if frame.pts is not None else info.pts_of_index(index)),
            time=info.time_of_index(index),
            planes=self._planes(frame),
            format=PLATE_FORMAT if self._managed else info.pix_fmt,
            depth=self._read_depth(depth, index) if depth is not None else self._no_depth,
            epoch=epoch,
        )
        if self.cache is not None:
            self.cache.put(packet)
        return packet

    @property
    def _managed(self) -> bool:
        """Frames arrive in the working space as RGB float (plates, or a video with a named
        input space), not as YUV planes."""
        return self.info.plate is not None or self.info.colour is not None

    def _planes(self, frame: av.VideoFrame | PlateFrame) -> tuple[np.ndarray, ...]:
        if isinstance(frame, PlateFrame):
            return frame.planes
        if self.info.colour is not None:
            return (video_frame_rgb(frame, self.info),)
        return frame_planes(frame, self.info, interleave=self._interleave)

    def _read_depth(self, depth: DepthReader, index: int) -> np.ndarray:
        try:
            return depth.read(index)
        except InputError:
            raise
        except Exception as exc:
            # Unexpected failures of the depth reader name the depth, not the clip.
            assert self.depth_source is not None
            raise InputError(f"reading depth failed at frame {index} ({type(exc).__name__}: "
                             f"{exc})", self.depth_source.path) from None

    def _deliver(self, item: FramePacket | _Failure) -> None:
        while not self._stop and item.epoch == self._epoch:
            try:
                self._queue.put(item, timeout=_PUT_POLL_S)
                return
            except queue.Full:
                continue

    def _fail(self, epoch: int, error: InputError) -> None:
        with self._cond:
            if epoch != self._epoch:
                return  # a seek already moved on; the next produce will tell if it recurs
            self._halted = True
            self._error = error
        self._deliver(_Failure(epoch, error))
