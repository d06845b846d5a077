"""Image sequences as clips: ``plate.%04d.exr``, ``plate.####.exr``, DPX, 16-bit PNG/TIFF.

A sequence is found on disk from its pattern (the first frame number is whatever the lowest
file is: 1001 for most VFX plates), checked for gaps (every missing frame reported in one line),
and described by a ``MediaInfo`` like a video clip, with ``plate`` set, so the decoder thread,
the frame cache, preview and export treat both alike. Frame index ``i`` is file number
``first + i``; timestamps are ``i / fps`` (``--fps``, default 24).

Pixels: frames travel as stored (half or float EXR, 8/16-bit integers) from the decoder thread;
the uploader writes them through a pixel-buffer object into a texture of that type and converts
them from the plate's input space to the scene-linear working space (``colour.WORKING_SPACE``)
with OCIO's own GPU shader, into its RGBA16F colour texture. Values above 1.0 survive (half
float holds up to 65504).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TypeVar

import av
import numpy as np
import numpy.typing as npt

from rackfocus_live.colour import SHORT_NAMES, ColourPlan, holds_highlights
from rackfocus_live.depth import DepthMapping
from rackfocus_live.errors import InputError
from rackfocus_live.media.depthsource import (
    DepthSource,
    SequenceDepth,
    Warn,
    open_depth,
)
from rackfocus_live.media.exr import (
    PathLike,
    exr_rgb,
    is_exr,
    read_exr,
    read_exr_depth,
    read_exr_rgb_native,
)
from rackfocus_live.media.images import read_rgb
from rackfocus_live.media.numbered import (
    FIELD_RE,
    ImageSequence,
    find_sequence,
    printf_pattern,
)
from rackfocus_live.media.probe import MediaInfo, probe_clip
from rackfocus_live.media.reader import VideoReader

#: The pixel format of plate packets: HxWx3 as stored (float16/float32 EXR, uint8/uint16 images,
#: float32 code values of a managed video), in the clip's input space (``plate_space``).
PLATE_FORMAT = "rgbf"
_T = TypeVar("_T", bound=np.generic)
DEFAULT_FPS = Fraction(24)
#: Printf (``%04d``, ``%d``) or hash (``####``, one digit per hash) frame-number fields.
#: NTSC-style rates typed as decimals, taken as the exact rationals they stand for.
_NTSC = {"23.976": Fraction(24000, 1001), "29.97": Fraction(30000, 1001),
         "47.952": Fraction(48000, 1001), "59.94": Fraction(60000, 1001),
         "119.88": Fraction(120000, 1001)}


def is_pattern(text: PathLike) -> bool:
    """True for a sequence pattern (a frame-number field in the file name, not an existing file)."""
    p = Path(os.fspath(text))
    return FIELD_RE.search(p.name) is not None and not p.exists()


def parse_fps(text: str | float | None) -> Fraction:
    """A frame rate from ``24``, ``23.976`` (= 24000/1001), ``25``, ``30000/1001``."""
    if text is None:
        return DEFAULT_FPS
    s = str(text).strip()
    try:
        fps = _NTSC.get(s) or Fraction(s).limit_denominator(1001)
    except (ValueError, ZeroDivisionError):
        raise InputError(f"--fps must be a frame rate such as 24, 23.976 or 30000/1001, "
                         f"not {s!r}") from None
    if not 0 < fps <= 1000:
        raise InputError(f"--fps must be within 0..1000, not {s}")
    return fps


@dataclass(frozen=True)
class ClipOptions:
    """How to read a clip beyond its own file: a sequence's rate, a named input colour space
    (plates, or video converted through OCIO), and the EXR depth channel."""

    fps: Fraction | None = None
    colour: ColourPlan | None = None
    depth_channel: str | None = None


@dataclass(frozen=True)
class PlateSource:
    """What the decoder thread needs to read a sequence: files and colour."""

    sequence: ImageSequence
    plan: ColourPlan
    scene_linear: bool
    size: tuple[int, int]


@dataclass(frozen=True)
class PlateFrame:
    """A decoded plate frame: the shape the decoder thread hands to the uploader."""

    pts: int
    planes: tuple[npt.NDArray[np.generic], ...]


def read_plate_colour(path: Path) -> npt.NDArray[np.generic]:
    """One frame's colour as stored: float32 for EXR, uint8/uint16 for PNG, TIFF, DPX."""
    if is_exr(path):
        return exr_rgb(read_exr(path))
    return read_rgb(path)


