"""OpenEXR reading and writing, in one place, for clip plates, depth and rendered output.

Read through the OpenEXR project's own Python bindings (v3 API): every channel of a scanline or
tiled image (of every part of a multi-part file) comes back by name as a float16/float32 plane,
so RGB and depth can share one file (``R``, ``G``, ``B`` beside ``Z`` or ``depth.Z``). FFmpeg's
EXR decoder, which PyAV wraps, rejects files with a ``Z`` channel and loses the channel names,
hence this module.

Colour is returned as float32 HxWx3 scene-linear light, exactly as stored (no clamp, no curve);
depth as float32 HxW. Data windows smaller than the display window are placed inside it (zeros
outside), since compositing packages write cropped data windows for mostly-empty passes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import OpenEXR

from rackfocus_live.errors import InputError
from rackfocus_live.files import AtomicOutput, check_input

PathLike = str | os.PathLike[str]

#: Depth channel names tried in order when none is given: a Z pass (Nuke, Blender's
#: "Depth.Z" / "depth.Z", single-channel "Y" depth as written by many tools), then R.
DEPTH_CHANNELS = ("Z", "depth.Z", "Depth.Z", "depth.V", "Y", "R")


def is_exr(path: PathLike) -> bool:
    """True when the path names an EXR file (by its magic number, or by suffix when absent)."""
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            return fh.read(4) == b"\x76\x2f\x31\x01"
    except OSError:
        return p.suffix.lower() == ".exr"


@dataclass(frozen=True)
class ExrImage:
    """The channels of one EXR image by name (float32 HxW), in display-window size."""

    path: Path
    channels: dict[str, npt.NDArray[np.float32]]
    width: int
    height: int

    def names(self) -> list[str]:
        return sorted(self.channels)

    def rgb_names(self) -> tuple[str, str, str] | None:
        """The colour channels: top-level R, G, B, else one layer's ``x.R``, ``x.G``, ``x.B``."""
        if all(c in self.channels for c in "RGB"):
            return ("R", "G", "B")
        layers = sorted({n.rsplit(".", 1)[0] for n in self.channels if "." in n})
        for layer in layers:
            names = tuple(f"{layer}.{c}" for c in "RGB")
            if all(n in self.channels for n in names):
                return (names[0], names[1], names[2])
        return None


def read_exr(path: PathLike, *, only: Sequence[str] | None = None) -> ExrImage:
    """Read every channel (or those named in ``only``) of an EXR image (of all its parts).

    Raises:
        InputError: missing, unreadable or deep file (one line naming the file and the problem).
    """
    p = Path(path)
    header, channels = _open(p, separate=True)
    kind = str(header.get("type", ""))
    if "deep" in kind.lower():
        raise InputError("deep EXR images are not supported (flatten them first)", p)
    (dx0, dy0), (dx1, dy1) = _window(header.get("dataWindow"))
    display = header.get("displayWindow", header.get("dataWindow"))
    (x0, y0), (x1, y1) = _window(display)
    width, height = x1 - x0 + 1, y1 - y0 + 1
    planes: dict[str, npt.NDArray[np.float32]] = {}
    for name, channel in channels.items():
        if only is not None and name not in only:
            continue
        pix = np.asarray(channel.pixels)
        if pix.ndim != 2:
            raise InputError(f"channel {name} is not a plain image channel", p)
        if getattr(channel, "xSampling", 1) != 1 or getattr(channel, "ySampling", 1) != 1:
            raise InputError(f"channel {name} is subsampled (not supported)", p)
        plane = pix.astype(np.float32, copy=False)
        if (dx0, dy0, dx1, dy1) != (x0, y0, x1, y1):
            plane = _place(plane, (dx0 - x0, dy0 - y0), (width, height))
        planes[name] = np.ascontiguousarray(plane)
    return ExrImage(p, planes, width, height)


def exr_size(path: PathLike) -> tuple[int, int]:
    """(width, height) of the display window, from the header alone (no pixels read)."""
    p = check_input(path, "an EXR file")
    try:
        with OpenEXR.File(os.fspath(p), header_only=True) as exr:
            # A copy: leaving the block empties the file's own header dict.
            header = dict(exr.header())
    except (RuntimeError, OSError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"not a readable EXR image ({reason.replace(os.fspath(p), '').strip()})",
                         p) from None
    (x0, y0), (x1, y1) = _window(header.get("displayWindow", header.get("dataWindow")))
    return x1 - x0 + 1, y1 - y0 + 1


