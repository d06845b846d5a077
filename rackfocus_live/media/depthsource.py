"""Depth that goes with a clip: a depth video, a numbered image sequence, or one still.

``open_depth`` validates the depth before playback starts and decides which depth frame each clip
frame uses (``DepthSource.index_for``); the decoder thread then reads depth through
``DepthSource.reader()`` and maps it to inverse depth with ``DepthMapping`` so the main thread only
uploads. Alignment rules (also in docs/streaming.md):

* Same number of frames as the clip: frame ``i`` goes with clip frame ``i`` (even when a depth
  video's frame rate tag differs: depth tools often write a default rate).
* A depth video with another frame count: by timestamp. Clip frame ``i`` at ``t = i / fps`` takes
  the depth frame at or before ``t`` on the depth video's own clock; the last depth frame is held
  past its end, depth past the clip's end is unused.
* An image sequence with another count has no clock of its own: it is spread evenly over the
  clip's duration, clip frame ``i`` taking image ``floor(i * n_depth / n_clip)``.
* A still (or a one-frame video): every clip frame uses it.

When the counts or rates differ, or the aspect ratios do, one warning line says which rule
applied. Depth of another resolution is expected (depth models work at lower resolution) and is
resampled on the GPU; depth is taken to be in the clip's display orientation (after rotation).
"""

from __future__ import annotations

import math
import os
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal, Protocol

import av
import numpy as np
import numpy.typing as npt

from rackfocus_live.depth import DepthMapping
from rackfocus_live.depthcheck import depth_warnings
from rackfocus_live.errors import InputError
from rackfocus_live.files import check_input
from rackfocus_live.media.images import grey_channel, read_depth_raw
from rackfocus_live.media.numbered import FIELD_RE, find_sequence
from rackfocus_live.media.probe import MediaInfo, PathLike, probe_clip, reason
from rackfocus_live.media.reader import StreamEndedError, VideoReader

DepthSourceKind = Literal["video", "sequence", "still"]
Warn = Callable[[str], None]
InverseDepth = npt.NDArray[np.float32]

_GREY = {"gray": np.uint8, "gray8": np.uint8, "gray16le": np.uint16, "gray16be": np.uint16}
_GREY_HIGH = {"gray9le": 9, "gray10le": 10, "gray12le": 12, "gray14le": 14}
_GREY_FLOAT = {"grayf32le", "grayf32be"}


class DepthReader(Protocol):
    """Reads depth for clip frames; created and used on the decoder thread only."""

    def read(self, clip_index: int) -> InverseDepth:
        """Inverse depth (1/m, float32 HxW, read-only) for clip frame ``clip_index``."""
        ...

    def close(self) -> None:
        """Release files. Idempotent."""
        ...


@dataclass(eq=False)  # identity semantics: sources hold arrays and files
class DepthSource(ABC):
    """Validated depth for one clip.

    Attributes:
        path: the depth file, or the sequence pattern as given.
        kind: video, sequence or still.
        mapping: raw samples -> inverse depth.
        clip: the clip the depth is aligned to.
        width: depth width in pixels.
        height: depth height in pixels.
        frame_count: depth frames (1 for a still).
        warning: the one line describing a non-trivial alignment, or None.
    """

    path: Path
    kind: DepthSourceKind
    mapping: DepthMapping
    clip: MediaInfo
    width: int
    height: int
    frame_count: int
    warning: str | None = None

    @abstractmethod
    def index_for(self, clip_index: int) -> int:
        """The depth frame clip frame ``clip_index`` uses."""

    @abstractmethod
    def reader(self) -> DepthReader:
        """A reader for the decoder thread (opens files; PyAV objects stay on that thread)."""


def _readonly(arr: InverseDepth) -> InverseDepth:
    arr.flags.writeable = False
    return arr


# ----------------------------------------------------------------------------------------------
# Still


@dataclass(eq=False)
class StillDepth(DepthSource):
    """One depth image for every frame; mapped once when opened."""

    inverse: InverseDepth | None = None

    def index_for(self, clip_index: int) -> int:
        return 0

    def reader(self) -> DepthReader:
        assert self.inverse is not None
        return _StillReader(self.inverse)


class _StillReader:
    def __init__(self, inverse: InverseDepth) -> None:
        self._inverse = inverse

    def read(self, clip_index: int) -> InverseDepth:
        # The same array object every time: the uploader skips re-uploading it.
        return self._inverse

    def close(self) -> None:
        pass


# ----------------------------------------------------------------------------------------------
# Image sequence


