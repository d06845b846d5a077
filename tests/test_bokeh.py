"""Bokeh quality: flat discs with crisp rims, partial occlusion, borders, highlights."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from bench.disc import DISC_LENS, disc_stats
from rackfocus_live.gpu.dof import BOOST_SPREAD
from rackfocus_live.lens import LensState
from rackfocus_live.settings import HighlightBoost
from tests.dof_helpers import (
    linear_to_srgb,
    psnr,
    render,
    scatter_reference,
    srgb_to_linear,
)

pytestmark = pytest.mark.gl


@pytest.mark.parametrize(("quality", "max_cv"), [("default", 0.03), ("draft", 0.06)])
def test_a_lone_light_far_out_of_focus_is_a_flat_disc_with_a_crisp_rim(
        ctx, programs, quality: str, max_cv: float) -> None:
    # 640x360, 50 mm f/1.4 on 36 mm focused at 1 m, a 3x3 px light at 10 m: a 30 px disc.
    s = disc_stats(ctx, programs, quality)
    assert s.diameter_px == pytest.approx(30.1, abs=0.2)
    assert 2 * s.measured_radius_px == pytest.approx(s.diameter_px, rel=0.05)
    assert s.interior_cv < max_cv
    assert s.rim_10_90_px < 2.0
    # Temporally stable: moving the light by a pixel moves the disc, it does not re-texture it.
    assert s.shimmer < (0.12 if quality == "draft" else 0.06)


@pytest.mark.parametrize("quality", ["default", "draft"])
def test_a_mid_sized_disc_is_as_flat_and_crisp(ctx, programs, quality: str) -> None:
    # The same light at f/4: a 10.5 px disc, below the size where a gather's samples mottle a
    # disc but where they still blur its rim (2.4 px) and, with the draft's few samples,
    # speckle (CV 17 %) and shimmer (52 %) as the light moves: drawn as a sprite instead.
    s = disc_stats(ctx, programs, quality, replace(DISC_LENS, f_stop=4.0))
    assert s.diameter_px == pytest.approx(10.5, abs=0.1)
    assert 2 * s.measured_radius_px == pytest.approx(s.diameter_px, rel=0.08)
    assert s.interior_cv < 0.03
    assert s.rim_10_90_px < 2.0
    assert s.shimmer < 0.06


W, H = 256, 192


def _lens(focus_m: float, f_stop: float = 2.8) -> LensState:
    return LensState(focal_length_mm=85.0, f_stop=f_stop, sensor_width_mm=36.0, focus_m=focus_m)


def _depth_for_coc(lens: LensState, coc_px: float) -> float:
    """The depth (m) whose signed CoC diameter is ``coc_px`` at width W."""
    return 1.0 / (1.0 / lens.focus_m - coc_px / lens.coc_scale_px(W))


# The background in focus, or slightly in front of the focus plane itself (a floor running
# towards the camera under wires): near-field pixels too, but sharper than the bar, and what the
# lens sees past the bar. The bar kept its sharp core over those (108 of 128 where 79 was right).
@pytest.mark.parametrize("background_coc", [0.0, -2.0, -4.0])
@pytest.mark.parametrize("quality", ["default", "draft"])
def test_a_thin_near_bar_becomes_a_soft_band_without_a_sharp_core(
        ctx, programs, quality: str, background_coc: float) -> None:
    lens = _lens(2.0)
    img = np.zeros((H, W, 3), np.uint8)
    img[..., 2] = 200                      # blue background
    img[:, 127:130] = (230, 0, 0)          # a 3 px red bar in front, CoC 12 px
    z = np.full((H, W), _depth_for_coc(lens, background_coc), np.float32)
    z[:, 127:130] = _depth_for_coc(lens, -12.0)
    out, coc = render(ctx, programs, img, 1 / z, lens, quality=quality)
    assert coc[H // 2, 128] == pytest.approx(-12.0, abs=0.1)
    red = srgb_to_linear(out[16:-16, :, 0] / 255.0) / srgb_to_linear(230 / 255.0)
    profile = red.mean(axis=0)
    # Exact thin lens: a band 15 px wide whose middle keeps about a third of the bar's colour.
    assert (profile > 0.05).sum() >= 10
    assert red.max() <= 0.5
    # The background shows through where the bar was.
    blue = srgb_to_linear(out[16:-16, 128, 2] / 255.0) / srgb_to_linear(200 / 255.0)
    assert blue.mean() > 0.5


@pytest.mark.parametrize("object_coc", [8.0, 5.0, -5.0])
def test_a_mid_ground_silhouette_spreads_by_its_own_coc_over_a_blurrier_background(
        ctx, programs, object_coc: float) -> None:
    lens = _lens(1.0)
    img = np.zeros((H, W, 3), np.uint8)
    img[..., 2] = 180
    img[:, :128] = (220, 0, 0)             # the object: left half, slightly or mildly blurred
    z = np.full((H, W), _depth_for_coc(lens, 24.0), np.float32)   # background CoC 24 px
    z[:, :128] = _depth_for_coc(lens, object_coc)
    out, _ = render(ctx, programs, img, 1 / z, lens)
    red = (srgb_to_linear(out[16:-16, :, 0] / 255.0) / srgb_to_linear(220 / 255.0)).mean(axis=0)
    radius = abs(object_coc) / 2
    # Exact: at d px outside the silhouette the object keeps the disc segment beyond d (7 % at
    # 0.75 r); require it to reach at least half its radius out, and the silhouette to be soft.
    outside = np.nonzero(red[128:] < 0.05)[0][0]
    assert outside >= 0.5 * radius
    assert 0.2 < red[128] < 0.75
    assert red[:120].min() > 0.9           # the object itself keeps its colour


def test_border_rows_match_the_interior_in_large_blur(ctx, programs, rng) -> None:
    img = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    z = np.full((H, W), 20.0, np.float32)
    out, coc = render(ctx, programs, img, 1 / z, _lens(1.0, f_stop=1.4))
    assert coc[0, 0] > 30
    lum = out.astype(np.float64).mean(axis=2)
    interior_rough = np.abs(np.diff(lum[20:-20, 20:-20], axis=1)).mean()
    interior_mean = lum[20:-20, 20:-20].mean()
    for edge in (lum[:2], lum[-2:], lum[:, :2].T, lum[:, -2:].T):
        # Same blur (no sharp texture left along the edge) and the same level (no darkening).
        assert np.abs(np.diff(edge, axis=1)).mean() < 1.5 * interior_rough + 0.2
        assert edge.mean() == pytest.approx(interior_mean, abs=3.0)


def _chromaticity(rgb: np.ndarray) -> np.ndarray:
    rgb = np.asarray(rgb, np.float64)
    return rgb[..., :2] / rgb.sum(axis=-1, keepdims=True)


def _clipped_light_scene(core: int, glow: int) -> np.ndarray:
    """A clipped white core inside an unclipped orange glow, on a dark background."""
    img = np.full((H, W, 3), 20, np.uint8)
    ys, xs = np.mgrid[0:H, 0:W]
    d = np.hypot(ys - H / 2, xs - W / 2)
    img[d <= glow] = (235, 150, 50)
    img[d <= core] = 255
    return img


def test_a_clipped_light_keeps_the_hue_of_its_unclipped_glow(ctx, programs) -> None:
    img = _clipped_light_scene(core=3, glow=6)
    z = np.full((H, W), 20.0, np.float32)
    # f/1.4: a disc wide enough that it does not clip on display (an orange light that clipped
    # to white is bright enough to clip a smaller disc too, which would measure as yellow).
    out, _ = render(ctx, programs, img, 1 / z, _lens(1.0, f_stop=1.4), highlight=HighlightBoost())
    assert out.max() < 255
    centre = srgb_to_linear(out[H // 2 - 4: H // 2 + 5, W // 2 - 4: W // 2 + 5] / 255.0)
    glow = _chromaticity(srgb_to_linear(np.array([235, 150, 50]) / 255.0))
    got = _chromaticity(centre.reshape(-1, 3).mean(axis=0))
    assert got == pytest.approx(glow, rel=0.10)
    # And the light was boosted: the disc is brighter than the glow alone could make it.
    plain, _ = render(ctx, programs, img, 1 / z, _lens(1.0, f_stop=1.4))
    base = srgb_to_linear(np.full((H, W, 3), 20) / 255.0).sum()
    assert srgb_to_linear(out / 255.0).sum() - base > 2 * (srgb_to_linear(plain / 255.0).sum()
                                                           - base)


BROWN = np.array([90, 62, 40])  # a dark wooden desk


def _led_scene(light: np.ndarray) -> np.ndarray:
    """A small light of linear colour ``light`` (HDR) on a brown desk, as an 8-bit camera
    records it: a 6 px core clipped to white and a one-pixel antialiased rim (1.5 % of
    the light over the desk), no glow."""
    back = srgb_to_linear(BROWN / 255.0)
    img = np.broadcast_to(BROWN, (H, W, 3)).astype(np.uint8).copy()
    ys, xs = np.mgrid[0:H, 0:W]
    d = np.maximum(np.abs(ys - H / 2 + 0.5), np.abs(xs - W / 2 + 0.5))
    rim = 0.015 * light + 0.985 * back
    assert (rim < srgb_to_linear(np.array(0.9))).all()  # the rim is not clipped
    img[(d > 3) & (d <= 4)] = np.round(linear_to_srgb(rim) * 255)
    img[d <= 3] = 255
    return img


def _inside_led_disc(radius: float, margin: float) -> np.ndarray:
    """The pixels more than ``margin`` px inside the disc of ``_led_scene``'s light."""
    ys, xs = np.mgrid[0:H, 0:W]
    return np.hypot(ys - H / 2 + 0.5, xs - W / 2 + 0.5) < radius - margin


