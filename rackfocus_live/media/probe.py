"""Open and validate a clip (and, through ``open_depth``, its depth) before anything starts.

``probe_clip`` reads the container header and decodes the first frame, so every problem a user
can fix (missing file, no video stream, no frames, unknown frame rate, unsupported codec) is one
:class:`InputError` naming the file, raised before a thread or a window exists.

Frame indices: a frame's index is its presentation time times the frame rate,
``round((pts - start_pts) * time_base * fps)``, never its position in decode order. Containers
that do not store a frame count (Matroska, WebM, MPEG-TS) get it from the last frame, found by one
seek near the end and a short decode. So does a variable-frame-rate MP4/MOV whose duration holds
more frame slots than it has frames (a phone clip with dropped frames): its stored count is the
number of frames, but playback and export address slots up to the last frame's.

HDR transfers (PQ, HLG) are not supported: such a clip is processed as SDR, and
``clip_warnings`` says so in one line for the caller to show.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import av
import numpy as np

from rackfocus_live.colour import holds_highlights
from rackfocus_live.errors import InputError
from rackfocus_live.files import check_input

if TYPE_CHECKING:
    from rackfocus_live.colour import ColourPlan
    from rackfocus_live.depth import DepthMapping
    from rackfocus_live.media.depthsource import DepthSource
    from rackfocus_live.media.sequence import PlateSource

PathLike = str | os.PathLike[str]
ColorMatrix = Literal["bt601", "bt709", "bt2020"]
ColorRange = Literal["limited", "full"]
HdrTransfer = Literal["pq", "hlg"]


@dataclass(frozen=True, slots=True)
class PlaneLayout:
    """How a planar YUV format stores its samples.

    Attributes:
        chroma_shift: (x, y) log2 subsampling of the U and V planes: (1, 1) is 4:2:0.
        bits: significant bits per sample (8, 10, 12, 16).
        dtype: numpy type of one sample as decoded (uint8, or little-endian uint16).
    """

    chroma_shift: tuple[int, int]
    bits: int
    dtype: type[np.unsignedinteger]


def _layouts() -> dict[str, PlaneLayout]:
    table: dict[str, PlaneLayout] = {}
    for name, shift in (("420", (1, 1)), ("422", (1, 0)), ("444", (0, 0))):
        for prefix in ("yuv", "yuvj", "yuva"):
            table[f"{prefix}{name}p"] = PlaneLayout(shift, 8, np.uint8)
        for bits in (10, 12, 16):
            for prefix in ("yuv", "yuva"):
                table[f"{prefix}{name}p{bits}le"] = PlaneLayout(shift, bits, np.uint16)
    return table


#: Pixel formats delivered to the GPU as they are decoded (the alpha plane of yuva is dropped).
PLANE_LAYOUTS: dict[str, PlaneLayout] = _layouts()

# AVColorSpace codes (libavutil/pixfmt.h) -> our three matrices. SMPTE 240M is close enough to
# BT.709 to share its matrix; FCC is BT.601's predecessor.
_MATRIX_OF_AVCOL = {1: "bt709", 4: "bt601", 5: "bt601", 6: "bt601", 7: "bt709", 9: "bt2020",
                    10: "bt2020"}
_AVCOL_RANGE_MPEG, _AVCOL_RANGE_JPEG = 1, 2
# AVColorTransferCharacteristic codes of HDR transfers (SMPTE ST 2084 and ARIB STD-B67).
_HDR_OF_AVCOL_TRC: dict[int, HdrTransfer] = {16: "pq", 18: "hlg"}
# Frame counts above this are treated as corrupt headers (a day at 120 fps).
_MAX_FRAMES = 10_368_000


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """What the rest of the program needs to know about a video stream.

    Attributes:
        path: the file.
        width: coded width of the decoded frames (before rotation).
        height: coded height of the decoded frames (before rotation).
        fps: frame rate, exact (``Fraction(24000, 1001)``).
        time_base: units of ``pts``, seconds.
        duration: ``frame_count / fps`` seconds.
        frame_count: number of frames (indices 0 .. frame_count - 1).
        pix_fmt: pixel format of the planes the decoder delivers (see ``PLANE_LAYOUTS``).
        color_matrix: YUV matrix of those planes: bt601, bt709 or bt2020.
        color_range: limited (16-235 for 8-bit) or full (0-255).
        rotation: display rotation in degrees counter-clockwise (0, 90, 180, 270), from the
            stream's display matrix; the uploader applies it.
        has_audio: the file also has an audio stream.
        codec: the video codec's name.
        start_pts: pts of frame 0.
        source_pix_fmt: the stream's own pixel format; differs from ``pix_fmt`` when the decoder
            converts it (RGB, grey, packed or semi-planar formats are converted to planar 4:4:4).
        hdr: the HDR transfer the clip is tagged with (pq, hlg), or None for SDR. HDR is not
            supported: the code values are processed as SDR (see ``clip_warnings``).
        interlaced: the stream is coded as interlaced fields (tagged field order, or its first
            frame says so); frames are processed as progressive (see ``clip_warnings``).
        plate: for an image sequence (``media.sequence``), its files and colour; None for video.
        colour: for a video whose colour space was named by the user (``--input-space``), the
            plan its frames are converted with on the decoder thread (to the scene-linear
            working space, as plates are); None keeps the video's own tags (YUV on the GPU).
    """

    path: Path
    width: int
    height: int
    fps: Fraction
    time_base: Fraction
    duration: float
    frame_count: int
    pix_fmt: str
    color_matrix: ColorMatrix
    color_range: ColorRange
    rotation: int = 0
    has_audio: bool = False
    codec: str = ""
    start_pts: int = 0
    source_pix_fmt: str = ""
    hdr: HdrTransfer | None = None
    interlaced: bool = False
    plate: PlateSource | None = None
    colour: ColourPlan | None = None

    @property
    def scene_linear(self) -> bool:
        """Frames carry true scene light (float or log plates, log video): no highlight boost,
        no firefly clamp."""
        if self.plate is not None:
            return self.plate.scene_linear
        space = self.colour.input_space if self.colour is not None else None
        return space is not None and holds_highlights(space)

    @property
    def layout(self) -> PlaneLayout:
        return PLANE_LAYOUTS[self.pix_fmt]

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) as shown: swapped for a 90 or 270 degree rotation."""
        if self.rotation in (90, 270):
            return self.height, self.width
        return self.width, self.height

    @property
    def converted(self) -> bool:
        """The decoder reformats every frame (the stream's format is not planar YUV)."""
        return self.pix_fmt != self.source_pix_fmt

    def index_of_pts(self, pts: int) -> int:
        """Frame index of a presentation timestamp (nearest frame slot, halves round up)."""
        # Exact integer arithmetic: called for every packet and frame, and Fractions are slow.
        tb, fps = self.time_base, self.fps
        num = (pts - self.start_pts) * tb.numerator * fps.numerator
        den = tb.denominator * fps.denominator
        return (2 * num + den) // (2 * den)

    def pts_of_index(self, index: int) -> int:
        """Presentation timestamp of frame ``index`` (nearest tick of the time base)."""
        tb, fps = self.time_base, self.fps
        num = index * fps.denominator * tb.denominator
        den = fps.numerator * tb.numerator
        return self.start_pts + (2 * num + den) // (2 * den)

    def time_of_index(self, index: int) -> float:
        """Clip-relative seconds of frame ``index``."""
        return float(Fraction(index) / self.fps)