@dataclass(eq=False)
class SequenceDepth(DepthSource):
    """Numbered images (``depth_%05d.png``, 16-bit PNG or EXR), one per depth frame."""

    files: tuple[Path, ...] = ()
    #: numpy type of the first image's samples; every image must match it.
    dtype: str = "uint16"

    def index_for(self, clip_index: int) -> int:
        n, m = self.frame_count, self.clip.frame_count
        if n == m:
            return clip_index
        return min(n - 1, clip_index * n // m)

    def reader(self) -> DepthReader:
        return _SequenceReader(self)

    def read_samples(self, file: Path) -> npt.NDArray[np.generic]:
        """One image's depth samples as stored, checked against the sequence's first image's
        type (a sequence changing bit depth would flash for a frame)."""
        raw = read_depth_raw(file)
        if raw.dtype != np.dtype(self.dtype):
            raise InputError(f"depth image holds {raw.dtype} samples, the sequence's first "
                             f"{self.dtype}: every image of a sequence must have one bit depth",
                             file)
        return raw


class _SequenceReader:
    def __init__(self, source: SequenceDepth) -> None:
        self._source = source
        self._cached: tuple[int, InverseDepth] | None = None

    def read(self, clip_index: int) -> InverseDepth:
        src = self._source
        i = src.index_for(clip_index)
        if self._cached is not None and self._cached[0] == i:
            return self._cached[1]
        file = src.files[i]
        raw = src.read_samples(file)
        if raw.shape != (src.height, src.width):
            raise InputError(
                f"depth image is {raw.shape[1]}x{raw.shape[0]}, the sequence's first is "
                f"{src.width}x{src.height}",
                file,
            )
        inverse = _readonly(src.mapping.to_inverse_depth(raw, os.fspath(file)))
        self._cached = (i, inverse)
        return inverse

    def close(self) -> None:
        self._cached = None


# ----------------------------------------------------------------------------------------------
# Video


@dataclass(eq=False)
class VideoDepth(DepthSource):
    """A depth video: 8/16-bit grey (FFV1 gray16le for lossless), or the luma of a YUV video."""

    info: MediaInfo | None = None

    def index_for(self, clip_index: int) -> int:
        assert self.info is not None
        n = self.frame_count
        if n == self.clip.frame_count:
            return clip_index
        # Exact rational arithmetic: NTSC rates must not drift over long clips.
        t = Fraction(clip_index) / self.clip.fps
        return max(0, min(n - 1, math.floor(t * self.info.fps)))

    def reader(self) -> DepthReader:
        return _VideoReader(self)


class _VideoReader:
    def __init__(self, source: VideoDepth) -> None:
        assert source.info is not None
        self._source = source
        self._info = source.info
        self._video: VideoReader | None = None
        self._cached: tuple[int, InverseDepth] | None = None

    def read(self, clip_index: int) -> InverseDepth:
        src = self._source
        i = src.index_for(clip_index)
        if self._cached is not None and self._cached[0] == i:
            return self._cached[1]
        try:
            if self._video is None:
                self._video = VideoReader(self._info)
            frame = self._video.read(i)
        except StreamEndedError as exc:
            raise InputError(
                f"depth video ends at frame {exc.last_index + 1} of {src.frame_count} "
                "(cut short or damaged)",
                src.path,
            ) from None
        except av.FFmpegError as exc:
            raise InputError(f"depth decode error at frame {i} ({reason(exc)})", src.path) from None
        assert frame is not None
        raw = depth_samples(frame, src.mapping, self._info)
        inverse = _readonly(src.mapping.to_inverse_depth(raw, os.fspath(src.path)))
        self._cached = (i, inverse)
        return inverse

    def close(self) -> None:
        if self._video is not None:
            self._video.close()
            self._video = None
        self._cached = None


def depth_samples(
    frame: av.VideoFrame, mapping: DepthMapping, info: MediaInfo
) -> npt.NDArray[np.generic]:
    """Raw depth samples of a depth-video frame (HxW uint8, uint16 or float32).

    Grey formats are taken as stored. Grey with 9-14 bits is widened to 16 bits for relative
    conventions (they normalise by the type's maximum) and kept as is for metric depth. A YUV
    video contributes its luma, expanded from limited range when tagged so (a grey image encoded
    with H.264 comes back squeezed to 16-235). RGB takes its first channel.
    """
    name = frame.format.name
    if name in _GREY:
        return frame.to_ndarray().astype(_GREY[name], copy=False)
    if name in _GREY_FLOAT:
        return frame.to_ndarray().astype(np.float32, copy=False)
    if name in _GREY_HIGH:
        values = frame.to_ndarray().astype(np.uint16, copy=False)
        if mapping.kind == "metric":
            return values
        top = (1 << _GREY_HIGH[name]) - 1
        return np.round(values.astype(np.float64) * (65535.0 / top)).astype(np.uint16)
    fmt = frame.format
    bits = max(c.bits for c in fmt.components)
    if not fmt.is_rgb and len(fmt.components) >= 3:
        plane = frame.planes[0]
        dtype = np.dtype("<u2") if bits > 8 else np.dtype(np.uint8)
        # memoryview: the same bytes, no copy; numpy's stubs take only builtin buffer types.
        rows = np.frombuffer(memoryview(plane), dtype=np.uint8)
        rows = rows.reshape(plane.height, plane.line_size)
        luma = rows[:, : plane.width * dtype.itemsize].view(dtype).astype(np.float64)
        top = (1 << bits) - 1
        if info.color_range == "limited":
            s = 1 << (bits - 8)
            luma = (luma - 16 * s) / (219 * s) * top
        out_type = np.uint16 if bits > 8 else np.uint8
        if bits > 8:
            luma = luma * (65535.0 / top)
            top = 65535
        return np.clip(np.round(luma), 0, top).astype(out_type)
    if bits > 8:
        return np.ascontiguousarray(frame.to_ndarray(format="rgb48le")[..., 0])
    return np.ascontiguousarray(frame.to_ndarray(format="rgb24")[..., 0])


#: Mean distance of a depth video's chroma from neutral (in 8-bit levels) above which it is a
#: colour video, not grey depth: encoded grey keeps its chroma within a level or two.
CHROMA_COLOUR_LEVELS = 6.0


def refuse_colour_depth(frame: av.VideoFrame, path: Path) -> None:
    """InputError when a depth video frame is in colour (a colour-mapped depth visualisation,
    or the clip itself passed as depth): no channel of it is the depth."""
    fmt = frame.format
    if len(fmt.components) < 3:
        return
    if fmt.is_rgb:
        bits = max(c.bits for c in fmt.components)
        grey_channel(frame.to_ndarray(format="rgb48le" if bits > 8 else "rgb24"), path)
        return
    yuv = frame.reformat(format="yuv444p").to_ndarray()  # 3 x H x W, 8-bit
    chroma = np.abs(yuv[1:].astype(np.float64) - 128.0).mean()
    if chroma > CHROMA_COLOUR_LEVELS:
        raise InputError(
            "depth video is in colour (its chroma is not neutral): a colour-mapped depth "
            "visualisation (turbo, viridis) cannot be read back as depth; export the depth "
            "model's raw output as greyscale (FFV1 gray16, or 16-bit PNGs)", path)


# ----------------------------------------------------------------------------------------------
# Opening


def _stderr_warning(path: Path) -> Warn:
    def warn(message: str) -> None:
        print(f"rackfocus-live: warning: {path}: {message}", file=sys.stderr)

    return warn


def _fps_text(fps: Fraction) -> str:
    return f"{float(fps):.6g}"


def _aspect_note(width: int, height: int, clip: MediaInfo) -> str | None:
    cw, ch = clip.display_size
    if abs(width / height - cw / ch) <= 0.01 * cw / ch:
        return None
    return (
        f"depth is {width}x{height} and the clip {cw}x{ch}: the aspect ratios differ, depth is "
        "stretched to the frame"
    )


def _join(*notes: str | None) -> str | None:
    parts = [n for n in notes if n]
    return "; ".join(parts) if parts else None


def _sequence_files(pattern: str) -> tuple[Path, ...]:
    return find_sequence(pattern, "depth sequence").files


def _open_sequence(pattern: str, mapping: DepthMapping, clip: MediaInfo) -> SequenceDepth:
    files = _sequence_files(pattern)
    first = read_depth_raw(files[0])
    # Validate the first image fully (mapping included) so "no valid samples" shows up now.
    mapping.to_inverse_depth(first, os.fspath(files[0]))
    _check_png_headers(files)
    height, width = first.shape
    n, m = len(files), clip.frame_count
    note = None
    if n != m:
        per = m / n
        note = (
            f"{n} depth images for {m} clip frames: the sequence is spread evenly over the "
            f"clip's {clip.duration:.3f} s (one image per {per:.3g} frames, by timestamp)"
        )
    return SequenceDepth(
        path=Path(pattern), kind="sequence", mapping=mapping, clip=clip, width=width,
        height=height, frame_count=n,
        warning=_join(note, _aspect_note(width, height, clip), *depth_warnings(first, mapping)),
        files=files, dtype=str(first.dtype),
    )


def _png_header(path: Path) -> tuple[int, int, int, int] | None:
    """(width, height, bit depth, colour type) from a PNG's IHDR, or None if not a PNG."""
    with open(path, "rb") as f:
        head = f.read(26)
    if len(head) < 26 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return (int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big"), head[24],
            head[25])


def _check_png_headers(files: tuple[Path, ...]) -> None:
    """Refuse a PNG sequence whose images change size, bit depth or colour type, naming the
    first image that differs (read from the headers: milliseconds for thousands of images)."""
    first = _png_header(files[0])
    if first is None:
        return
    for file in files[1:]:
        head = _png_header(file)
        if head is None or head == first:
            continue
        if head[:2] != first[:2]:
            what = f"is {head[0]}x{head[1]}, the sequence's first {first[0]}x{first[1]}"
        elif head[2] != first[2]:
            what = f"is {head[2]}-bit, the sequence's first {first[2]}-bit"
        else:
            what = "changes colour type from the sequence's first image"
        raise InputError(f"depth image {what}: every image of a sequence must match", file)


def _open_still(path: Path, mapping: DepthMapping, clip: MediaInfo) -> StillDepth:
    raw = read_depth_raw(path)
    inverse = _readonly(mapping.to_inverse_depth(raw, os.fspath(path)))
    height, width = inverse.shape
    return StillDepth(
        path=path, kind="still", mapping=mapping, clip=clip, width=width, height=height,
        frame_count=1, warning=_join(_aspect_note(width, height, clip),
                                     *depth_warnings(raw, mapping)),
        inverse=inverse,
    )


def _open_video(path: Path, info: MediaInfo, mapping: DepthMapping, clip: MediaInfo) -> VideoDepth:
    n, m = info.frame_count, clip.frame_count
    note = None
    if n == m and info.fps != clip.fps:
        note = (
            f"depth video is {_fps_text(info.fps)} fps and the clip {_fps_text(clip.fps)} fps "
            f"with the same {n} frames: matched frame by frame"
        )
    elif n != m:
        depth_end = n / info.fps
        tail = ""
        if depth_end < clip.duration:
            held = clip.duration - depth_end
            tail = f"; its last frame is held for the clip's final {held:.3f} s"
        elif depth_end > clip.duration:
            tail = f"; depth after {clip.duration:.3f} s is unused"
        note = (
            f"depth video has {n} frames at {_fps_text(info.fps)} fps, the clip {m} at "
            f"{_fps_text(clip.fps)} fps: aligned by timestamp (each clip frame takes the depth "
            f"frame at or before its time){tail}"
        )
    # Decode the first frame now: an unsupported or all-invalid depth fails before playback.
    reader = VideoReader(info, threads=False)
    try:
        frame = reader.read(0)
        assert frame is not None
        refuse_colour_depth(frame, path)
        raw = depth_samples(frame, mapping, info)
        mapping.to_inverse_depth(raw, os.fspath(path))
    except av.FFmpegError as exc:
        raise InputError(f"cannot decode the depth video ({reason(exc)})", path) from None
    except StreamEndedError:
        raise InputError("depth video has no frames", path) from None
    finally:
        reader.close()
    height, width = raw.shape
    return VideoDepth(
        path=path, kind="video", mapping=mapping, clip=clip, width=width, height=height,
        frame_count=n, info=info,
        warning=_join(note, _aspect_note(width, height, clip), *depth_warnings(raw, mapping)),
    )


def open_depth(
    path_or_pattern: PathLike,
    mapping: DepthMapping,
    clip_info: MediaInfo,
    warn: Warn | None = None,
) -> DepthSource:
    """Open and validate depth for ``clip_info``; report a non-trivial alignment in one line.

    Args:
        path_or_pattern: a depth video, a still image, or a numbered sequence pattern with one
            printf field (``depth_%05d.png``, ``frames/d_%d.exr``).
        mapping: raw samples -> inverse depth.
        clip_info: the probed clip.
        warn: receives the one warning line (default: printed to stderr as
            ``rackfocus-live: warning: PATH: ...``).

    Raises:
        InputError: missing file, no matching images, a gap in the numbering, unreadable or
            undecodable depth, or depth without a single valid sample.
    """
    text = os.fspath(path_or_pattern)
    if FIELD_RE.search(Path(text).name) and not Path(text).exists():
        source: DepthSource = _open_sequence(text, mapping, clip_info)
    else:
        path = check_input(text, "a depth file")
        info = probe_clip(path, what="depth file")
        if info.frame_count <= 1:
            source = _open_still(path, mapping, clip_info)
        else:
            source = _open_video(path, info, mapping, clip_info)
    if source.warning:
        (warn or _stderr_warning(source.path))(source.warning)
    return source