@pytest.mark.parametrize("light", [(30.0, 7.5, 5.5), (7.5, 27.0, 15.0), (18.0, 18.0, 18.0)],
                         ids=["red", "green", "white"])
def test_a_small_clipped_light_takes_its_colour_from_its_antialiased_rim(
        ctx, programs, light: tuple[float, float, float]) -> None:
    """An LED on a desk: only the rim of its image shows its colour (what it adds over the
    desk). The disc is that colour, and the light boosted at least at the clipped core's luma."""
    colour = np.array(light)
    img = _led_scene(colour)
    z = np.full((H, W), 20.0, np.float32)
    lens = _lens(1.0, f_stop=1.4)
    out, coc = render(ctx, programs, img, 1 / z, lens, highlight=HighlightBoost())
    assert out.max() < 255  # a disc that does not clip on display
    radius = coc[H // 2, W // 2] / 2
    lin = srgb_to_linear(out / 255.0) - srgb_to_linear(BROWN / 255.0)
    inside = _inside_led_disc(radius, 2)
    excess = lin[inside].mean(axis=0)
    assert _chromaticity(excess) == pytest.approx(_chromaticity(colour), rel=0.10)
    # The 36 px core at luma 1, boosted (1 + gain), all but its share of the rim's light.
    boost = 1.0 + HighlightBoost().gain
    assert float(lin.sum(axis=(0, 1)) @ [0.2126, 0.7152, 0.0722]) > 0.8 * 36 * boost


@pytest.mark.parametrize("quality", ["default", "draft"])
@pytest.mark.parametrize("f_stop", [1.4, 2.8])
@pytest.mark.parametrize("light", [(30.0, 7.5, 5.5), (18.0, 18.0, 18.0)], ids=["red", "white"])
def test_a_small_lights_disc_is_flat(
        ctx, programs, light: tuple[float, float, float], f_stop: float, quality: str) -> None:
    """A light several half-res texels wide (the LED's 6 px core and rim) is all one sprite:
    its rim texels are not left to the gather, which mottled the disc (CV 2.6-5.4 %)."""
    img = _led_scene(np.array(light))
    z = np.full((H, W), 20.0, np.float32)
    out, coc = render(ctx, programs, img, 1 / z, _lens(1.0, f_stop=f_stop),
                      highlight=HighlightBoost(), quality=quality)
    radius = coc[H // 2, W // 2] / 2
    inside = _inside_led_disc(radius, 3)
    luma = srgb_to_linear(out[inside] / 255.0) @ [0.2126, 0.7152, 0.0722]
    assert luma.std() / luma.mean() < 0.02


def test_a_clipped_white_surface_beside_a_coloured_one_stays_white(ctx, programs) -> None:
    """A large over-exposed surface (a white shirt) against blue jeans: the border between them
    is not a light's rim, and the surface keeps its white, however blurred."""
    img = np.full((H, W, 3), (40, 60, 150), np.uint8)
    img[40:150, 60:200] = 255
    z = np.full((H, W), 20.0, np.float32)
    out, _ = render(ctx, programs, img, 1 / z, _lens(1.0, f_stop=2.8), highlight=HighlightBoost())
    lin = srgb_to_linear(out[70:120, 100:160] / 255.0).reshape(-1, 3)
    assert lin.min() > 0.9
    assert _chromaticity(lin.mean(axis=0)) == pytest.approx([1 / 3, 1 / 3], abs=0.01)


def test_a_large_clipped_surface_is_boosted_less_than_a_small_light(ctx, programs) -> None:
    z = np.full((H, W), 20.0, np.float32)
    lens = _lens(1.0, f_stop=2.0)
    gains = []
    for size in (4, 40):
        img = np.full((H, W, 3), 20, np.uint8)
        img[H // 2 - size // 2: H // 2 + size // 2, W // 2 - size // 2: W // 2 + size // 2] = 255
        boosted, _ = render(ctx, programs, img, 1 / z, lens, highlight=HighlightBoost())
        plain, _ = render(ctx, programs, img, 1 / z, lens)
        base = srgb_to_linear(np.full((H, W, 3), 20) / 255.0).sum()
        gains.append((srgb_to_linear(boosted / 255.0).sum() - base)
                     / (srgb_to_linear(plain / 255.0).sum() - base))
    small, large = gains
    assert small == pytest.approx(1 + HighlightBoost().gain, rel=0.15)
    assert large < 0.6 * small


def _boost_gain(ctx, programs, img: np.ndarray, z: np.ndarray, lens: LensState) -> float:
    """The light a render adds over its background with the highlight boost, against the same
    without it (linear, unclamped output)."""
    boosted, _ = render(ctx, programs, img, 1 / z, lens, highlight=HighlightBoost(),
                        linear_output=True)
    plain, _ = render(ctx, programs, img, 1 / z, lens, linear_output=True)
    base = float(plain[0, 0].sum()) * img.shape[0] * img.shape[1]  # the background's share
    return (float(boosted.sum()) - base) / (float(plain.sum()) - base)


def test_a_small_light_keeps_its_energy_whichever_pass_blurs_it(ctx, programs) -> None:
    """A clipped light is re-expanded by the same gain in the full-resolution gather of slight
    defocus (CoC radius up to 4 px) as in the half-res layers. Before, a 4 px light kept only
    its clipped energy (gain 1.0) up to a CoC radius of 3 px and jumped to about 6 once the
    half-res layers took it over; the path tracer's disc of such a light stays clipped over
    twice its width (eval street scene, 2.4 m f/4: 34.9 -> 39.9 dB)."""
    img = np.full((H, W, 3), 20, np.uint8)
    img[94:98, 126:130] = 255
    lens = _lens(1.0, f_stop=2.0)
    full_gain = 1 + HighlightBoost().gain
    gains = {}
    for coc in (0.0, 1.0, 3.0, 2 * BOOST_SPREAD[1], 6.0, 12.0):
        z = np.full((H, W), _depth_for_coc(lens, coc), np.float32)
        gains[coc] = _boost_gain(ctx, programs, img, z, lens)
    # In focus and within a pixel the light stays within its own rim: nothing re-expanded.
    assert gains[0.0] == pytest.approx(1.0, abs=1e-3)
    assert gains[1.0] == pytest.approx(1.0, abs=0.05)
    # Growing with the blur, in full from BOOST_SPREAD[1] whichever pass blurs it.
    assert 1.5 < gains[3.0] < full_gain - 1.0
    for coc in (2 * BOOST_SPREAD[1], 6.0, 12.0):
        assert gains[coc] == pytest.approx(full_gain, rel=0.12), coc


def test_an_in_focus_light_whose_rim_carries_the_background_depth_does_not_bloom(
        ctx, programs) -> None:
    """Depth is one sample per pixel: the clipped antialiased rim of a light in focus may carry
    the depth of the background behind it. A light is one emitter at one depth, the nearest of
    its clipped pixels (lit.frag), so the slight-defocus gathers do not re-expand its rim as a
    defocused light's (gain 2.7 before; the desk's LEDs at 1.9 m with model depth: 39.21 ->
    39.93 dB on that scene)."""
    lens = _lens(1.0, f_stop=2.0)
    back = _depth_for_coc(lens, 5.0)  # the background: a CoC radius of 2.5 px
    img = np.full((H, W, 3), 20, np.uint8)
    img[92:100, 124:132] = 255                 # the light, 8 px, clipped
    z = np.full((H, W), back, np.float32)
    z[93:99, 125:131] = lens.focus_m           # in focus, but its outer ring has the wall's depth
    assert _boost_gain(ctx, programs, img, z, lens) == pytest.approx(1.0, abs=0.1)


def test_scene_linear_takes_its_true_energy_without_boost(ctx, programs) -> None:
    img = np.full((H, W, 3), 0.05, np.float32)
    img[90:98, 124:132] = 3.0              # an HDR light: its energy is known
    z = np.full((H, W), 20.0, np.float32)
    lens = _lens(1.0, f_stop=4.0)
    hdr, _ = render(ctx, programs, img, 1 / z, lens, highlight=HighlightBoost(), scene_linear=True)
    plain, _ = render(ctx, programs, img, 1 / z, lens)
    assert np.array_equal(hdr, plain)
    # Linear light from LDR footage (what the video upload produces) is still boosted.
    ldr = np.clip(img, 0.0, 1.0)
    boosted, _ = render(ctx, programs, ldr, 1 / z, lens, highlight=HighlightBoost())
    unboosted, _ = render(ctx, programs, ldr, 1 / z, lens)

    def light(out: np.ndarray) -> float:
        lin = srgb_to_linear(out / 255.0)
        return float((lin - lin[0, 0]).sum())

    assert light(boosted) > 3 * light(unboosted)


# Bar width and spacing (px), least PSNR: a 1 px bar shares its half-res texel with the
# background; wider bars fill texels of their own, whose hidden background the far gather takes
# from both sides (sprite_detect.frag); without that, 2 px bars every 8 px scored 28.8 dB.
@pytest.mark.parametrize(("width", "period", "min_psnr"), [(1, 12, 35.0), (2, 8, 31.5),
                                                           (3, 12, 32.5)])
def test_the_far_field_behind_thin_sharp_bars_is_neither_darkened_nor_haloed(
        ctx, programs, rng, width: int, period: int, min_psnr: float) -> None:
    lens = _lens(1.5, f_stop=1.4)
    cells = rng.integers(30, 230, (H // 6 + 1, W // 6 + 1, 3)).astype(np.uint8)
    background = np.repeat(np.repeat(cells, 6, 0), 6, 1)[:H, :W]
    bars = (np.arange(W) % period) < width          # dark bars, in focus
    img = background.copy()
    img[:, bars] = 20
    z = np.full((H, W), _depth_for_coc(lens, 10.0), np.float32)
    z[:, bars] = lens.focus_m
    out, coc = render(ctx, programs, img, 1 / z, lens)
    # Exact thin lens: bars in the focus plane block no light from the background beside them,
    # which is the whole background blurred by its CoC (the reference sees behind the bars).
    assert coc[H // 2, width + 1] == pytest.approx(10.0, abs=0.1)
    ref = scatter_reference(srgb_to_linear(background / 255.0), np.full((H, W), 10.0))
    ref[:, bars] = srgb_to_linear(20 / 255.0)
    ref8 = np.round(linear_to_srgb(ref) * 255.0)
    visible = np.broadcast_to(~bars[None, :], (H, W)).copy()
    visible[:8] = visible[-8:] = False              # the reference loses light off the frame
    visible[:, :8] = visible[:, -8:] = False
    assert psnr(out[visible], ref8[visible]) > min_psnr
    assert abs((out[visible].astype(float) - ref8[visible]).mean()) < 1.0   # not darkened
    assert np.abs(out[:, bars].astype(int) - 20).max() <= 2                 # bars stay sharp
