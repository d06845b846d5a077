"""FrameUploader: YUV -> linear RGB on the GPU for each matrix, range and bit depth; depth upload;
orientation and rotation; reuse and release of GL objects. Reads the output texture back."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import moderngl
import numpy as np
import numpy.typing as npt
import pytest

from rackfocus_live.gpu.context import interleave_chroma_for, software_renderer
from rackfocus_live.gpu.upload import FrameUploader, uv_transform, whole_rows, yuv_coefficients
from rackfocus_live.media.decoder import DecoderThread, FramePacket
from rackfocus_live.media.depthsource import open_depth
from rackfocus_live.media.probe import MediaInfo, probe_clip
from rackfocus_live.media.reader import interleave_chroma
from tests import media_factory as mf

pytestmark = [pytest.mark.gl, pytest.mark.timeout(60)]

# Textbook code values (ITU-R BT.601/709/2020 for red; 8-bit unless the format says otherwise).
SIZE = (32, 16)
TOLERANCE = 2.0  # 8-bit sRGB code values


def srgb_encode(linear: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """Linear light -> sRGB code values 0..255 (the inverse of what the shader decodes)."""
    x = np.clip(np.asarray(linear, dtype=np.float64), 0.0, 1.0)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * x ** (1 / 2.4) - 0.055) * 255.0


def reference_rgb(y: float, u: float, v: float, matrix: str, full: bool, bits: int) -> np.ndarray:
    """R'G'B' 0..255 from code values, straight from the standards' Kr/Kb definition."""
    kr, kb = {"bt601": (0.299, 0.114), "bt709": (0.2126, 0.0722), "bt2020": (0.2627, 0.0593)}[
        matrix
    ]
    s = 2 ** (bits - 8)
    if full:
        yn, cb, cr = y / (2**bits - 1), (u - 128 * s) / (2**bits - 1), (v - 128 * s) / (2**bits - 1)
    else:
        yn, cb, cr = (y - 16 * s) / (219 * s), (u - 128 * s) / (224 * s), (v - 128 * s) / (224 * s)
    r = yn + 2 * (1 - kr) * cr
    b = yn + 2 * (1 - kb) * cb
    g = (yn - kr * r - kb * b) / (1 - kr - kb)
    return np.clip(np.array([r, g, b]) * 255.0, 0, 255)


def make_info(pix_fmt: str, matrix: str, crange: str, size: tuple[int, int] = SIZE,
              rotation: int = 0) -> MediaInfo:
    return MediaInfo(
        path=Path("synthetic"), width=size[0], height=size[1], fps=Fraction(24),
        time_base=Fraction(1, 24), duration=1.0, frame_count=24, pix_fmt=pix_fmt,
        color_matrix=matrix, color_range=crange, rotation=rotation,  # type: ignore[arg-type]
        source_pix_fmt=pix_fmt,
    )


def make_packet(planes: tuple[np.ndarray, ...], pix_fmt: str,
                depth: np.ndarray | None = None, *, interleaved: bool = False) -> FramePacket:
    """A packet as the decoder makes it from Y, U, V planes (chroma interleaved, as for a
    software rasteriser, with ``interleaved``)."""
    y, u, v = planes
    return FramePacket(
        index=0, pts=0, time=0.0, planes=(y, interleave_chroma(u, v)) if interleaved else planes,
        format=pix_fmt,
        depth=depth if depth is not None else np.zeros((1, 1), np.float32), epoch=0,
    )


def read_color(up: FrameUploader) -> npt.NDArray[np.float64]:
    """The uploader's colour texture as HxWx3 sRGB code values, row 0 first."""
    if up.color_is_encoded:  # SRGB8_ALPHA8: the bytes are the code values
        assert up.color.dtype == "f1"
        codes = np.frombuffer(up.color.read(), dtype=np.uint8).reshape(up.height, up.width, 4)
        assert (codes[..., 3] == 255).all()
        return codes[..., :3].astype(np.float64)
    data = np.frombuffer(up.color.read(), dtype=np.float16)
    rgba = data.reshape(up.height, up.width, 4).astype(np.float64)
    assert np.allclose(rgba[..., 3], 1.0)
    return srgb_encode(rgba[..., :3])


@pytest.fixture
def uploader(ctx, programs):  # type: ignore[no-untyped-def]
    made: list[FrameUploader] = []

    def make(width: int = SIZE[0], height: int = SIZE[1]) -> FrameUploader:
        made.append(FrameUploader(ctx, programs, width, height))
        return made[-1]

    yield make
    for up in made:
        up.release()