def reason(exc: BaseException) -> str:
    """The first line of an FFmpeg error without PyAV's repeated file name."""
    text = str(exc).strip()
    if not text:
        return type(exc).__name__
    first = text.splitlines()[0]
    # PyAV appends ": 'path'" (or the failing call); the user already sees the path.
    first = first.split(": '", 1)[0]
    if first.startswith("[Errno"):
        first = first.split("] ", 1)[-1]
    return first


def open_container(path: Path, what: str = "video file") -> av.container.InputContainer:
    """``av.open`` with every failure turned into one InputError naming the file."""
    try:
        return av.open(os.fspath(path), mode="r")
    except FileNotFoundError:
        raise InputError("file not found", path) from None
    except PermissionError:
        raise InputError("permission denied", path) from None
    except av.EOFError:
        raise InputError(f"{what} ends before any data (empty or cut short)", path) from None
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError) as exc:
        if _mp4_index_missing(path):
            raise InputError(
                f"not a readable {what}: the MP4 index ('moov') is missing, the file was cut "
                "short (an interrupted recording or an incomplete copy)", path) from None
        raise InputError(f"not a readable {what} ({reason(exc)})", path) from None


def _mp4_index_missing(path: Path) -> bool:
    """True for an ISO-BMFF file (MP4, MOV) whose top-level boxes hold no ``moov``: FFmpeg
    only says "invalid data" then, while the cause is nearly always a file cut short (a camera
    stopped before it wrote the index at the end, or a copy that did not finish)."""
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            pos, first = 0, True
            while pos + 8 <= size:
                fh.seek(pos)
                head = fh.read(16)
                box_size, kind = int.from_bytes(head[:4], "big"), head[4:8]
                if first and kind != b"ftyp":
                    return False  # not ISO-BMFF: FFmpeg's own reason stands
                first = False
                if kind == b"moov":
                    return False
                if box_size == 1 and len(head) == 16:
                    box_size = int.from_bytes(head[8:16], "big")  # 64-bit "largesize"
                elif box_size == 0:
                    return True  # the last box runs to the end of the file: no moov after it
                if box_size < 8:
                    return False  # not a box structure we understand
                pos += box_size
            return not first
    except OSError:
        return False


