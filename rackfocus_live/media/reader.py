"""Frame-accurate random access to one video stream, by frame index (clip or depth video).

A seek lands on the keyframe at or before the target and decodes forward to the frame whose
presentation timestamp is the target's (PyAV ``tests/test_seek.py`` does the same); frames are
compared by the index computed from their pts, never by how many were decoded. Reading the next
frame, or one a little ahead within the same GOP, decodes forward without seeking. Keyframe
positions are learnt while decoding, so the reader seeks only when a keyframe lies between where
it is and where it must go. While decoding forward to a target, FFmpeg skips the non-reference
frames shown before it (``skip_frame = NONREF``, per packet): with B-frames that is about half the
work of a seek.

Frames are addressed by slot: ``read(k)`` returns the last frame whose index is <= k, so a
variable-rate stream with a gap repeats the previous frame (if that one was a skipped B-frame, the
reference frame before it stands in).

A ``VideoReader`` belongs to one thread (the decoder thread); PyAV objects are not shared.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from fractions import Fraction

import av
import numpy as np
import numpy.typing as npt

from rackfocus_live.media.probe import MediaInfo, delivery_format, open_container, video_stream

# How far back (seconds) to retry a seek whose first frame is already past the target (open GOPs,
# edit lists, timestamps that do not start at the keyframe); the last entry means "file start".
_RESEEK_BACKOFF_S = (0.0, 1.0, 10.0, None)


class StreamEndedError(Exception):
    """The file ended before the requested frame (it is shorter than its header says).

    Attributes:
        last_index: index of the last frame that decoded, -1 if none did.
    """

    def __init__(self, last_index: int) -> None:
        super().__init__(f"stream ended after frame {last_index}")
        self.last_index = last_index


class VideoReader:
    """Decoded frames of one stream by index, with exact seeks.

    Args:
        info: the probed stream.
        threads: let FFmpeg decode with frame and slice threads (``thread_type = "AUTO"``).

    Attributes:
        seeks: seeks issued so far (for tests and benchmarks).
        decoded: frames decoded so far.
        skip_nonref: skip unreferenced frames before a target (class default True; the
            benchmark turns it off to measure what it saves).
    """

    skip_nonref = True

    def __init__(self, info: MediaInfo, *, threads: bool = True) -> None:
        self.info = info
        self._container = open_container(info.path)
        try:
            self._stream = video_stream(self._container, info.path)
            if threads:
                self._stream.codec_context.thread_type = "AUTO"
        except BaseException:
            self._container.close()
            raise
        self._frames: Iterator[tuple[int, av.VideoFrame]] | None = None
        # (index, frame) most recently handed out, and one decoded past it (held back when a
        # variable-rate stream has no frame for a slot and the previous frame stands in).
        self._last: tuple[int, av.VideoFrame] | None = None
        self._pending: tuple[int, av.VideoFrame] | None = None
        self._fresh = True  # nothing decoded yet: the demuxer is at the start of the file
        self._keyframes: list[int] = []
        self._gop = 0
        self._skip_below: int | None = None  # while decoding forward: the target index
        # Frames below this index may have been skipped since the last seek (a read that was
        # aborted before reaching its target); reading one of them needs a fresh seek.
        self._horizon = -1
        self.seeks = 0
        self.decoded = 0

    # -- public ------------------------------------------------------------------------------

    def read(self, index: int, abort: Callable[[], bool] | None = None) -> av.VideoFrame | None:
        """The frame shown at slot ``index``: the last frame whose index is <= ``index``.

        Args:
            index: 0 .. frame_count - 1.
            abort: polled after each decoded frame; when it returns True the read gives up and
                returns None (a newer seek superseded it). The reader stays usable.

        Raises:
            StreamEndedError: the file ends before ``index``.
            av.FFmpegError: the data is damaged. The reader seeks afresh on the next call.
        """
        if self._last is not None and self._last[0] == index:
            return self._last[1]
        if (
            self._last is not None
            and self._pending is not None
            and self._last[0] < index < self._pending[0]
            and index >= self._horizon
        ):
            return self._last[1]  # a gap in a variable-rate stream: hold the previous frame
        self._skip_below = index
        try:
            if self._needs_seek(index):
                self._seek(index)
            self._horizon = max(self._horizon, index)
            return self._decode_to(index, abort)
        except av.FFmpegError:
            self._reset()
            raise
        finally:
            self._skip_below = None

    def close(self) -> None:
        """Close the file. Idempotent."""
        self._frames = None
        self._last = self._pending = None
        self._container.close()

    @property
    def position(self) -> int | None:
        """Index of the newest decoded frame, None before the first decode or after a seek."""
        if self._pending is not None:
            return self._pending[0]
        return None if self._last is None else self._last[0]

    # -- internals ---------------------------------------------------------------------------

    def _reset(self) -> None:
        self._frames = None
        self._last = self._pending = None
        self._fresh = False
        self._horizon = -1

    def _needs_seek(self, index: int) -> bool:
        pos = self.position
        if pos is None:
            return not (self._fresh and index < self._forward_limit())
        if index < self._horizon:
            return True  # frames before an abandoned target may have been skipped
        if index <= pos and not (self._pending is not None and self._pending[0] == index):
            return True  # backwards (or the frame just handed out, handled by the caller)
        # A keyframe between here and the target: seeking there skips everything before it.
        i = bisect.bisect_right(self._keyframes, pos)
        if i < len(self._keyframes) and self._keyframes[i] <= index:
            return True
        return index - pos > self._forward_limit()

    def _forward_limit(self) -> int:
        # Decoding forward beats seeking while the target is within one GOP; before the GOP
        # length is known, allow one second of frames.
        return max(self._gop, round(self.info.fps), 1)

    def _seek(self, index: int) -> None:
        info = self.info
        target = info.pts_of_index(index)
        for backoff in _RESEEK_BACKOFF_S:
            if backoff is None:
                pts = info.start_pts - 1
            else:
                pts = target - round(Fraction(backoff) / info.time_base)
            self._container.seek(pts, stream=self._stream, backward=True)
            self.seeks += 1
            self._frames = self._decode_iter()
            self._last = self._pending = None
            self._fresh = False
            self._horizon = index
            try:
                first = next(self._frames)
            except StopIteration:
                continue
            self._pending = first
            if first[0] <= index:
                return
        # Even the start of the file decodes to a frame past the target (leading frames were
        # dropped): the first frame we have stands in; _decode_to returns it.

    def _decode_iter(self) -> Iterator[tuple[int, av.VideoFrame]]:
        codec = self._stream.codec_context
        skipping = False
        # demux yields a final empty packet whose decode() drains the decoder.
        for packet in self._container.demux(self._stream):
            # Decoding forward to a target, frames shown before it are never needed: let FFmpeg
            # skip the non-reference ones (B-frames nothing predicts from). Decided per packet,
            # so the target and everything after it decode normally.
            skip = (
                self.skip_nonref
                and self._skip_below is not None
                and packet.pts is not None
                and self.info.index_of_pts(packet.pts) < self._skip_below
            )
            if skip != skipping:
                codec.skip_frame = "NONREF" if skip else "DEFAULT"
                skipping = skip
            for frame in packet.decode():
                if frame.pts is None:
                    continue  # cannot be placed on the timeline
                index = self.info.index_of_pts(frame.pts)
                self.decoded += 1
                if frame.key_frame:
                    self._learn_keyframe(index)
                yield index, frame

    def _learn_keyframe(self, index: int) -> None:
        i = bisect.bisect_left(self._keyframes, index)
        if i < len(self._keyframes) and self._keyframes[i] == index:
            return
        self._keyframes.insert(i, index)
        for a, b in ((i - 1, i), (i, i + 1)):
            if a >= 0 and b < len(self._keyframes):
                self._gop = max(self._gop, self._keyframes[b] - self._keyframes[a])

    def _next(self) -> tuple[int, av.VideoFrame] | None:
        if self._pending is not None:
            item, self._pending = self._pending, None
            return item
        if self._frames is None:
            self._frames = self._decode_iter()
        self._fresh = False
        return next(self._frames, None)

    def _decode_to(self, index: int, abort: Callable[[], bool] | None) -> av.VideoFrame | None:
        while True:
            item = self._next()
            if item is None:
                self._frames = None
                last = self._last
                # A slot or so past the last frame: a variable-rate ending, hold the last frame.
                if last is not None and index - last[0] <= 1:
                    return last[1]
                self._last = None
                raise StreamEndedError(-1 if last is None else last[0])
            frame_index, frame = item
            if frame_index > index:
                if self._last is not None:
                    self._pending = item
                    return self._last[1]
                self._last = item  # the first frame after a seek is past the target
                return frame
            self._last = item
            if frame_index == index:
                return frame
            if abort is not None and abort():
                return None


def frame_planes(frame: av.VideoFrame, info: MediaInfo, *, interleave: bool = False
                 ) -> tuple[npt.NDArray[np.generic], ...]:
    """The frame as the uploader takes it, in ``info.pix_fmt``, read-only: ``(Y, U, V)``, each
    HxW, or with ``interleave`` ``(Y, UV)``, UV the two chroma planes interleaved (h, w, 2).

    Planes are zero-copy: views into the decoded frame's own buffer (which they keep alive),
    with the row padding (``line_size``) left out of the view but still there for an upload that
    wants whole rows. Interleaved chroma is a copy made here, on the decoder thread (a quarter of
    a millisecond for 1080p 4:2:0), for a software rasteriser, where one two-channel texture
    costs the conversion one bilinear read instead of two (``gpu.context.interleave_chroma_for``).
    No colour maths unless the stream is not planar YUV (see ``probe.delivery_format``), in
    which case the frame is converted first.
    """
    y, u, v = _plane_views(frame, info)
    return (y, interleave_chroma(u, v)) if interleave else (y, u, v)


def frame_luma(frame: av.VideoFrame, info: MediaInfo) -> npt.NDArray[np.generic]:
    """The frame's luma plane alone, as in :func:`frame_planes` (no chroma work)."""
    return _plane_views(frame, info)[0]


