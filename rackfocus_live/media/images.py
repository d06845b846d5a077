"""Still images (colour, depth) read and written through PyAV, so one library decodes everything.

Colour comes back as uint8 or uint16 HxWx3 in the file's own (display, usually sRGB) encoding;
depth comes back as the file's raw samples (uint8, uint16 or float32 HxW) for ``depth.py`` to map.
"""

from __future__ import annotations

import os
from typing import TypeVar

import av
import numpy as np
import numpy.typing as npt

from rackfocus_live.errors import InputError
from rackfocus_live.files import AtomicOutput, check_input, resolve_output, write_error
from rackfocus_live.media.exr import is_exr, read_exr_depth

PathLike = str | os.PathLike[str]

_GREY_FORMATS = {"gray": np.uint8, "gray8": np.uint8, "gray16be": np.uint16, "gray16le": np.uint16}
_FLOAT_GREY_FORMATS = {"grayf32le", "grayf32be"}
_FLOAT_RGB_FORMATS = {"gbrpf32le", "gbrpf32be", "gbrapf32le", "gbrapf32be"}


def image_size(path: PathLike) -> tuple[int, int]:
    """(width, height) from the file's header, without decoding the pixels (so a frame too
    large to render is refused before it costs seconds and gigabytes)."""
    p = check_input(path, "an image file")
    try:
        with av.open(os.fspath(p)) as container:
            if not container.streams.video:
                raise InputError("no image in file (no video stream)", p)
            cc = container.streams.video[0].codec_context
            return int(cc.width), int(cc.height)
    except InputError:
        raise
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise InputError(f"not a readable image ({_reason(exc)})", p) from None


def _first_frame(path: PathLike) -> av.VideoFrame:
    p = check_input(path, "an image file")
    try:
        with av.open(os.fspath(p)) as container:
            if not container.streams.video:
                raise InputError("no image in file (no video stream)", p)
            for frame in container.decode(video=0):
                return frame
    except InputError:
        raise
    except PermissionError:
        raise InputError("permission denied", p) from None
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise InputError(f"not a readable image ({_reason(exc)})", p) from None
    raise InputError("no image could be decoded", p)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text.split(": '", 1)[0]


def read_rgb(path: PathLike) -> npt.NDArray[np.uint8] | npt.NDArray[np.uint16]:
    """The image as HxWx3 uint8 (or uint16 for files of more than 8 bits), alpha dropped, grey
    expanded."""
    frame = _first_frame(path)
    name = frame.format.name
    if name in ("rgb48be", "rgb48le", "rgba64be", "rgba64le"):
        arr = frame.to_ndarray()[..., :3]
        return np.ascontiguousarray(arr.astype(np.uint16))
    if name in ("gray16be", "gray16le"):
        g = frame.to_ndarray().astype(np.uint16)
        return np.ascontiguousarray(np.repeat(g[..., None], 3, axis=2))
    if name in _FLOAT_RGB_FORMATS or name in _FLOAT_GREY_FORMATS:
        raise InputError("float images are not supported as colour (expected 8/16-bit)", path)
    if max(c.bits for c in frame.format.components) > 8:
        # 10/12-bit DPX, TIFF and the like: widened to 16 bits by swscale, precision kept.
        # dtype= names what rgb48le (and rgb24 below) give: PyAV types to_ndarray as any of
        # its dtypes, whatever the format; equal dtypes are not converted.
        return np.ascontiguousarray(frame.to_ndarray(format="rgb48le")[..., :3], dtype=np.uint16)
    # rgb24, rgba, palette, YUV (JPEG), grey: swscale converts to RGB with the file's own matrix.
    return np.ascontiguousarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)