def _open(p: Path, *, separate: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and channels of an EXR (merged over its parts); every failure as one InputError
    line."""
    if not p.exists():
        raise InputError("file not found", p)
    if p.is_dir():
        raise InputError("is a directory, expected an EXR file", p)
    try:
        exr = OpenEXR.File(os.fspath(p), separate_channels=separate)
        parts = exr.parts
        if len(parts) <= 1:
            return exr.header(), exr.channels()
        # Multi-part (Nuke, Blender): one image, its layers in parts of the same window. The
        # channels of every part, the first part's header; a name found twice keeps the first.
        channels: dict[str, Any] = {}
        for part in parts:
            if part.width() != parts[0].width() or part.height() != parts[0].height():
                raise InputError("multi-part EXR with parts of different sizes is not "
                                 "supported", p)
            for name, channel in part.channels.items():
                channels.setdefault(name, channel)
        return parts[0].header, channels
    except InputError:
        raise
    except PermissionError:
        raise InputError("permission denied", p) from None
    except (RuntimeError, OSError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"not a readable EXR image ({reason.replace(os.fspath(p), '').strip()})",
                         p) from None


def read_exr_rgb_native(path: PathLike) -> npt.NDArray[np.float16] | npt.NDArray[np.float32]:
    """Colour as stored (half or float HxWx3), skipping the float32 widening: the fast path for
    plates already in the working space, which the GPU takes as half float directly. Files with
    layered or partial colour fall back to ``read_exr_rgb``."""
    p = Path(path)
    header, channels = _open(p, separate=False)
    same_window = np.array_equal(np.asarray(header.get("dataWindow")),
                                 np.asarray(header.get("displayWindow")))
    for key in ("RGB", "RGBA"):
        if key in channels and same_window and "deep" not in str(header.get("type", "")):
            pix = np.asarray(channels[key].pixels)
            if pix.dtype in (np.float16, np.float32) and pix.ndim == 3:
                return np.ascontiguousarray(pix[..., :3])
    return read_exr_rgb(p)


def _window(win: object) -> tuple[tuple[int, int], tuple[int, int]]:
    lo, hi = np.asarray(win, dtype=np.int64).reshape(2, 2)
    return (int(lo[0]), int(lo[1])), (int(hi[0]), int(hi[1]))


def _place(
    plane: npt.NDArray[np.float32], offset: tuple[int, int], size: tuple[int, int]
) -> npt.NDArray[np.float32]:
    """The data window's plane placed into a zero display window (cropped where it overhangs)."""
    width, height = size
    out = np.zeros((height, width), np.float32)
    ox, oy = offset
    h, w = plane.shape
    sx0, sy0 = max(0, -ox), max(0, -oy)
    tx0, ty0 = max(0, ox), max(0, oy)
    cw, ch = min(w - sx0, width - tx0), min(h - sy0, height - ty0)
    if cw > 0 and ch > 0:
        out[ty0:ty0 + ch, tx0:tx0 + cw] = plane[sy0:sy0 + ch, sx0:sx0 + cw]
    return out


def read_exr_rgb(path: PathLike) -> npt.NDArray[np.float32]:
    """Scene-linear colour as float32 HxWx3 (alpha dropped; a lone Y channel expanded to grey)."""
    image = read_exr(path)
    return exr_rgb(image)


def exr_rgb(image: ExrImage) -> npt.NDArray[np.float32]:
    names = image.rgb_names()
    if names is not None:
        return np.ascontiguousarray(np.stack([image.channels[n] for n in names], axis=2))
    if "Y" in image.channels:
        return np.ascontiguousarray(np.repeat(image.channels["Y"][..., None], 3, axis=2))
    raise InputError(f"no colour channels (R, G, B or Y); it has {_listing(image)}", image.path)


def read_exr_depth(path: PathLike, channel: str | None = None) -> npt.NDArray[np.float32]:
    """Depth as float32 HxW from the named channel, or the first of ``DEPTH_CHANNELS`` present."""
    image = read_exr(path, only=None if channel is None else (channel,))
    if channel is not None and channel not in image.channels:
        full = read_exr(path)
        raise InputError(f"no channel {channel!r}; it has {_listing(full)}", path)
    return exr_depth(image, channel)


def exr_depth(image: ExrImage, channel: str | None = None) -> npt.NDArray[np.float32]:
    if channel is not None:
        if channel not in image.channels:
            raise InputError(f"no channel {channel!r}; it has {_listing(image)}", image.path)
        return image.channels[channel]
    for name in DEPTH_CHANNELS:
        if name in image.channels:
            return image.channels[name]
    if len(image.channels) == 1:
        return next(iter(image.channels.values()))
    raise InputError(f"no depth channel (looked for {', '.join(DEPTH_CHANNELS)}); it has "
                     f"{_listing(image)}; pick one with --depth-channel", image.path)


def _listing(image: ExrImage) -> str:
    names = image.names()
    shown = ", ".join(names[:12]) + (f" and {len(names) - 12} more" if len(names) > 12 else "")
    return shown or "no channels"


#: ``--exr-compression`` choices: lossless zip (default, what most tools write), piz (lossless,
#: about twice as fast to write and smaller on grainy plates), dwaa (lossy, small), none.
EXR_COMPRESSIONS = {
    "zip": OpenEXR.ZIP_COMPRESSION,
    "piz": OpenEXR.PIZ_COMPRESSION,
    "dwaa": OpenEXR.DWAA_COMPRESSION,
    "none": OpenEXR.NO_COMPRESSION,
}


def write_exr(
    path: PathLike,
    rgb: npt.NDArray[np.floating],
    *,
    depth: npt.NDArray[np.floating] | None = None,
    half: bool = True,
    compression: str = "zip",
    extra_header: dict[str, object] | None = None,
    backup: bool = True,
    lock: bool = True,
) -> None:
    """Write scene-linear colour (HxWx3) and optionally depth (HxW, always 32-bit float, as Z).

    Colour is half float by default (the VFX interchange norm, values up to 65504 kept), or 32-bit
    float with ``half=False``; ``compression`` is a key of ``EXR_COMPRESSIONS``. Written through
    the file-safety layer (``files.AtomicOutput``): a unique temporary name beside the output,
    renamed over it (the old file kept as ``.bak`` with ``backup``), so a crash leaves the last
    good file. ``lock=False`` when the caller holds the lock of a whole sequence.
    """
    header, channels = exr_image_data(rgb, depth=depth, half=half, compression=compression,
                                      extra_header=extra_header)
    out = Path(path)
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise InputError("output folder does not exist", parent)
    with AtomicOutput(out, backup=backup, lock=lock, hold_open=lock) as target:
        write_exr_file(target.temp, header, channels)
        target.commit()


def exr_image_data(
    rgb: npt.NDArray[np.floating],
    *,
    depth: npt.NDArray[np.floating] | None = None,
    half: bool = True,
    compression: str = "zip",
    extra_header: dict[str, object] | None = None,
) -> tuple[dict[str, object], dict[str, npt.NDArray[np.generic]]]:
    """The header and channels ``write_exr`` writes (see there)."""
    arr = np.asarray(rgb)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"write_exr expects HxWx3 colour, got {arr.shape}")
    h, w = arr.shape[:2]
    dtype = np.float16 if half else np.float32
    channels: dict[str, npt.NDArray[np.generic]] = {
        "RGB": np.ascontiguousarray(_finite_half(arr) if half else arr.astype(np.float32))
        .astype(dtype, copy=False)
    }
    if depth is not None:
        d = np.asarray(depth, np.float32)
        if d.shape != (h, w):
            raise ValueError(f"depth is {d.shape[::-1]}, colour is {(w, h)}")
        channels["Z"] = np.ascontiguousarray(d)
    header: dict[str, object] = {"compression": EXR_COMPRESSIONS[compression],
                                 "type": OpenEXR.scanlineimage}
    header.update(extra_header or {})
    return header, channels


def write_exr_file(path: Path, header: dict[str, object],
                   channels: dict[str, npt.NDArray[np.generic]]) -> None:
    """Write an EXR to ``path`` as it is (a temporary file the caller made; see ``write_exr``)."""
    try:
        OpenEXR.File(header, channels).write(os.fspath(path))
    except PermissionError:
        raise InputError("permission denied", path) from None
    except (OSError, RuntimeError) as exc:
        raise InputError(f"cannot write EXR ({exc})", path) from None


def _finite_half(arr: npt.NDArray[np.floating]) -> npt.NDArray[np.float32]:
    """Colour clamped to half float's finite range, so a rare hot pixel never becomes inf."""
    limit = float(np.finfo(np.float16).max)
    return np.clip(np.asarray(arr, np.float32), -limit, limit)