def video_stream(
    container: av.container.InputContainer, path: Path, what: str = "video file"
) -> av.VideoStream:
    """The first real video stream (cover art is not video); InputError if there is none."""
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    if container.streams.audio:
        raise InputError("no video stream (the file has only audio)", path)
    raise InputError(f"no video stream (not a {what})", path)


def delivery_format(source: str) -> tuple[str, bool]:
    """(format the decoder delivers, whether it recolours) for a stream's pixel format.

    Planar YUV goes through untouched. Other YUV layouts (NV12, YUYV, P010, 4:1:1) are repacked to
    planar 4:4:4 keeping their matrix and range; RGB and grey are converted to BT.709 full-range
    4:4:4, the only case where the CPU does colour maths (and it is lossless enough at 4:4:4).
    """
    if source in PLANE_LAYOUTS:
        return source, False
    try:
        fmt = av.VideoFormat(source)
        bits = max(c.bits for c in fmt.components)
        is_yuv = not fmt.is_rgb and len(fmt.components) >= 3
    except (ValueError, av.FFmpegError):
        bits, is_yuv = 8, False
    target = "yuv444p" if bits <= 8 else "yuv444p16le"
    return target, not is_yuv


def _matrix(code: int, width: int, height: int) -> ColorMatrix:
    if code in _MATRIX_OF_AVCOL:
        return _MATRIX_OF_AVCOL[code]  # type: ignore[return-value]
    # Untagged: what players assume (mpv, FFmpeg's scale filter): HD and up is BT.709.
    return "bt709" if width >= 1280 or height > 576 else "bt601"


def _range(code: int, pix_fmt: str) -> ColorRange:
    if code == _AVCOL_RANGE_JPEG or (code != _AVCOL_RANGE_MPEG and pix_fmt.startswith("yuvj")):
        return "full"
    return "limited"


def _rotation(frame: av.VideoFrame) -> int:
    try:
        value = float(frame.rotation or 0)
    except (AttributeError, TypeError, ValueError):
        return 0
    if not math.isfinite(value):
        return 0
    # Display matrices carry any angle; a video can only be shown in 90-degree steps.
    return round(value / 90.0) * 90 % 360


def _frame_rate(stream: av.VideoStream) -> Fraction | None:
    for rate in (stream.guessed_rate, stream.average_rate, stream.base_rate):
        if rate is not None and rate > 0 and rate.denominator > 0:
            fps = Fraction(rate)
            # Matroska reports 1000/1 when it knows nothing; no real video runs that fast.
            if fps <= 1000:
                return fps
    return None


def _first_frame(
    container: av.container.InputContainer, stream: av.VideoStream, path: Path,
    what: str = "video file",
) -> av.VideoFrame:
    try:
        for frame in container.decode(stream):
            return frame
    except av.FFmpegError as exc:
        raise InputError(f"not a readable {what}: its first frame cannot be decoded "
                         f"({reason(exc)})", path) from None
    raise InputError("video stream has no frames (zero-length clip)", path)


def _count_from_tail(
    container: av.container.InputContainer,
    stream: av.VideoStream,
    start_pts: int,
    fps: Fraction,
    time_base: Fraction,
    estimate: int,
) -> int:
    """Frame count from the last decodable frame: seek a little before the estimated end and
    decode to the end of the file (a truncated tail just ends the count early)."""
    last = -1
    for back in (2, 30, 300):
        target_index = max(0, estimate - back)
        target = start_pts + round(Fraction(target_index) / fps / time_base)
        try:
            container.seek(target, stream=stream, backward=True)
            for frame in container.decode(stream):
                if frame.pts is not None:
                    index = round(Fraction(frame.pts - start_pts) * time_base * fps)
                    last = max(last, index)
        except av.FFmpegError:
            pass  # a damaged tail: count what decoded before it
        if last >= 0:
            return last + 1
    return 0


def _count_by_demux(container: av.container.InputContainer, stream: av.VideoStream) -> int:
    container.seek(0, backward=True)
    count = 0
    try:
        for packet in container.demux(stream):
            if packet.size:
                count += 1
    except av.FFmpegError:
        pass
    return count


