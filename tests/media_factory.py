"""Synthetic media for tests, written with PyAV into a folder the test owns (``tmp_path``).

Clips carry their frame index in their pixels and depth carries the same index in its values, so a
test can check any decoded frame against the frame it should be:

* Colour: the luma plane is a 4x4 grid of flat cells, one bit each (MSB first, row-major), dark
  for 0 and bright for 1. Big flat cells survive lossy H.264 at any size from 32x32 up; read the
  index back with :func:`read_code` (from a Y plane) or :func:`read_code_rgb` (from RGB).
* Depth: metric millimetres ``DEPTH_BASE_MM + index * DEPTH_STEP_MM`` (16-bit), the bottom half
  ``DEPTH_BOTTOM_MM`` farther so orientation can be checked; read back from inverse depth with
  :func:`read_depth_index`. ``DEPTH_MAPPING`` maps every depth file these helpers write (16-bit
  PNG/FFV1 in mm, EXR in metres, 8-bit in raw units via ``depth_mapping(8)``).

Everything here is deterministic (no randomness), takes sizes as ``(width, height)`` and frame
rates as :class:`fractions.Fraction` (NTSC rates such as ``Fraction(24000, 1001)`` work).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from rackfocus_live.depth import DepthMapping
from rackfocus_live.media.decoder import DecoderThread, FramePacket

PathLike = str | os.PathLike[str]
Size = tuple[int, int]

#: Bits of frame index carried by a frame (4x4 cells).
CODE_GRID = (4, 4)
CODE_BITS = CODE_GRID[0] * CODE_GRID[1]
#: 8-bit luma of a 0 cell and a 1 cell (inside the limited range, far apart).
CODE_LOW, CODE_HIGH = 48, 208

#: 16-bit depth code, millimetres.
DEPTH_BASE_MM = 1000
DEPTH_STEP_MM = 10
DEPTH_BOTTOM_MM = 3
#: 8-bit depth code, raw units (indices 0..200).
DEPTH8_BASE = 40
DEPTH8_STEP = 1

#: The mapping for depth written here: metric, default scale (1 for float files in metres, 0.001 for
#: 16-bit files in millimetres).
DEPTH_MAPPING = DepthMapping("metric")

_MATRIX_CODES = {"bt709": 1, "bt601": 6, "bt2020": 9, None: 2}
_PRIMARIES = {"bt709": 1, "bt601": 6, "bt2020": 9, None: 2}
_RANGE_CODES = {"limited": 1, "full": 2}

# Planar YUV formats the factory can write from planes: chroma subsampling shift and sample type.
_YUV_LAYOUT: dict[str, tuple[int, int, type[np.unsignedinteger]]] = {
    "yuv420p": (1, 1, np.uint8),
    "yuvj420p": (1, 1, np.uint8),
    "yuv422p": (1, 0, np.uint8),
    "yuv444p": (0, 0, np.uint8),
    "yuvj444p": (0, 0, np.uint8),
    "yuv420p10le": (1, 1, np.uint16),
    "yuv422p10le": (1, 0, np.uint16),
    "yuv444p10le": (0, 0, np.uint16),
}

YuvPlanes = tuple[npt.NDArray[np.unsignedinteger], ...]
YuvFunc = Callable[[int], YuvPlanes]


# --------------------------------------------------------------------------------------------
# Index codes


def code_bits_of(index: int) -> list[int]:
    """The CODE_BITS bits of ``index``, MSB first."""
    if not 0 <= index < (1 << CODE_BITS):
        raise ValueError(f"index {index} does not fit in {CODE_BITS} bits")
    return [(index >> (CODE_BITS - 1 - b)) & 1 for b in range(CODE_BITS)]


def _cell_bounds(n: int, cells: int) -> list[tuple[int, int]]:
    edges = [round(i * n / cells) for i in range(cells + 1)]
    return list(itertools.pairwise(edges))


def code_luma(index: int, size: Size, bits: int = 8) -> npt.NDArray[np.unsignedinteger]:
    """An HxW luma plane carrying ``index`` (uint8, or uint16 codes for ``bits`` > 8)."""
    width, height = size
    scale = 1 << (bits - 8)
    plane = np.empty((height, width), dtype=np.uint8 if bits == 8 else np.uint16)
    cols, rows = CODE_GRID
    values = code_bits_of(index)
    for r, (y0, y1) in enumerate(_cell_bounds(height, rows)):
        for c, (x0, x1) in enumerate(_cell_bounds(width, cols)):
            plane[y0:y1, x0:x1] = (CODE_HIGH if values[r * cols + c] else CODE_LOW) * scale
    return plane


def read_code(luma: npt.NDArray[np.generic], bits: int = 8) -> int:
    """Decode the index from a luma plane (codes of ``bits``) or any HxW brightness image."""
    img = np.asarray(luma, dtype=np.float64) / (1 << (bits - 8))
    height, width = img.shape[:2]
    cols, rows = CODE_GRID
    threshold = (CODE_LOW + CODE_HIGH) / 2
    index = 0
    for y0, y1 in _cell_bounds(height, rows):
        for x0, x1 in _cell_bounds(width, cols):
            # The cell's centre half only: codec ringing and chroma bleed live at the edges.
            qy, qx = (y1 - y0) // 4, (x1 - x0) // 4
            cell = img[y0 + qy : y1 - qy, x0 + qx : x1 - qx]
            index = (index << 1) | int(cell.mean() > threshold)
    return index


def read_code_rgb(rgb: npt.NDArray[np.generic], max_value: float = 255.0) -> int:
    """Decode the index from display-encoded RGB (HxWx3 or HxWx4, any scale ``max_value``).

    Grey cells come back as grey RGB whose value is the luma expanded to full range.
    """
    grey = np.asarray(rgb, dtype=np.float64)[..., :3].mean(axis=2) / max_value * 255.0
    # Limited-range luma L maps to (L - 16) * 255 / 219 in RGB; undo that so thresholds match.
    return read_code(grey * 219.0 / 255.0 + 16.0)


def code_planes(
    index: int,
    size: Size,
    pix_fmt: str = "yuv420p",
    chroma: tuple[int, int] = (128, 128),
    texture: int = 0,
) -> YuvPlanes:
    """Y, U, V planes of ``pix_fmt`` with the index code in luma and flat chroma (8-bit values).

    ``texture`` > 0 adds deterministic noise of that many 8-bit codes (per frame, so it moves) to
    every plane: realistic bit rates for benchmarks and damage tests. Keep it below 40 so the code
    still reads back.
    """
    sx, sy, dtype = _layout(pix_fmt)
    bits = 10 if dtype == np.uint16 else 8
    width, height = size
    cw, ch = (width + sx) >> sx, (height + sy) >> sy
    scale = 1 << (bits - 8)
    y = code_luma(index, size, bits).astype(np.int32)
    u = np.full((ch, cw), chroma[0] * scale, dtype=np.int32)
    v = np.full((ch, cw), chroma[1] * scale, dtype=np.int32)
    if texture:
        noise = np.random.default_rng(index)
        y += noise.integers(-texture, texture + 1, y.shape, dtype=np.int32) * scale
        u += noise.integers(-texture, texture + 1, u.shape, dtype=np.int32) * scale
        v += noise.integers(-texture, texture + 1, v.shape, dtype=np.int32) * scale
    top = (1 << bits) - 1
    return tuple(np.clip(p, 0, top).astype(dtype) for p in (y, u, v))


def solid_planes(y: int, u: int, v: int, size: Size, pix_fmt: str = "yuv420p") -> YuvPlanes:
    """Flat Y, U, V planes of ``pix_fmt`` holding exactly these codes (in the format's bits)."""
    sx, sy, dtype = _layout(pix_fmt)
    width, height = size
    cw, ch = (width + sx) >> sx, (height + sy) >> sy
    return (
        np.full((height, width), y, dtype=dtype),
        np.full((ch, cw), u, dtype=dtype),
        np.full((ch, cw), v, dtype=dtype),
    )


def _layout(pix_fmt: str) -> tuple[int, int, type[np.unsignedinteger]]:
    try:
        return _YUV_LAYOUT[pix_fmt]
    except KeyError:
        raise ValueError(
            f"media_factory cannot write {pix_fmt} (one of {sorted(_YUV_LAYOUT)})"
        ) from None


def frame_from_planes(planes: Sequence[npt.NDArray[np.generic]], pix_fmt: str) -> av.VideoFrame:
    """A VideoFrame of ``pix_fmt`` whose planes hold exactly ``planes`` (row padding handled)."""
    height, width = planes[0].shape
    frame = av.VideoFrame(width, height, pix_fmt)
    for plane, data in zip(frame.planes, planes, strict=True):
        arr = np.ascontiguousarray(data)
        row_bytes = arr.shape[1] * arr.itemsize
        padded = np.zeros((plane.height, plane.line_size), dtype=np.uint8)
        padded[: arr.shape[0], :row_bytes] = arr.view(np.uint8).reshape(arr.shape[0], row_bytes)
        plane.update(padded.tobytes())
    return frame


# --------------------------------------------------------------------------------------------
# Clips


def make_clip(
    path: PathLike,
    *,
    frames: int = 24,
    size: Size = (64, 48),
    fps: Fraction | int = Fraction(24),
    gop: int = 12,
    bframes: int = 2,
    pix_fmt: str = "yuv420p",
    codec: str = "libx264",
    matrix: str | None = "bt709",
    color_range: str = "limited",
    lossless: bool = False,
    audio: bool = False,
    rotation: int = 0,
    faststart: bool = True,
    texture: int = 0,
    yuv: YuvFunc | None = None,
    transfer: int | None = None,
) -> Path:
    """Write a clip whose frame ``i`` carries the index code ``i`` (or ``yuv(i)`` planes).

    Args:
        path: output file; the container follows the suffix (.mp4, .mkv, .mov).
        frames: number of frames (0 writes a header-only file with an empty video track in
            .mkv; other containers drop an empty track).
        size: (width, height).
        fps: frame rate, exact.
        gop: keyframe interval in frames (scene-cut keyframes are off, so GOPs are exact).
        bframes: B-frames between references (x264, always used: b-adapt=0), so decode order
            differs from display order.
        pix_fmt: one of yuv420p, yuv422p, yuv444p, yuv420p10le, yuv422p10le, yuv444p10le, and the
            full-range yuvj formats.
        codec: libx264 (default), libx265, ffv1, mpeg4...
        matrix: colour matrix tag: bt601, bt709, bt2020, or None for untagged.
        color_range: limited or full (tag only: the code values are whatever ``yuv`` returns).
        lossless: x264 QP 0, so decoded planes equal the written planes exactly.
        audio: add a mono AAC track of silence covering the clip.
        rotation: display rotation metadata in degrees counter-clockwise (as PyAV reads it).
        faststart: MP4 index at the front (a truncated file still opens, as a damaged download).
        texture: noise amplitude added to the code frames (see :func:`code_planes`).
        yuv: ``index -> (Y, U, V)`` planes in the format's code values; default: the index code.
        transfer: transfer characteristic tag (AVColorTransferCharacteristic: 16 = PQ,
            18 = HLG); None leaves it unspecified.
    """
    out = Path(path)
    rate = Fraction(fps)
    frame_rate = rate if rate.denominator != 1 else int(rate)
    options = {"movflags": "+faststart"} if faststart and out.suffix in (".mp4", ".mov") else {}
    with av.open(os.fspath(out), mode="w", options=options) as container:
        stream = container.add_stream(codec, rate=frame_rate)
        stream.width, stream.height = size
        stream.pix_fmt = pix_fmt
        cc = stream.codec_context
        cc.gop_size = gop
        cc.color_range = _RANGE_CODES[color_range]
        cc.colorspace = _MATRIX_CODES[matrix]
        cc.color_primaries = _PRIMARIES[matrix]
        if transfer is not None:
            cc.color_trc = transfer
        if codec == "libx264":
            params = f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes={bframes}:b-adapt=0"
            cc.options = {"preset": "veryfast", "x264-params": params}
            if lossless:
                cc.options = {**cc.options, "qp": "0"}
        elif codec == "libx265":
            params = f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes={bframes}:log-level=error"
            cc.options = {"preset": "ultrafast", "x265-params": params}
        if rotation:
            stream.set_display_rotation(rotation)
        astream = None
        if audio:
            astream = container.add_stream("aac", rate=48000)
            astream.layout = "mono"
        if frames == 0:
            container.start_encoding()
            return out
        make_planes = yuv or (lambda i: code_planes(i, size, pix_fmt, texture=texture))
        for i in range(frames):
            frame = frame_from_planes(make_planes(i), pix_fmt)
            frame.pts = i
            frame.time_base = 1 / rate
            frame.color_range = cc.color_range
            frame.colorspace = cc.colorspace
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
        if astream is not None:
            _write_silence(container, astream, float(frames / rate))
    return out


def _write_silence(container: av.container.OutputContainer, stream: av.AudioStream,
                   seconds: float) -> None:
    samples = 1024
    for i in range(int(seconds * 48000) // samples + 1):
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, samples), np.float32), format="fltp", layout="mono"
        )
        frame.sample_rate = 48000
        frame.pts = i * samples
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def make_audio_only(path: PathLike, seconds: float = 0.5) -> Path:
    """An audio file (AAC in MP4/M4A) without any video stream."""
    out = Path(path)
    with av.open(os.fspath(out), mode="w") as container:
        stream = container.add_stream("aac", rate=48000)
        stream.layout = "mono"
        _write_silence(container, stream, seconds)
    return out


