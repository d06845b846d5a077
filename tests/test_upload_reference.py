"""The one-pass YUV conversion (sRGB-texture output for 8-bit sources, compile-time rotation,
luma by texelFetch) gives the colours of the single-program conversion it replaced (kept as
tests/shaders/yuv_to_rgb_reference.frag), on random noise with padded rows, for every rotation,
4:2:0 / 4:2:2 / 4:4:4, limited and full range, 8 and 10 bits: within the 8-bit rounding of the
stored R'G'B' (half a code value) for 8-bit sources, and to half-float precision for deeper ones."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import moderngl
import numpy as np
import numpy.typing as npt
import pytest

from rackfocus_live.gpu.context import framebuffer_kept
from rackfocus_live.gpu.fullscreen import FullscreenPass
from rackfocus_live.gpu.programs import ProgramCache
from rackfocus_live.gpu.upload import FrameUploader, uv_transform, yuv_coefficients
from rackfocus_live.media.decoder import FramePacket
from rackfocus_live.media.probe import PLANE_LAYOUTS, MediaInfo
from rackfocus_live.media.reader import interleave_chroma
from tests.test_upload import read_color, srgb_encode

pytestmark = pytest.mark.gl

REFERENCE_SHADERS = Path(__file__).resolve().parent / "shaders"
CODED = (38, 22)  # odd chroma widths for 4:2:0 after padding, non-square for rotations


def _mat3(m: npt.NDArray[np.float64]) -> tuple[float, ...]:
    return tuple(float(x) for x in np.asarray(m).T.reshape(-1))


def padded(rng: np.random.Generator, shape: tuple[int, int], bits: int) -> np.ndarray:
    """Random codes as a view into wider rows, as a decoder hands them over."""
    dtype = np.uint16 if bits > 8 else np.uint8
    wide = rng.integers(0, 1 << bits, (shape[0], shape[1] + 10), dtype=dtype)
    return wide[:, : shape[1]]


def _plane_texture(ctx: moderngl.Context, plane: np.ndarray, bits: int) -> moderngl.Texture:
    """One chroma plane (its visible columns) as a LINEAR single-channel texture."""
    data = np.ascontiguousarray(plane)
    tex = ctx.texture((data.shape[1], data.shape[0]), 1, data.tobytes(),
                      dtype="nu2" if bits > 8 else "f1")
    tex.repeat_x = tex.repeat_y = False
    tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
    return tex


def reference(ctx: moderngl.Context, up: FrameUploader, planes: tuple[np.ndarray, ...],
              pix_fmt: str, info: MediaInfo) -> npt.NDArray[np.float64]:
    """The old shader over the uploader's luma texture and its own two chroma planes (as they
    were uploaded before chroma was interleaved): HxWx3 sRGB code values."""
    layout = PLANE_LAYOUTS[pix_fmt]
    m, offset = yuv_coefficients(info.color_matrix, info.color_range, layout.bits,
                                 65535 if layout.bits > 8 else 255)
    rows = [t.size[0] for t in up._planes]
    chroma_w = planes[1].shape[1]
    left = layout.chroma_shift[0] == 1
    cache = ProgramCache(ctx, REFERENCE_SHADERS)
    ref = FullscreenPass(cache, "yuv_to_rgb_reference.frag")
    out = ctx.texture((up.width, up.height), 4, dtype="f4")
    fbo = ctx.framebuffer([out])
    # The reference reads the chroma planes as they were before interleaving: its own textures.
    chroma = [_plane_texture(ctx, p, layout.bits) for p in planes[1:]]
    try:
        with framebuffer_kept(ctx):  # never leave our framebuffer bound once released
            ref.render(fbo, [("u_y", up._planes[0]), ("u_u", chroma[0]),
                             ("u_v", chroma[1])], {
                "u_matrix": _mat3(m), "u_offset": tuple(float(x) for x in offset),
                "u_luma_scale": planes[0].shape[1] / rows[0],
                "u_chroma_scale": 1.0,
                "u_chroma_shift": 0.25 / chroma_w if left else 0.0,
                "u_chroma_max": (chroma_w - 0.5) / chroma_w,
                "u_uv_transform": _mat3(uv_transform(info.rotation)),
            })
            data = np.frombuffer(fbo.read(components=4, dtype="f4"), np.float32)
    finally:
        for tex in chroma:
            tex.release()
        fbo.release()
        out.release()
        ref.release()
        cache.release()
    rgba = data.reshape(up.height, up.width, 4).astype(np.float64)
    return srgb_encode(rgba[..., :3])


@pytest.mark.parametrize("interleaved", [False, True])
@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
@pytest.mark.parametrize(("pix_fmt", "matrix", "crange"), [
    ("yuv420p", "bt709", "limited"), ("yuv422p", "bt601", "full"), ("yuv444p", "bt709", "full"),
    ("yuv420p10le", "bt2020", "limited"),
])
def test_matches_the_single_program_conversion(ctx, programs, rng, rotation, pix_fmt, matrix,
                                               crange, interleaved) -> None:  # type: ignore[no-untyped-def]
    layout = PLANE_LAYOUTS[pix_fmt]
    sx, sy = layout.chroma_shift
    w, h = CODED
    cw, ch = (w + sx) >> sx, (h + sy) >> sy
    planes = (padded(rng, (h, w), layout.bits), padded(rng, (ch, cw), layout.bits),
              padded(rng, (ch, cw), layout.bits))
    display = (h, w) if rotation in (90, 270) else (w, h)
    info = MediaInfo(
        path=Path("synthetic"), width=w, height=h, fps=Fraction(24), time_base=Fraction(1, 24),
        duration=1.0, frame_count=1, pix_fmt=pix_fmt, color_matrix=matrix, color_range=crange,
        rotation=rotation, source_pix_fmt=pix_fmt,  # type: ignore[arg-type]
    )
    up = FrameUploader(ctx, programs, *display)
    try:
        up.upload(FramePacket(index=0, pts=0, time=0.0,
                              planes=(planes[0], interleave_chroma(planes[1], planes[2]))
                              if interleaved else planes,
                              format=pix_fmt,
                              depth=np.zeros((1, 1), np.float32), epoch=0), info)
        assert up.color_is_encoded == (layout.bits == 8)
        got = read_color(up)
        want = reference(ctx, up, planes, pix_fmt, info)
    finally:
        up.release()
    tolerance = 0.5 + 1e-3 if layout.bits == 8 else 0.15
    assert np.abs(got - want).max() <= tolerance