def probe_clip(path: PathLike, *, what: str = "video file") -> MediaInfo:
    """Open ``path``, validate its video stream, and describe it.

    Args:
        path: the clip.
        what: how errors name the file's role ("video file", "depth file").

    Raises:
        InputError: the file is missing, empty, unreadable, has no video stream, no frames, no
            usable frame rate, or its first frame cannot be decoded.
    """
    p = check_input(path, f"a {what}")
    with open_container(p, what) as container:
        stream = video_stream(container, p, what)
        has_audio = bool(container.streams.audio)
        if stream.time_base is None:
            raise InputError("video stream has no time base", p)
        time_base = Fraction(stream.time_base)
        fps = _frame_rate(stream)
        if fps is None:
            raise InputError("video stream has no usable frame rate", p)
        first = _first_frame(container, stream, p, what)
        if first.pts is None:
            raise InputError(
                "video has no timestamps (a raw elementary stream?); remux it into .mp4 or .mkv",
                p,
            )
        start_pts = first.pts
        source_fmt = first.format.name
        pix_fmt, recolour = delivery_format(source_fmt)
        width, height = first.width, first.height
        if width <= 0 or height <= 0:
            raise InputError(f"video has an invalid size {width}x{height}", p)
        if recolour:
            matrix: ColorMatrix = "bt709"
            crange: ColorRange = "full"
        else:
            matrix = _matrix(int(first.colorspace or stream.codec_context.colorspace or 2),
                             width, height)
            crange = _range(int(first.color_range or stream.codec_context.color_range or 0),
                            source_fmt)
        rotation = _rotation(first)
        trc = int(first.color_trc or stream.codec_context.color_trc or 2)
        hdr = _HDR_OF_AVCOL_TRC.get(trc)

        count = int(stream.frames or 0)
        seconds = None
        if stream.duration:
            seconds = float(stream.duration * time_base)
        elif container.duration:
            seconds = container.duration / av.time_base
        estimate = max(1, round(seconds * fps)) if seconds is not None and seconds > 0 else None
        if not 0 < count <= _MAX_FRAMES:
            if estimate is not None:
                count = _count_from_tail(container, stream, start_pts, fps, time_base, estimate)
            if count <= 0:
                count = _count_by_demux(container, stream)
        elif estimate is not None and count < estimate <= _MAX_FRAMES:
            # MP4/MOV store the number of frames; a variable-rate clip with gaps has more frame
            # slots than frames, and slots are what playback and export address. The last
            # frame's slot decides (never fewer than the stored count: a damaged tail that
            # decodes short must still report what the index promises).
            count = max(count, _count_from_tail(container, stream, start_pts, fps, time_base,
                                                estimate))
        if count <= 0:
            raise InputError("video stream has no frames (zero-length clip)", p)
        codec = stream.codec_context.name if stream.codec_context else ""
        # FFmpeg's field order: 0 unknown, 1 progressive, 2..5 the interlaced orders.
        field_order = int(getattr(stream.codec_context, "field_order", 0) or 0)
        interlaced = bool(first.interlaced_frame) or field_order >= 2

    return MediaInfo(
        path=p,
        width=width,
        height=height,
        fps=fps,
        time_base=time_base,
        duration=float(count / fps),
        frame_count=count,
        pix_fmt=pix_fmt,
        color_matrix=matrix,
        color_range=crange,
        rotation=rotation,
        has_audio=has_audio,
        codec=codec,
        start_pts=start_pts,
        source_pix_fmt=source_fmt,
        hdr=hdr,
        interlaced=interlaced,
    )


def clip_warnings(info: MediaInfo) -> list[str]:
    """One-line warnings about a clip that plays, but not quite as shot (for the CLI's stderr
    and the app's panel): an HDR transfer processed as SDR, interlaced fields as frames."""
    out = []
    if info.hdr is not None:
        matrix = {"bt601": "BT.601", "bt709": "BT.709", "bt2020": "BT.2020"}[info.color_matrix]
        out.append(
            f"HDR video ({matrix} {info.hdr.upper()}, {info.layout.bits}-bit) is not supported: "
            f"processed as SDR (blur and highlights work on the {info.hdr.upper()} signal as if "
            "it were SDR); exports keep the clip's HDR tags")
    if info.interlaced:
        out.append("interlaced video: fields are processed as progressive frames (combing on "
                   "motion); deinterlace it first, e.g. ffmpeg -i IN -vf bwdif=mode=send_frame OUT")
    return out


def open_depth(
    path_or_pattern: PathLike, mapping: DepthMapping, clip_info: MediaInfo
) -> DepthSource:
    """Open and validate the depth for a clip (video, image sequence or still).

    See :func:`rackfocus_live.media.depthsource.open_depth`; re-exported here so that probing a
    clip and its depth is one import.
    """
    # Imported here: depthsource builds on this module.
    from rackfocus_live.media.depthsource import open_depth as _open_depth

    return _open_depth(path_or_pattern, mapping, clip_info)