def probe_sequence(
    pattern: PathLike, *, fps: Fraction = DEFAULT_FPS, plan: ColourPlan | None = None
) -> MediaInfo:
    """Find, check and describe a sequence (the first frame decoded to learn its size)."""
    seq = find_sequence(pattern, "image sequence")
    first = read_plate_colour(seq.files[0])
    float_input = first.dtype.kind == "f"
    if plan is None:
        plan = ColourPlan(input_space="Linear Rec.709 (sRGB)" if float_input else None)
    h, w = first.shape[:2]
    n = len(seq.files)
    suffix = seq.files[0].suffix.lower().lstrip(".")
    true_light = float_input or (plan.input_space is not None
                                 and holds_highlights(plan.input_space))
    source = PlateSource(seq, plan, true_light, (w, h))
    # Matrix and range describe no planes here (plates are RGB); they are what a video made from
    # the plate is encoded with: BT.709, limited range, as players expect.
    return MediaInfo(
        path=Path(os.fspath(pattern)), width=w, height=h, fps=fps, time_base=1 / fps,
        duration=float(n / fps), frame_count=n, pix_fmt=PLATE_FORMAT, color_matrix="bt709",
        color_range="limited", codec=suffix, source_pix_fmt=PLATE_FORMAT, plate=source,
    )


class PlateReader:
    """Reads plate frames on the decoder thread (same ``read``/``close`` shape as VideoReader)."""

    def __init__(self, source: PlateSource) -> None:
        self.source = source

    def read(self, index: int, abort: object = None) -> PlateFrame:
        """Frame ``index`` as stored (half or float EXR, 8/16-bit integer), read-only: the
        uploader converts it from ``plate_space`` on the GPU, so nothing per pixel runs here."""
        path = self.source.sequence.files[index]
        colour = read_exr_rgb_native(path) if is_exr(path) else read_rgb(path)
        colour.flags.writeable = False
        return PlateFrame(index, (self._checked(colour, path),))

    def _checked(self, colour: npt.NDArray[_T], path: Path) -> npt.NDArray[_T]:
        size = self.source.size
        if (colour.shape[1], colour.shape[0]) != size:
            raise InputError(f"frame is {colour.shape[1]}x{colour.shape[0]}, the sequence's "
                             f"first is {size[0]}x{size[1]}", path)
        return colour

    def close(self) -> None:
        pass


def plate_space(info: MediaInfo) -> str:
    """The colour space the frames of a managed clip arrive in (its plan's input space; sRGB
    for integer images given none), which the uploader converts to the working space."""
    plan = info.plate.plan if info.plate is not None else info.colour
    space = plan.input_space if plan is not None else None
    return space or SHORT_NAMES["srgb"]


# -- depth from EXR channels -------------------------------------------------------------------


@dataclass(eq=False)
class ChannelDepth(SequenceDepth):
    """Depth from a named channel of EXR files: the plate's own (``--depth same``) or a
    separate EXR sequence, one file per clip frame."""

    channel: str | None = None

    def read_samples(self, file: Path) -> npt.NDArray[np.generic]:
        """The named channel (or the first depth-like one) of one EXR file, float32."""
        return read_exr_depth(file, self.channel)


