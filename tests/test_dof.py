"""The depth-of-field renderer on small synthetic scenes (standalone EGL, llvmpipe in CI)."""

from __future__ import annotations

import numpy as np
import pytest

import rackfocus_live.gpu.dof as dof_module
from rackfocus_live.gpu.dof import DofRenderer
from rackfocus_live.lens import LensState
from rackfocus_live.settings import QUALITY_PRESETS, HighlightBoost
from tests.dof_helpers import linear_to_srgb, psnr, render, srgb_to_linear

pytestmark = pytest.mark.gl

W, H = 256, 192
# The square of the occlusion tests and the light of the aperture tests (rows, columns).
SQ = (72, 120, 104, 152)
LIGHT = (94, 98, 126, 130)


def lens_for(focus_m: float, f_stop: float = 1.4, focal_mm: float = 85.0,
             **kw: object) -> LensState:
    """A full-frame lens; 85 mm so CoCs are tens of pixels on these small test frames."""
    return LensState(focal_length_mm=focal_mm, f_stop=f_stop, sensor_width_mm=36,
                     focus_m=focus_m, **kw)  # type: ignore[arg-type]


def test_everything_at_the_focus_distance_comes_back_unchanged(ctx, programs, rng) -> None:
    img = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    inv = np.full((H, W), 1 / 3.0, np.float32)
    out, coc = render(ctx, programs, img, inv, lens_for(3.0))
    assert np.abs(coc).max() < 1e-3
    assert psnr(out, img) > 50.0


def test_coc_map_matches_the_numpy_lens_model(ctx, programs) -> None:
    z = np.linspace(0.6, 30.0, W, dtype=np.float32)[None, :].repeat(H, 0)
    lens = lens_for(2.0, f_stop=2.8, focal_mm=50)
    _, coc = render(ctx, programs, np.zeros((H, W, 3), np.uint8), 1 / z, lens)
    expected = np.clip(lens.coc_px(z, W), -lens.max_coc_px(W), lens.max_coc_px(W))
    np.testing.assert_allclose(coc, expected, atol=0.02, rtol=2e-3)
    assert (coc[:, :3] < 0).all() and (coc[:, -10:] > 0).all()