def interleave_chroma(u: npt.NDArray[np.generic], v: npt.NDArray[np.generic]
                      ) -> npt.NDArray[np.generic]:
    """``u`` and ``v`` (HxW each) as one read-only (H, W, 2) array, U first (NV12's order)."""
    if u.shape != v.shape or u.dtype != v.dtype:
        raise ValueError(f"chroma planes differ: {u.shape} {u.dtype} vs {v.shape} {v.dtype}")
    uv = np.empty((*u.shape, 2), dtype=u.dtype)
    uv[..., 0] = u
    uv[..., 1] = v
    uv.flags.writeable = False
    return uv


def _plane_views(frame: av.VideoFrame, info: MediaInfo) -> list[npt.NDArray[np.generic]]:
    """Y, U, V as read-only HxW views into the decoded frame (converted to ``info.pix_fmt``
    first where it differs)."""
    if frame.format.name != info.pix_fmt:
        if delivery_format(info.source_pix_fmt)[1]:
            # RGB or grey: the one case of CPU colour maths, to the matrix probe reported.
            frame = frame.reformat(format=info.pix_fmt, dst_colorspace="itu709",
                                   dst_color_range=2)
        else:
            frame = frame.reformat(format=info.pix_fmt)
    dtype = np.dtype(info.layout.dtype).newbyteorder("<")
    planes: list[npt.NDArray[np.generic]] = []
    for plane in frame.planes[:3]:
        # memoryview: the same bytes, no copy; numpy's stubs take only builtin buffer types.
        rows = np.frombuffer(memoryview(plane), dtype=np.uint8)
        rows = rows.reshape(plane.height, plane.line_size)
        data = rows[:, : plane.width * dtype.itemsize].view(dtype)
        if not dtype.isnative:
            data = data.astype(dtype.newbyteorder("="))
        data.flags.writeable = False
        planes.append(data)
    return planes