def open_channel_depth(
    depth: str, channel: str | None, mapping: DepthMapping, clip: MediaInfo
) -> ChannelDepth:
    """Depth read by channel name from EXR: ``depth == "same"`` takes the clip's own files.

    Raises:
        InputError: not EXR, no such channel (the channels present are listed), gaps, or a
            frame count that differs from the clip's.
    """
    if depth == "same":
        if clip.plate is None:
            raise InputError("--depth same needs an EXR image sequence as the clip", clip.path)
        files, path = clip.plate.sequence.files, clip.path
    elif is_pattern(depth):
        files, path = find_sequence(depth, "depth sequence").files, Path(depth)
    else:
        files, path = (Path(depth),), Path(depth)
    if not is_exr(files[0]):
        raise InputError("--depth-channel needs EXR depth", files[0])
    raw = read_exr_depth(files[0], channel)
    mapping.to_inverse_depth(raw, os.fspath(files[0]))  # no valid sample: fail now, not later
    if len(files) not in (1, clip.frame_count):
        raise InputError(f"{len(files)} depth frames for {clip.frame_count} clip frames "
                         "(EXR depth by channel needs one per frame)", path)
    h, w = raw.shape
    return ChannelDepth(path=path, kind="sequence" if len(files) > 1 else "still",
                        mapping=mapping, clip=clip, width=w, height=h,
                        frame_count=len(files), files=files, channel=channel)


def probe_media(
    path: PathLike, *, fps: Fraction | None = None, plan: ColourPlan | None = None
) -> MediaInfo:
    """Any clip: a sequence pattern or a single EXR as a plate, everything else as video.

    ``fps`` applies to sequences only (default 24). A video keeps its own colour tags unless
    ``plan`` names an input space: its frames are then converted through OCIO like a plate's.
    """
    text = os.fspath(path)
    if is_pattern(text) or (Path(text).is_file() and is_exr(text)):
        return probe_sequence(text, fps=fps or DEFAULT_FPS, plan=plan)
    info = probe_clip(text)
    if plan is not None and plan.input_space is not None:
        return dataclasses.replace(info, colour=plan)
    return info


def open_frame_reader(info: MediaInfo, threads: bool = True) -> VideoReader | PlateReader:
    """The reader the decoder thread uses for this clip."""
    if info.plate is not None:
        return PlateReader(info.plate)
    return VideoReader(info, threads=threads)


def open_clip_depth(
    depth: PathLike, channel: str | None, mapping: DepthMapping, clip: MediaInfo,
    warn: Warn | None = None,
) -> DepthSource:
    """Depth for a clip: by EXR channel (``same``, or ``channel`` given), else ``open_depth``
    (``####`` patterns written as ``%04d`` for it)."""
    text = os.fspath(depth)
    if text == "same" or channel is not None:
        return open_channel_depth(text, channel, mapping, clip)
    return open_depth(printf_pattern(text) if is_pattern(text) else text, mapping, clip,
                      warn=warn)


#: AVColorSpace and AVColorRange codes of the matrices and ranges ``probe`` reports.
_AVCOL_SPACE = {"bt601": 6, "bt709": 1, "bt2020": 9}
_AVCOL_RANGE = {"limited": 1, "full": 2}


def video_frame_rgb(frame: av.VideoFrame, info: MediaInfo) -> npt.NDArray[np.float32]:
    """A decoded video frame of a clip with a named input space (``info.colour``): its R'G'B'
    code values (float 0..1), through the matrix and range ``probe`` decided for the clip (not
    swscale's defaults for untagged video), in display rotation; the uploader converts them from
    the input space on the GPU, as for plates."""
    assert info.colour is not None
    frame.colorspace = _AVCOL_SPACE[info.color_matrix]
    frame.color_range = _AVCOL_RANGE[info.color_range]
    # Planar float: swscale's packed rgb48 path is off by up to 2/255 on limited-range input.
    rgb = np.asarray(frame.to_ndarray(format="gbrpf32le"), np.float32)
    if info.rotation:
        rgb = np.ascontiguousarray(np.rot90(rgb, k=info.rotation // 90))
    rgb.flags.writeable = False
    return rgb