def test_defocus_conserves_mean_brightness(ctx, programs, rng) -> None:
    img = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    z = np.where(np.arange(W)[None, :] < W // 2, 0.8, 12.0).repeat(H, 0).astype(np.float32)
    out, coc = render(ctx, programs, img, 1 / z, lens_for(2.0))
    assert np.abs(coc).min() > 3.0  # every pixel is visibly defocused
    lin_in = srgb_to_linear(img / 255.0).mean()
    lin_out = srgb_to_linear(out / 255.0).mean()
    assert abs(lin_out / lin_in - 1.0) < 0.01
    # ... and it really blurred: local contrast collapsed.
    assert np.std(np.diff(out.astype(float), axis=1)) < 0.3 * np.std(np.diff(img.astype(float),
                                                                             axis=1))


def _square_scene(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pure red square at 1 m before a green/blue textured wall at 10 m (no red in the wall)."""
    img = np.zeros((H, W, 3), np.uint8)
    img[..., 1:] = rng.integers(40, 220, (H, W, 2), dtype=np.uint8)
    square = np.zeros((H, W), bool)
    square[SQ[0]:SQ[1], SQ[2]:SQ[3]] = True
    img[square] = (255, 0, 0)
    z = np.where(square, 1.0, 10.0).astype(np.float32)
    return img, z, square


def _ring(square: np.ndarray, inner: float, outer: float) -> np.ndarray:
    """Pixels outside the square at Chebyshev-ish distance in (inner, outer] from its edge."""
    ys, xs = np.mgrid[0:H, 0:W]
    dy = np.maximum(np.maximum(SQ[0] - ys, ys - (SQ[1] - 1)), 0)
    dx = np.maximum(np.maximum(SQ[2] - xs, xs - (SQ[3] - 1)), 0)
    d = np.hypot(dx, dy)
    return (~square) & (d > inner) & (d <= outer)


def test_sharp_foreground_does_not_leak_into_the_blurred_background(ctx, programs, rng) -> None:
    img, z, square = _square_scene(rng)
    out, coc = render(ctx, programs, img, 1 / z, lens_for(1.0))
    assert coc[~square].min() > 20  # the wall is strongly blurred
    band = _ring(square, 0, 3)
    red = srgb_to_linear(out[..., 0] / 255.0)
    assert red[band].mean() < 0.05, f"halo: {red[band].mean():.3f} red in the 3 px band"
    # The square itself stays sharp and red.
    inner = np.s_[SQ[0] + 4:SQ[1] - 4, SQ[2] + 4:SQ[3] - 4]
    assert psnr(out[inner], img[inner]) > 40


def test_blurred_foreground_spills_over_the_sharp_background(ctx, programs, rng) -> None:
    img, z, square = _square_scene(rng)
    lens = lens_for(10.0)
    out, coc = render(ctx, programs, img, 1 / z, lens)
    radius = -coc[square].mean() / 2
    assert radius > 8
    red = srgb_to_linear(out[..., 0] / 255.0)
    # A straight edge of a disc-blurred half plane covers ~19.6 % at half a radius outside.
    at_half_radius = _ring(square, 0.5 * radius - 1, 0.5 * radius)
    assert red[at_half_radius].mean() > 0.08
    # Beyond one radius and a bit, the sharp wall is untouched by the foreground.
    far_out = _ring(square, radius + 3, radius + 6)
    assert red[far_out].mean() < 0.02
    # On the silhouette itself, about half the foreground shows (partial occlusion).
    edge = _ring(square, 0, 1)
    assert 0.3 < red[edge].mean() < 0.7


def _point_scene(value: float = 40.0) -> tuple[np.ndarray, np.ndarray]:
    """A small HDR light on black, in linear light; far behind the focus plane."""
    img = np.zeros((H, W, 3), np.float32)
    img[LIGHT[0]:LIGHT[1], LIGHT[2]:LIGHT[3]] = value
    z = np.full((H, W), 50.0, np.float32)
    return img, 1 / z


def _disc_mask(out: np.ndarray) -> np.ndarray:
    lum = out.astype(np.float64).mean(axis=2)
    return lum > 0.5 * np.percentile(lum, 99.9)


def test_point_light_becomes_a_disc_of_the_lens_coc_diameter(ctx, programs) -> None:
    img, inv = _point_scene()
    lens = lens_for(0.9, f_stop=2.0)
    expected = lens.coc_px(50.0, W)
    assert 25 < expected < 40
    out, _ = render(ctx, programs, img, inv, lens)
    mask = _disc_mask(out)
    diameter = 2 * np.sqrt(mask.sum() / np.pi)
    assert diameter == pytest.approx(expected, rel=0.10)
    assert _best_aperture_fit(mask, rotation_deg=0.0) == 0  # round, not a polygon


def _aperture_mask(shape: tuple[int, int], center: tuple[float, float], area: float,
                   blades: int, rotation_deg: float) -> np.ndarray:
    """An ideal aperture of the given area, from the numpy twin of aperture.glsl."""
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]]
    norm = LensState(blades=blades, blade_rotation_deg=rotation_deg).aperture_norm(
        xs - center[1], ys - center[0])
    if blades < 3:
        return norm <= np.sqrt(area / np.pi)
    seg = 2 * np.pi / blades
    return norm <= np.sqrt(2 * area / (blades * np.sin(seg)))


def _best_aperture_fit(mask: np.ndarray, rotation_deg: float) -> int:
    """The blade count (0 = circle, 3..8) whose ideal shape overlaps the mask best (IoU)."""
    ys, xs = np.nonzero(mask)
    center = (ys.mean(), xs.mean())
    best, best_iou = -1, 0.0
    for n in (0, 3, 4, 5, 6, 7, 8):
        ideal = _aperture_mask(mask.shape, center, mask.sum(), n, rotation_deg)
        iou = (ideal & mask).sum() / (ideal | mask).sum()
        if iou > best_iou:
            best, best_iou = n, iou
    assert best_iou > 0.85, f"no aperture shape fits (best IoU {best_iou:.2f})"
    return best


@pytest.mark.parametrize("blades", [5, 6])
def test_blades_make_a_polygon_with_that_many_corners(ctx, programs, blades: int) -> None:
    img, inv = _point_scene()
    out, _ = render(ctx, programs, img, inv, lens_for(0.9, f_stop=1.4, blades=blades,
                                                      blade_rotation_deg=10.0))
    assert _best_aperture_fit(_disc_mask(out), rotation_deg=10.0) == blades


def test_anamorphic_squeeze_stretches_the_bokeh_vertically(ctx, programs) -> None:
    img, inv = _point_scene()
    lens = lens_for(0.9, f_stop=2.8, squeeze=2.0)
    out, _ = render(ctx, programs, img, inv, lens)
    ys, xs = np.nonzero(_disc_mask(out))
    aspect = (ys.max() - ys.min() + 1) / (xs.max() - xs.min() + 1)
    assert aspect == pytest.approx(2.0, rel=0.12)


def test_highlight_boost_puts_energy_back_into_clipped_lights(ctx, programs) -> None:
    img = np.full((H, W, 3), 20, np.uint8)
    img[92:100, 124:132] = 255  # a clipped light
    inv = np.full((H, W), 1 / 50.0, np.float32)
    lens = lens_for(0.9, f_stop=2.0)
    plain, _ = render(ctx, programs, img, inv, lens, highlight=HighlightBoost(0.9, 0.0))
    boosted, _ = render(ctx, programs, img, inv, lens, highlight=HighlightBoost(0.9, 3.0))
    e_plain = srgb_to_linear(plain / 255.0).sum()
    e_boost = srgb_to_linear(boosted / 255.0).sum()
    light = 64 * 3  # linear energy of the clipped block
    assert (e_boost - e_plain) == pytest.approx(3.0 * light, rel=0.15)


@pytest.mark.parametrize("quality", list(QUALITY_PRESETS))
def test_every_quality_preset_renders_a_close_result(ctx, programs, rng, quality: str) -> None:
    img, z, _ = _square_scene(rng)
    ref, _ = render(ctx, programs, img, 1 / z, lens_for(3.0), quality="ultra")
    out, _ = render(ctx, programs, img, 1 / z, lens_for(3.0), quality=quality)
    assert psnr(out, ref) > (30 if quality == "draft" else 34)


def test_depth_of_another_resolution_is_resampled(ctx, programs) -> None:
    # Inverse depth linear across the frame: bilinear resampling of it is exact in the interior.
    inv_full = np.linspace(1 / 0.6, 1 / 30.0, W, dtype=np.float32)[None, :].repeat(H, 0)
    lens = lens_for(2.0, f_stop=2.8)
    _, coc_full = render(ctx, programs, np.zeros((H, W, 3), np.uint8), inv_full, lens)
    inv_half = np.linspace(1 / 0.6, 1 / 30.0, W // 2, dtype=np.float32)[None, :].repeat(H // 2, 0)
    _, coc_half = render(ctx, programs, np.zeros((H, W, 3), np.uint8), inv_half, lens)
    interior = np.s_[:, 4:-4]
    assert np.abs(coc_half[interior] - coc_full[interior]).max() < 0.15


def test_linear_light_input_matches_srgb_input(ctx, programs, rng) -> None:
    img, z, _ = _square_scene(rng)
    out_srgb, _ = render(ctx, programs, img, 1 / z, lens_for(3.0))
    lin = srgb_to_linear(img / 255.0).astype(np.float32)
    out_lin, _ = render(ctx, programs, lin, 1 / z, lens_for(3.0))
    assert psnr(out_srgb, out_lin) > 40
    assert np.allclose(linear_to_srgb(lin[:1, :1]) * 255, img[:1, :1], atol=0.6)


def test_renderer_releases_every_gl_object(ctx, programs) -> None:
    from rackfocus_live.gpu.dof import DofRenderer

    dof = DofRenderer(ctx, programs, (64, 48))
    textures = list(dof._textures)
    fbos = list(dof._framebuffers)
    dof.resize((80, 40))
    assert all(t.glo == -1 or t.mglo is None or _released(t) for t in textures)
    dof.release()
    assert not dof._textures and not dof._framebuffers
    assert all(_released(f) for f in fbos)


def _released(obj: object) -> bool:
    # moderngl marks released objects by replacing their internal handle.
    return type(getattr(obj, "mglo", None)).__name__ == "InvalidObject"


def test_metric_mm_png_and_disparity_give_the_same_coc_map(ctx, programs, tmp_path) -> None:
    from rackfocus_live.depth import DepthMapping, encode_disparity
    from rackfocus_live.media.images import read_depth_raw, write_depth

    ys, xs = np.mgrid[0:H, 0:W]
    z = (0.8 + 10.0 * xs / W + 2.0 * (ys > H // 2)).astype(np.float32)  # slope plus a step
    write_depth(tmp_path / "d.exr", z)
    write_depth(tmp_path / "d_mm.png", np.round(z * 1000).astype(np.uint16))
    write_depth(tmp_path / "d_disp.png", encode_disparity(z, near=0.5, far=20.0))
    maps = {
        "exr": DepthMapping("metric"),
        "d_mm.png": DepthMapping("metric", scale=0.001),
        "d_disp.png": DepthMapping("disparity", near=0.5, far=20.0),
    }
    lens = lens_for(2.0, f_stop=2.0, focal_mm=50)
    cocs = {}
    for name, mapping in maps.items():
        path = tmp_path / ("d.exr" if name == "exr" else name)
        inv = mapping.to_inverse_depth(read_depth_raw(path), str(path))
        _, cocs[name] = render(ctx, programs, np.zeros((H, W, 3), np.uint8), inv, lens)
    assert np.abs(cocs["exr"]).max() > 5
    assert np.abs(cocs["d_mm.png"] - cocs["exr"]).max() < 0.05
    assert np.abs(cocs["d_disp.png"] - cocs["exr"]).max() < 0.1


@pytest.mark.parametrize(("quality", "min_db"), [("draft", 36.0), ("default", 39.0)])
def test_receding_plane_matches_an_exact_scatter(ctx, programs, quality: str,
                                                 min_db: float) -> None:
    """A single slanted surface has no occlusion, so the thin-lens image is known exactly: each
    pixel spread over its own CoC. Covers the whole range from sharp through slight defocus (the
    full-res gather) to strong defocus (the half-res layers), in front of and behind focus."""
    from tests.dof_helpers import scatter_reference

    rng = np.random.default_rng(3)
    img = np.repeat(np.repeat(rng.integers(0, 256, (H // 4, W // 4, 3), dtype=np.uint8), 4, 0),
                    4, 1)
    rows = np.arange(H, dtype=np.float32)[:, None].repeat(W, 1)
    inv = 1 / 20 + (1 / 1.0 - 1 / 20) * rows / (H - 1)  # far at the top, 1 m at the bottom
    lens = lens_for(3.0, focal_mm=50)
    out, coc = render(ctx, programs, img, inv, lens, quality=quality)
    assert coc.min() < -8 and coc.max() > 2.5
    ref = linear_to_srgb(scatter_reference(srgb_to_linear(img / 255.0), coc)) * 255
    m = int(np.abs(coc).max() / 2) + 2  # leave out the borders the reference cannot see past
    assert psnr(out[m:-m, m:-m], ref[m:-m, m:-m]) > min_db


def _layers(ctx, programs, img: np.ndarray, z: np.ndarray,  # type: ignore[no-untyped-def]
            lens: LensState) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Render; returns (output, near layer, far layer) as float arrays (layers at half res)."""
    dof = DofRenderer(ctx, programs, (W, H))
    color = ctx.texture((W, H), 3, np.ascontiguousarray(img).tobytes(), alignment=1)
    depth = ctx.texture((W, H), 1, (1 / z).astype(np.float32).tobytes(), dtype="f4")
    try:
        dof.render(color, depth, lens, color_is_srgb=True)
        out = np.frombuffer(dof.read_output(), np.uint8).reshape(H, W, 3).astype(np.float64)
        layers = [np.frombuffer(t.read(), np.float16).reshape(H // 2, W // 2, 4).astype(np.float64)
                  for t in (dof.near_raw, dof.far_raw)]
    finally:
        dof.release()
        color.release()
        depth.release()
    return out, layers[0], layers[1]


def test_the_inside_of_a_blurred_foreground_is_opaque_and_hides_the_background_exactly(
        ctx, programs, rng, monkeypatch) -> None:
    # A textured wall over the left half at 0.5 m (CoC 14 px) before a background at 100 m whose
    # CoC (38 px) is larger: the far gather's hole fill searches that far and finds background
    # behind the wall's inside, where the wall hides it completely.
    lens = lens_for(0.6)
    img = rng.integers(0, 256, (H, W, 3), np.uint8)
    z = np.full((H, W), 100.0, np.float32)
    z[:, : W // 2] = 0.5
    out, near, far = _layers(ctx, programs, img, z, lens)
    # Coverage sums to exactly 1 inside the wall (the layer's alpha), from one CoC radius in.
    inside = near[8:-8, : W // 4 - 5, 3]
    assert inside.min() == 1.0
    # The fill is skipped there; without the skip (as with a post-filter) the far layer differs
    # behind the wall, the image not by a bit.
    defines = dof_module._defines
    monkeypatch.setattr(dof_module, "_defines",
                        lambda preset: {**defines(preset), "POSTFILTER_ON": 1})
    out_full, _, far_full = _layers(ctx, programs, img, z, lens)
    # Wall texels whose 3x3 neighbourhood is opaque: no pixel's bilinear taps see past them.
    alpha = np.pad(near[..., 3], 1, mode="edge")
    opaque = np.min([alpha[dy: dy + H // 2, dx: dx + W // 2]
                     for dy in range(3) for dx in range(3)], axis=0) == 1.0
    behind = opaque & (np.arange(W // 2) < W // 4)[None, :]
    assert (far[behind][:, 3] == 0.0).all()
    assert (far_full[behind][:, 3] > 0.0).sum() > 0.05 * behind.sum()
    np.testing.assert_array_equal(out, out_full)