def make_empty_clip(path: PathLike) -> Path:
    """An MKV with a video track that has no frames (and a short audio track to keep it valid)."""
    out = Path(path)
    with av.open(os.fspath(out), mode="w", format="matroska") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        astream = container.add_stream("aac", rate=48000)
        astream.layout = "mono"
        _write_silence(container, astream, 0.1)
    return out


def truncate_file(path: PathLike, fraction: float, out: PathLike | None = None) -> Path:
    """Keep the first ``fraction`` of the bytes (a cut-off download); in place unless ``out``."""
    src = Path(path)
    data = src.read_bytes()
    dst = Path(out) if out is not None else src
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


def corrupt_file(path: PathLike, start_fraction: float, length: int = 4096) -> Path:
    """Overwrite ``length`` bytes from ``start_fraction`` of the file with fixed garbage."""
    p = Path(path)
    data = bytearray(p.read_bytes())
    start = int(len(data) * start_fraction)
    for i in range(start, min(start + length, len(data))):
        data[i] = (i * 151 + 17) & 0xFF
    p.write_bytes(bytes(data))
    return p


# --------------------------------------------------------------------------------------------
# Depth


def depth_mapping(bits: int = 16) -> DepthMapping:
    """The mapping that reads depth written here with ``bits`` (16 or 32: mm/m; 8: raw units)."""
    return DEPTH_MAPPING if bits != 8 else DepthMapping("metric", scale=1.0)