def read_depth_raw(path: PathLike) -> npt.NDArray[np.generic]:
    """The depth samples as stored: float32 (EXR, float TIFF), uint16 or uint8 (PNG), HxW.

    Grey with alpha keeps its bit depth (the alpha is ignored). Integer colour images are
    accepted only when their channels are equal (grey saved as RGB); a colour image or a
    colour-mapped depth visualisation (turbo, viridis: three different channels) is refused,
    since no channel of it is the depth.
    EXR goes through ``media.exr`` (by channel name: Z, depth.Z, Y, then R), which FFmpeg
    cannot do.
    """
    if is_exr(path):
        return read_exr_depth(path)
    frame = _first_frame(path)
    name = frame.format.name
    if name in _FLOAT_GREY_FORMATS:
        return np.ascontiguousarray(frame.to_ndarray().astype(np.float32))
    if name in _FLOAT_RGB_FORMATS:
        # PyAV returns planar float RGB as H x W x C in R, G, B order; depth lives in the first.
        return np.ascontiguousarray(frame.to_ndarray()[..., 0].astype(np.float32))
    if name in _GREY_FORMATS:
        return np.ascontiguousarray(frame.to_ndarray().astype(_GREY_FORMATS[name]))
    if name in ("ya16be", "ya16le"):
        return np.ascontiguousarray(frame.reformat(format="gray16le").to_ndarray())
    if name == "ya8":
        return np.ascontiguousarray(frame.reformat(format="gray").to_ndarray())
    if name in ("rgb48be", "rgb48le", "rgba64be", "rgba64le"):
        return grey_channel(frame.to_ndarray()[..., :3].astype(np.uint16), path)
    return grey_channel(frame.to_ndarray(format="rgb24"), path)


def grey_channel(rgb: npt.NDArray[np.generic], path: PathLike) -> npt.NDArray[np.generic]:
    """The one channel of a grey image stored as RGB; InputError for a real colour image.

    Channels may differ by a few levels (a grey JPEG's chroma noise) and still count as grey."""
    r, g, b = (rgb[..., i].astype(np.int32) for i in range(3))
    tolerance = 3 * (257 if rgb.dtype == np.uint16 else 1)
    spread = max(int(np.abs(r - g).max(initial=0)), int(np.abs(r - b).max(initial=0)))
    if spread > tolerance:
        raise InputError(
            "depth is a colour image (its red, green and blue differ): a colour-mapped depth "
            "visualisation (turbo, viridis) cannot be read back as depth; save the depth model's "
            "raw output as a greyscale 16-bit PNG (or EXR)", path)
    return np.ascontiguousarray(rgb[..., 0])


#: The sample types depth is written in (a constrained type, so each keeps its array type).
_DepthSample = TypeVar("_DepthSample", np.uint16, np.float32)

#: Still formats we write: (codec, pixel format) by array kind.
_WRITE_FORMATS = {
    "rgb8": ("png", "rgb24"),
    "gray16": ("png", "gray16be"),
    "grayf32": ("exr", "grayf32le"),
}


def write_png(path: PathLike, rgb: npt.NDArray[np.uint8]) -> None:
    """Write HxWx3 uint8 as an RGB PNG (atomically: temp name, then rename)."""
    arr = np.ascontiguousarray(rgb)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"write_png expects HxWx3 uint8, got {arr.shape} {arr.dtype}")
    _write_still(path, arr, "rgb8")


def write_depth(path: PathLike, depth: npt.NDArray[_DepthSample]) -> None:
    """Write HxW depth: uint16 as a 16-bit PNG, float32 as a single-channel EXR."""
    arr = np.ascontiguousarray(depth)
    if arr.ndim != 2 or arr.dtype not in (np.uint16, np.float32):
        raise ValueError(f"write_depth expects HxW uint16 or float32, got {arr.shape} {arr.dtype}")
    _write_still(path, arr, "gray16" if arr.dtype == np.uint16 else "grayf32")


def _write_still(
    path: PathLike,
    arr: npt.NDArray[np.uint8] | npt.NDArray[np.uint16] | npt.NDArray[np.float32],
    kind: str,
) -> None:
    """Write one still through the file-safety layer (``path`` already checked by the caller
    with ``files.check_output`` when it has inputs to protect)."""
    codec, pix_fmt = _WRITE_FORMATS[kind]
    target = resolve_output(path)
    with AtomicOutput(target) as out:
        try:
            with av.open(os.fspath(out.temp), mode="w", format="image2",
                         options={"update": "1"}) as container:
                stream = container.add_stream(codec)
                # add_stream is typed by codec name; ours come from _WRITE_FORMATS, all image
                # (video) encoders.
                assert isinstance(stream, av.VideoStream)
                stream.width = arr.shape[1]
                stream.height = arr.shape[0]
                stream.pix_fmt = pix_fmt
                frame = av.VideoFrame.from_ndarray(arr, format=pix_fmt)
                for packet in stream.encode(frame):
                    container.mux(packet)
                for packet in stream.encode(None):
                    container.mux(packet)
        except OSError as exc:
            raise write_error(exc, target) from None
        out.commit()