CASES = [
    # pix_fmt, matrix, range, (Y, U, V) codes, expected sRGB code values (textbook)
    ("yuv420p", "bt601", "limited", (81, 90, 240), (255, 0, 0)),
    ("yuv420p", "bt709", "limited", (63, 102, 240), (255, 0, 0)),
    ("yuv420p", "bt601", "full", (76, 85, 255), (255, 0, 0)),
    ("yuv444p", "bt709", "limited", (235, 128, 128), (255, 255, 255)),
    ("yuv444p", "bt709", "limited", (16, 128, 128), (0, 0, 0)),
    ("yuv420p10le", "bt709", "limited", (250, 409, 960), (255, 0, 0)),
    ("yuv420p10le", "bt2020", "limited", (294, 387, 960), (255, 0, 0)),
    ("yuv420p10le", "bt709", "full", (1023, 512, 512), (255, 255, 255)),
    ("yuv422p", "bt709", "limited", (126, 128, 128), (128, 128, 128)),
]


@pytest.mark.parametrize(("pix_fmt", "matrix", "crange", "yuv", "expected"), CASES)
def test_textbook_colours(uploader, pix_fmt, matrix, crange, yuv, expected) -> None:  # type: ignore[no-untyped-def]
    up = uploader()
    planes = mf.solid_planes(*yuv, SIZE, pix_fmt)
    up.upload(make_packet(planes, pix_fmt), make_info(pix_fmt, matrix, crange))
    rgb = read_color(up)
    assert np.abs(rgb - np.array(expected)).max() <= TOLERANCE


@pytest.mark.parametrize("pix_fmt", ["yuv420p", "yuv444p", "yuv420p10le"])
@pytest.mark.parametrize(("matrix", "crange"), [("bt601", "limited"), ("bt709", "full"),
                                               ("bt2020", "limited")])