def depth_raw(index: int, size: Size, bits: int = 16) -> npt.NDArray[np.generic]:
    """Raw depth samples carrying ``index``: uint16 mm, uint8 units, or float32 metres (32)."""
    width, height = size
    if bits == 8:
        if not 0 <= DEPTH8_BASE + index * DEPTH8_STEP <= 255:
            raise ValueError(f"index {index} does not fit 8-bit depth")
        return np.full((height, width), DEPTH8_BASE + index * DEPTH8_STEP, dtype=np.uint8)
    mm = np.full((height, width), DEPTH_BASE_MM + index * DEPTH_STEP_MM, dtype=np.uint16)
    mm[height // 2 :, :] += DEPTH_BOTTOM_MM
    return mm if bits == 16 else (mm.astype(np.float32) / np.float32(1000.0))


def read_depth_index(inverse_depth: npt.NDArray[np.floating], bits: int = 16) -> int:
    """The index carried by an inverse-depth map made from :func:`depth_raw` (top half)."""
    top = np.asarray(inverse_depth, dtype=np.float64)[: max(1, inverse_depth.shape[0] // 2)]
    metres = 1.0 / float(np.median(top))
    if bits == 8:
        return round((metres - DEPTH8_BASE) / DEPTH8_STEP)
    return round((metres * 1000.0 - DEPTH_BASE_MM) / DEPTH_STEP_MM)


def make_depth_video(
    path: PathLike,
    *,
    frames: int = 24,
    size: Size = (64, 48),
    fps: Fraction | int = Fraction(24),
    bits: int = 16,
    codec: str = "ffv1",
) -> Path:
    """A depth video whose frame ``i`` carries index ``i`` (FFV1 gray16le by default; 8 = gray)."""
    return write_grey_video(path, (depth_raw(i, size, bits) for i in range(frames)), fps=fps,
                            codec=codec)


def write_grey_video(path: PathLike, planes: Iterable[npt.NDArray[np.generic]], *,
                     fps: Fraction | int = Fraction(24), codec: str = "ffv1") -> Path:
    """A one-channel video of ``planes`` (HxW uint16: gray16le, uint8: gray), frame i at pts i."""
    out = Path(path)
    rate = Fraction(fps)
    with av.open(os.fspath(out), mode="w") as container:
        stream = container.add_stream(codec, rate=rate if rate.denominator != 1 else int(rate))
        for i, plane in enumerate(planes):
            pix_fmt = "gray16le" if plane.dtype == np.uint16 else "gray"
            if i == 0:
                stream.height, stream.width = plane.shape
                stream.pix_fmt = pix_fmt
            frame = av.VideoFrame.from_ndarray(plane, format=pix_fmt)
            frame.pts = i
            frame.time_base = 1 / rate
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out


def write_depth_image(path: PathLike, raw: npt.NDArray[np.generic]) -> Path:
    """One depth image: 16-bit (or 8-bit) grey PNG, or float EXR for a ``.exr`` name."""
    out = Path(path)
    if out.suffix.lower() == ".exr":
        codec, pix_fmt, arr = "exr", "grayf32le", raw.astype(np.float32)
    elif raw.dtype == np.uint8:
        codec, pix_fmt, arr = "png", "gray", raw
    else:
        codec, pix_fmt, arr = "png", "gray16be", raw.astype(np.uint16)
    with av.open(os.fspath(out), mode="w", format="image2") as container:
        stream = container.add_stream(codec)
        stream.width, stream.height = arr.shape[1], arr.shape[0]
        stream.pix_fmt = pix_fmt
        container.mux(stream.encode(av.VideoFrame.from_ndarray(arr, format=pix_fmt)))
        container.mux(stream.encode(None))
    return out


def make_depth_sequence(
    folder: PathLike,
    *,
    frames: int = 24,
    size: Size = (64, 48),
    pattern: str = "depth_%05d.png",
    start: int = 0,
) -> str:
    """Numbered depth images ``pattern % (start + i)`` carrying index ``i``; returns the pattern
    path (what the user passes as ``--depth``). EXR files hold metres, PNG files millimetres."""
    base = Path(folder)
    base.mkdir(parents=True, exist_ok=True)
    bits = 32 if pattern.lower().endswith(".exr") else 16
    for i in range(frames):
        write_depth_image(base / (pattern % (start + i)), depth_raw(i, size, bits))
    return os.fspath(base / pattern)


def make_depth_still(path: PathLike, *, size: Size = (64, 48), index: int = 0) -> Path:
    """One depth image carrying ``index`` (PNG mm, or EXR metres by suffix)."""
    bits = 32 if Path(path).suffix.lower() == ".exr" else 16
    return write_depth_image(path, depth_raw(index, size, bits))


def make_vfr_clip(path: Path, times_ms: Sequence[int], size: tuple[int, int] = (64, 48)) -> Path:
    """H.264 with irregular frame times (a phone clip with dropped frames), 25 fps nominal; the
    container follows the suffix (.mp4 stores a frame count, .mkv does not)."""
    with av.open(os.fspath(path), "w") as c:
        s = c.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = size[0], size[1], "yuv420p"
        s.codec_context.time_base = s.time_base = Fraction(1, 1000)
        s.codec_context.options = {"preset": "veryfast",
                                   "x264-params": "keyint=6:scenecut=0:bframes=2:b-adapt=0"}
        for i, t in enumerate(times_ms):
            frame = frame_from_planes(code_planes(i, size), "yuv420p")
            frame.pts, frame.time_base = t, Fraction(1, 1000)
            c.mux(s.encode(frame))
        c.mux(s.encode(None))
    return path


def play_until_error(
    dec: DecoderThread, wait_s: float = 5.0
) -> tuple[list[FramePacket], Exception]:
    """Take packets until the decoder raises; a ``None`` (timeout) is a hang and fails."""
    packets: list[FramePacket] = []
    while True:
        try:
            packet = dec.get(wait_s)
        except Exception as exc:  # the InputError under test, whatever it is
            return packets, exc
        assert packet is not None, f"hang after {len(packets)} packets: no error, no frame"
        packets.append(packet)


def leftovers(folder: Path) -> list[str]:
    """Temporary and lock files of the file-safety layer left in ``folder`` (none should be)."""
    from rackfocus_live.files import is_temporary_name

    return sorted(p.name for p in folder.iterdir() if is_temporary_name(p))