def test_random_colours_match_the_reference(uploader, rng, pix_fmt, matrix, crange) -> None:  # type: ignore[no-untyped-def]
    """8x4 patches of random in-gamut-or-not codes against the numpy reference formula."""
    bits = 10 if "10" in pix_fmt else 8
    up = uploader(64, 32)
    sub = 2 if "420" in pix_fmt else 1
    codes = rng.integers(16 << (bits - 8), 236 << (bits - 8), size=(4, 8, 3))
    if crange == "full":
        codes = rng.integers(0, 2**bits, size=(4, 8, 3))
    dtype = np.uint16 if bits > 8 else np.uint8
    y = np.kron(codes[..., 0], np.ones((8, 8))).astype(dtype)
    u = np.kron(codes[..., 1], np.ones((8 // sub, 8 // sub))).astype(dtype)
    v = np.kron(codes[..., 2], np.ones((8 // sub, 8 // sub))).astype(dtype)
    up.upload(make_packet((y, u, v), pix_fmt), make_info(pix_fmt, matrix, crange, (64, 32)))
    rgb = read_color(up)
    for r in range(4):
        for c in range(8):
            # The patch centre: chroma interpolation blends patch borders, by design.
            got = rgb[r * 8 + 4, c * 8 + 4]
            want = reference_rgb(*codes[r, c], matrix, crange == "full", bits)
            assert np.abs(got - want).max() <= TOLERANCE, (r, c, codes[r, c], got, want)


@pytest.mark.parametrize(
    ("name", "pix_fmt", "matrix", "crange", "yuv", "expected"),
    [
        ("ten_bit", "yuv420p10le", "bt709", "limited", (250, 409, 960), (255, 0, 0)),
        ("full_range", "yuv420p", "bt709", "full", (54, 99, 255), (255, 0, 0)),
        ("bt601", "yuv420p", "bt601", "limited", (81, 90, 240), (255, 0, 0)),
    ],
)
def test_clip_metadata_drives_the_conversion(  # type: ignore[no-untyped-def]
    tmp_path, uploader, name, pix_fmt, matrix, crange, yuv, expected
) -> None:
    """End to end: tagged lossless clip -> probe -> decoder thread -> uploader -> read back."""
    clip = mf.make_clip(tmp_path / f"{name}.mkv", frames=3, size=SIZE, pix_fmt=pix_fmt,
                        matrix=matrix, color_range=crange, lossless=True,
                        yuv=lambda i: mf.solid_planes(*yuv, SIZE, pix_fmt))
    info = probe_clip(clip)
    # x264 tags full-range 4:2:0 as yuvj420p, the same planes under FFmpeg's JPEG name.
    assert info.pix_fmt in (pix_fmt, pix_fmt.replace("yuv", "yuvj"))
    assert (info.color_matrix, info.color_range) == (matrix, crange)
    with DecoderThread(clip, None, info=info) as dec:
        packet = dec.get(5.0)
    assert packet is not None
    up = uploader(*info.display_size)
    up.upload(packet, info)
    assert np.abs(read_color(up) - np.array(expected)).max() <= TOLERANCE


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_orientation_and_rotation(tmp_path, uploader, rotation) -> None:  # type: ignore[no-untyped-def]
    """Row 0 of the picture comes back first; rotation turns it counter-clockwise for display."""
    clip = mf.make_clip(tmp_path / "r.mp4", frames=1, size=(64, 48), rotation=rotation,
                        yuv=lambda i: mf.code_planes(0x1234, (64, 48)))
    info = probe_clip(clip)
    with DecoderThread(clip, None, info=info) as dec:
        packet = dec.get(5.0)
    assert packet is not None
    up = uploader(*info.display_size)
    up.upload(packet, info)
    shown = read_color(up)
    assert shown.shape[:2] == (info.display_size[1], info.display_size[0])
    # Undo the display rotation and the code reads back: orientation is exact.
    assert mf.read_code_rgb(np.rot90(shown, k=-rotation // 90)) == 0x1234


def test_uv_transform_matches_numpy_rot90() -> None:
    coded = np.arange(12).reshape(3, 4)  # H=3, W=4
    for rotation in (0, 90, 180, 270):
        shown = np.rot90(coded, k=rotation // 90)
        h, w = shown.shape
        m = uv_transform(rotation)
        for r in range(h):
            for c in range(w):
                su, sv, _ = m @ np.array([(c + 0.5) / w, (r + 0.5) / h, 1.0])
                assert coded[int(sv * 3), int(su * 4)] == shown[r, c]


def test_coefficients_white_black_and_neutral() -> None:
    for matrix in ("bt601", "bt709", "bt2020"):
        for bits, tmax in ((8, 255), (10, 65535)):
            s = 2 ** (bits - 8)
            m, off = yuv_coefficients(matrix, "limited", bits, tmax)  # type: ignore[arg-type]
            white = m @ (np.array([235 * s, 128 * s, 128 * s]) / tmax - off)
            black = m @ (np.array([16 * s, 128 * s, 128 * s]) / tmax - off)
            assert np.allclose(white, 1.0) and np.allclose(black, 0.0, atol=1e-12)


def test_depth_upload_orientation_sharing_and_resize(ctx, uploader) -> None:  # type: ignore[no-untyped-def]
    up = uploader()
    assert up.depth.size == (1, 1) and up.depth.dtype == "f4"
    planes = mf.solid_planes(126, 128, 128, SIZE)
    half = mf.DEPTH_MAPPING.to_inverse_depth(mf.depth_raw(7, (16, 8)))
    info = make_info("yuv420p", "bt709", "limited")
    for _ in range(3):  # a still: same array each frame, uploaded once
        up.upload(make_packet(planes, "yuv420p", half), info)
    assert up.depth_uploads == 1 and up.uploads == 3
    assert up.depth.size == (16, 8) and up.depth.components == 1
    back = np.frombuffer(up.depth.read(), np.float32).reshape(8, 16)
    assert np.array_equal(back, half)
    assert mf.read_depth_index(back) == 7
    assert back[-1, 0] < back[0, 0]  # the bottom rows are farther: row 0 is the first row
    full = mf.DEPTH_MAPPING.to_inverse_depth(mf.depth_raw(2, SIZE))
    up.upload(make_packet(planes, "yuv420p", full), info)
    assert up.depth.size == SIZE and up.depth_uploads == 2


def test_textures_and_buffers_are_reused(uploader) -> None:  # type: ignore[no-untyped-def]
    up = uploader()
    info = make_info("yuv420p", "bt709", "limited")
    up.upload(make_packet(mf.code_planes(1, SIZE), "yuv420p"), info)
    objects = [*up._planes, *up._pbos, up.color, up._fbo]
    for i in range(2, 6):
        up.upload(make_packet(mf.code_planes(i, SIZE), "yuv420p"), info)
        assert mf.read_code_rgb(read_color(up)) == i
    assert [*up._planes, *up._pbos, up.color, up._fbo] == objects
    # A format change of the same depth rebuilds the plane textures only.
    up.upload(make_packet(mf.code_planes(8, SIZE, "yuv444p"), "yuv444p"),
              make_info("yuv444p", "bt709", "limited"))
    assert up._planes[0] is not objects[0] and up.color is objects[-2]
    assert mf.read_code_rgb(read_color(up)) == 8
    # A deeper source needs more than 8-bit R'G'B': the colour becomes RGBA16F linear light.
    up.upload(make_packet(mf.code_planes(9, SIZE, "yuv420p10le"), "yuv420p10le"),
              make_info("yuv420p10le", "bt709", "limited"))
    assert not up.color_is_encoded and up.color.dtype == "f2" and up.color is not objects[-2]
    assert mf.read_code_rgb(read_color(up)) == 9
    # And back.
    up.upload(make_packet(mf.code_planes(4, SIZE), "yuv420p"), info)
    assert up.color_is_encoded and mf.read_code_rgb(read_color(up)) == 4


def test_release_frees_every_gl_object(ctx, programs) -> None:  # type: ignore[no-untyped-def]
    up = FrameUploader(ctx, programs, *SIZE)
    up.upload(make_packet(mf.code_planes(3, SIZE), "yuv420p",
                          np.ones((4, 4), np.float32)), make_info("yuv420p", "bt709", "limited"))
    owned = [up.color, up.depth, up._fbo, up._depth_pbo, *up._planes, *up._pbos,
             *(p._vao for p in up._passes.values())]
    assert len(owned) == 11  # colour, depth, fbo, depth PBO, 3 planes + 3 PBOs, 1 pass
    up.release()
    up.release()  # idempotent
    assert all(isinstance(obj.mglo, moderngl.InvalidObject) for obj in owned)  # type: ignore[union-attr]
    with pytest.raises(RuntimeError):
        up.upload(make_packet(mf.code_planes(3, SIZE), "yuv420p"),
                  make_info("yuv420p", "bt709", "limited"))
    # A framebuffer made after the release works (no dead framebuffer left bound).
    tex = ctx.texture((4, 4), 4)
    fbo = ctx.framebuffer([tex])
    assert ctx.error == "GL_NO_ERROR"
    fbo.release()
    tex.release()


def test_size_mismatch_is_rejected(uploader) -> None:  # type: ignore[no-untyped-def]
    up = uploader(16, 16)
    with pytest.raises(ValueError, match="does not fit"):
        up.upload(make_packet(mf.code_planes(1, SIZE), "yuv420p"),
                  make_info("yuv420p", "bt709", "limited"))


def test_decoded_depth_reaches_the_texture(tmp_path, uploader) -> None:  # type: ignore[no-untyped-def]
    clip = mf.make_clip(tmp_path / "c.mp4", frames=6, size=SIZE)
    info = probe_clip(clip)
    depth = open_depth(mf.make_depth_video(tmp_path / "d.mkv", frames=6, size=(16, 8)),
                       mf.DEPTH_MAPPING, info)
    up = uploader()
    with DecoderThread(clip, depth, info=info) as dec:
        for i in range(6):
            packet = dec.get(5.0)
            assert packet is not None
            up.upload(packet, info)
            assert mf.read_code_rgb(read_color(up)) == i
            depth_back = np.frombuffer(up.depth.read(), np.float32).reshape(8, 16)
            assert mf.read_depth_index(depth_back) == i


def test_rgb_source_is_converted_once_and_comes_back(tmp_path, uploader) -> None:  # type: ignore[no-untyped-def]
    """An RGB stream (FFV1 bgr0) goes through the decoder's 4:4:4 conversion and back."""
    import av

    colours = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [128, 128, 128],
                        [250, 200, 30], [10, 20, 30]], np.uint8)
    image = np.repeat(np.repeat(colours[None], 16, axis=0), 16, axis=1)  # 16 x 96
    path = tmp_path / "rgb.mkv"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=24)
        stream.width, stream.height, stream.pix_fmt = 96, 16, "bgr0"
        frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="bgr0")
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    info = probe_clip(path)
    with DecoderThread(path, None, info=info) as dec:
        packet = dec.get(5.0)
    assert packet is not None and packet.format == "yuv444p"
    up = uploader(96, 16)
    up.upload(packet, info)
    shown = read_color(up)[8, 8::16]
    assert np.abs(shown - colours).max() <= TOLERANCE


def padded_view(plane: np.ndarray, pad: int, fill: int) -> np.ndarray:
    """``plane`` as a decoder hands it over: a view into rows ``pad`` samples longer."""
    h, w = plane.shape
    rows = np.full((h, w + pad), fill, dtype=plane.dtype)
    rows[:, :w] = plane
    return rows[:, :w]


def test_whole_rows_widens_padded_views_only_inside_their_buffer() -> None:
    plane = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert whole_rows(plane) is plane
    view = padded_view(plane, 4, 0)
    rows = whole_rows(view)
    assert rows.shape == (3, 8) and np.array_equal(rows[:, :4], plane) and rows.base is not None
    # A view that does not start a row would read past its buffer if widened: copied instead.
    shifted = padded_view(plane, 4, 0)[:, 1:]
    safe = whole_rows(shifted)
    assert safe.shape == (3, 3) and safe.flags.c_contiguous


@pytest.mark.parametrize("interleaved", [False, True])
@pytest.mark.parametrize("pix_fmt", ["yuv420p", "yuv444p", "yuv420p10le"])
def test_row_padding_is_never_sampled(uploader, pix_fmt, interleaved) -> None:  # type: ignore[no-untyped-def]
    """Bright garbage in the padding must not bleed into the right-hand column."""
    bits = 10 if "10" in pix_fmt else 8
    s = 2 ** (bits - 8)
    y, u, v = mf.solid_planes(126 * s, 128 * s, 128 * s, SIZE, pix_fmt)
    top = 2**bits - 1
    planes = (padded_view(y, 32, top), padded_view(u, 16, top), padded_view(v, 16, 0))
    assert not planes[0].flags.c_contiguous
    up = uploader()
    up.upload(make_packet(planes, pix_fmt, interleaved=interleaved),
              make_info(pix_fmt, "bt709", "limited"))
    rgb = read_color(up)
    assert np.abs(rgb - 128.0).max() <= TOLERANCE  # mid grey everywhere, right edge included


@pytest.mark.parametrize("pix_fmt", ["yuv420p", "yuv420p10le"])
def test_read_display_gives_the_code_values_either_way(uploader, pix_fmt) -> None:  # type: ignore[no-untyped-def]
    up = uploader()
    up.upload(make_packet(mf.code_planes(6, SIZE, pix_fmt), pix_fmt),
              make_info(pix_fmt, "bt709", "limited"))
    shown = up.read_display()
    assert shown.shape == (SIZE[1], SIZE[0], 3)
    assert np.abs(shown * 255.0 - read_color(up)).max() <= 0.6
    assert mf.read_code_rgb(shown, 1.0) == 6


def test_both_chroma_layouts_give_the_same_colours(uploader) -> None:  # type: ignore[no-untyped-def]
    """(Y, U, V) and (Y, UV) of the same frame convert alike; any other layout is refused."""
    rng = np.random.default_rng(5)
    y, u, v = (rng.integers(16, 236, p.shape, dtype=np.uint8) for p in mf.code_planes(1, SIZE))
    info = make_info("yuv420p", "bt709", "limited")
    up = uploader()
    up.upload(make_packet((y, u, v), "yuv420p"), info)
    planar = read_color(up)
    up.upload(make_packet((y, u, v), "yuv420p", interleaved=True), info)
    assert np.abs(read_color(up) - planar).max() <= 0.5 + 1e-3  # one rounding of R'G'B' apart
    for planes in ((y, u), (y, np.stack((u, v), axis=-1), v)):
        with pytest.raises(ValueError, match="planes"):
            up.upload(FramePacket(index=0, pts=0, time=0.0, planes=planes, format="yuv420p",
                                  depth=np.zeros((1, 1), np.float32), epoch=0), info)


def test_decoders_interleave_chroma_for_a_software_rasteriser_only(ctx, programs,  # type: ignore[no-untyped-def]
                                                                   tmp_path: Path) -> None:
    """The choice follows the renderer; a decoder told to interleave hands over (Y, UV), which
    converts to the same frame as the three planes."""

    class Named:
        def __init__(self, renderer: str) -> None:
            self.info = {"GL_RENDERER": renderer}

    assert interleave_chroma_for(Named("llvmpipe (LLVM 15.0.6, 256 bits)"))  # type: ignore[arg-type]
    assert not interleave_chroma_for(Named("NVIDIA H200/PCIe/SSE2"))  # type: ignore[arg-type]
    assert interleave_chroma_for(ctx) == software_renderer(ctx)
    clip = mf.make_clip(tmp_path / "c.mkv", frames=3, size=SIZE, codec="ffv1")
    info = probe_clip(clip)
    shown = []
    for interleave in (False, True):
        with DecoderThread(clip, None, info=info, interleave_chroma=interleave) as dec:
            packet = dec.get(10.0)
        assert packet is not None and len(packet.planes) == (2 if interleave else 3)
        up = FrameUploader(ctx, programs, *SIZE)
        try:
            up.upload(packet, info)
            shown.append(read_color(up))
        finally:
            up.release()
    assert np.abs(shown[0] - shown[1]).max() <= 0.5 + 1e-3
    assert mf.read_code_rgb(shown[1]) == 0
