"""Depth conditioning: edge refinement (numpy reference and GPU pass), temporal stabilisation.

Scenes are small and synthetic: a textured subject in front of a textured background, the
depth made soft, low-resolution or drifting the way depth models and sensors hand it over.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from rackfocus_live.depthcond import (
    DepthConditioning,
    SequenceConditioner,
    bilinear_resize,
    condition_sequence,
    refine_edges,
    temporal_blend,
)
from rackfocus_live.lens import LensState

W, H = 192, 72
EDGE_X = 90  # the subject covers columns < EDGE_X
W_SUBJECT, W_BACK = 1.0, 0.05  # inverse depth (1/m): subject at 1 m, background at 20 m
#: Focus 4 m, between the two: a soft ramp crosses it. 1-inch sensor so CoCs are large at 192 px.
LENS = LensState(focal_length_mm=85, f_stop=4.0, sensor_width_mm=13.2, focus_m=4.0)
#: |CoC| below which a pixel looks sharp here (the background's is about 5 px, the subject's 20).
SHARP_PX = 2.0


def edge_scene(rng: np.random.Generator, edge_x: int = EDGE_X) -> tuple[
        npt.NDArray[np.uint8], npt.NDArray[np.float32]]:
    """Reddish textured subject left of ``edge_x``, grey textured background right of it; the
    true (step) inverse depth."""
    rgb = np.empty((H, W, 3), np.uint8)
    noise = rng.integers(-25, 26, (H, W))
    rgb[..., 0] = np.where(np.arange(W) < edge_x, 190, 110)[None] + noise
    rgb[..., 1] = np.where(np.arange(W) < edge_x, 90, 120)[None] + noise
    rgb[..., 2] = np.where(np.arange(W) < edge_x, 70, 125)[None] + noise
    depth = np.where(np.arange(W)[None] < edge_x, W_SUBJECT, W_BACK) * np.ones((H, 1))
    return rgb, depth.astype(np.float32)


def model_like(depth: npt.NDArray[np.float32], factor: int = 3, shift: int = 0
               ) -> npt.NDArray[np.float32]:
    """A third of the width (area average), blurred over a low-res texel, 8-bit steps, and
    ``shift`` full-res pixels of misregistration."""
    d = np.concatenate([np.repeat(depth[:, :1], shift, axis=1), depth[:, : W - shift]], axis=1)
    h, w = d.shape
    small = d.reshape(h // factor, factor, w // factor, factor).mean(axis=(1, 3))
    k = np.array([0.25, 0.5, 0.25])
    for axis in (0, 1):
        pad = np.pad(small, [(1, 1) if a == axis else (0, 0) for a in (0, 1)], mode="edge")
        n = small.shape[axis]
        small = sum(k[i] * np.take(pad, np.arange(i, i + n), axis=axis) for i in range(3))
    lo, hi = W_BACK, W_SUBJECT
    q = np.round((small - lo) / (hi - lo) * 255) / 255 * (hi - lo) + lo
    return q.astype(np.float32)


def crossing_columns(depth: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """Per row, the sub-pixel column where depth crosses halfway between the two plateaus."""
    mid = 0.5 * (W_SUBJECT + W_BACK)
    out = []
    for row in depth:
        i = int(np.argmax(row < mid))  # first column on the far side
        a, b = row[i - 1], row[i]
        out.append(i - 1 + (a - mid) / (a - b) + 0.5)  # +0.5: pixel centres
    return np.array(out)


# -- pure numpy ---------------------------------------------------------------------------------


def test_refinement_puts_the_step_at_the_colour_edge_and_keeps_the_subject_whole(rng) -> None:
    rgb, truth = edge_scene(rng)
    soft = model_like(truth, shift=2)  # a third of the width, blurred, 8-bit, 2 px off
    up = bilinear_resize(soft, (H, W))
    refined = refine_edges(rgb, soft)
    # Before: the crossing sits 2 px away from the edge, the ramp spans many pixels and eats
    # into the subject (a near pixel given far depth: the costly error on real scenes).
    assert np.abs(crossing_columns(up) - EDGE_X).mean() > 1.5
    assert ((up > W_BACK + 0.05) & (up < W_SUBJECT - 0.05)).sum(axis=1).mean() >= 6
    assert (up[:, :EDGE_X] < W_SUBJECT - 0.05).sum(axis=1).min() >= 2
    # After: the step is at the colour edge (within 1 px on every row) and the whole subject
    # has its depth. Background pixels whose colour matches both ends may keep an in-between
    # value from the ramp (the near bias: see depthcond's docstring).
    assert np.abs(crossing_columns(refined) - EDGE_X).max() <= 1.0
    assert (refined[:, :EDGE_X] < W_SUBJECT - 0.05).sum() == 0


@pytest.mark.parametrize(("width", "factor"), [(4, 1), (8, 1), (8, 3), (16, 3)])
def test_soft_ramp_crossing_the_focus_plane_leaves_no_in_focus_seam(rng, width: int,
                                                                    factor: int) -> None:
    """A soft ramp in inverse depth (a model's upsampled output at full resolution, or its own
    third-resolution depth) crosses the focus plane: every row of the raw depth has sharp
    pixels along the contour, the refined depth none (one stray pixel in a whole row at most,
    on under a fifth of the rows), on either side."""
    rgb, _ = edge_scene(rng)
    x = np.arange(W, dtype=np.float64)
    t = np.clip((x - (EDGE_X - width / 2)) / width, 0.0, 1.0)
    ramp = (W_SUBJECT + (W_BACK - W_SUBJECT) * t)[None].repeat(H, 0).astype(np.float32)
    depth = ramp[::factor, ::factor].copy()
    coc_raw = np.abs(LENS.coc_px_from_inverse_depth(bilinear_resize(depth, (H, W)), W))
    refined = refine_edges(rgb, depth)
    coc_refined = np.abs(LENS.coc_px_from_inverse_depth(refined, W))
    # Nothing in this scene is at 4 m: every pixel should be blurred by more than 2 px.
    assert (coc_raw < SHARP_PX).sum(axis=1).min() >= 1  # the seam: sharp pixels on every row
    sharp = (coc_refined < SHARP_PX).sum(axis=1)
    assert sharp.max() <= 1 and (sharp > 0).mean() < 0.2
    # The subject's side of the ramp takes the subject's depth (no subject pixel in focus).
    assert (coc_refined[:, :EDGE_X] < SHARP_PX).sum() == 0


def test_refinement_leaves_a_perfect_step_and_a_slanted_plane_alone(rng) -> None:
    rgb, truth = edge_scene(rng)
    np.testing.assert_allclose(refine_edges(rgb, truth), truth, rtol=1e-5)
    # A floor receding from 1 m to 3 m over the frame height, under the same texture.
    slope = (1.0 / np.linspace(1.0, 3.0, H))[:, None].repeat(W, 1).astype(np.float32)
    inner = slice(8, -8)  # clamped windows at the frame's top and bottom are lopsided
    np.testing.assert_allclose(refine_edges(rgb, slope)[inner], slope[inner], rtol=0.01)


def test_noise_is_reduced_without_moving_the_edge(rng) -> None:
    rgb, truth = edge_scene(rng)
    noisy = (truth * (1 + rng.normal(0, 0.01, truth.shape))).astype(np.float32)
    refined = refine_edges(rgb, noisy)
    err_before = np.abs(noisy - truth) / truth
    err_after = np.abs(refined - truth) / truth
    assert err_after.mean() < 0.6 * err_before.mean()
    assert np.abs(crossing_columns(refined) - EDGE_X).max() <= 0.5


#: The thin bar of ``bar_scene``: its first column and width (narrower than a 1/3-res texel's
#: footprint after blur, so a model-like depth reaches about half its disparity).
BAR_X, BAR_W = 94, 4


def bar_scene(rng: np.random.Generator) -> tuple[
        npt.NDArray[np.uint8], npt.NDArray[np.float32]]:
    """A thin bright vertical bar (a wire, a stem) at the subject's depth over the textured
    background; the true (step) inverse depth."""
    x = np.arange(W)
    bar = (x >= BAR_X) & (x < BAR_X + BAR_W)
    noise = rng.integers(-20, 21, (H, W))
    rgb = np.empty((H, W, 3), np.uint8)
    rgb[:] = np.array([70, 72, 75]) + noise[..., None]
    rgb[:, bar] = np.array([200, 195, 180]) + noise[:, bar][..., None] // 4
    depth = np.where(bar[None], W_SUBJECT, W_BACK) * np.ones((H, 1))
    return rgb, depth.astype(np.float32)


def test_a_thin_bar_gets_its_depth_back_and_the_background_beside_it_keeps_its_own(rng) -> None:
    rgb, truth = bar_scene(rng)
    soft = model_like(truth)  # a third of the width, blurred, 8-bit
    up = bilinear_resize(soft, (H, W))
    refined = refine_edges(rgb, soft)
    rows = slice(8, -8)  # clipped windows at the frame's top and bottom see less of the bar
    core = refined[rows, BAR_X + 1: BAR_X + BAR_W - 1]
    x = np.arange(W)
    gap = np.maximum(BAR_X - x, x - (BAR_X + BAR_W - 1))  # px from the bar
    # The background 8 to 12 px from the bar: beyond the bar's blurred depth, but within a
    # window's reach of it (the tap radius is 6.5 px at a third of the resolution).
    apart = (gap >= 8) & (gap <= 12)
    # Before: the bar reaches about half its disparity (washed out by the area average and the
    # blur), which spreads a few pixels either side of it.
    assert up[:, BAR_X: BAR_X + BAR_W].max() < 0.6 * W_SUBJECT
    assert (up[:, gap == 3] > W_BACK + 0.1).all()
    assert np.abs(up[:, apart] - W_BACK).max() < 0.01
    # After: the bar's core is at its depth within 12 % (its depth mass over the background
    # divided by its cover, not the window's washed-out nearest) ...
    assert np.abs(core / W_SUBJECT - 1).max() < 0.12
    # ... and the background a window away keeps its own depth: the tail of the bar's blurred
    # depth at the window's border is not taken for a near surface.
    assert np.abs(refined[:, apart] - W_BACK).max() < 0.05


def halo_share(refined: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """Per distance 1..8 px from the bar (``bar_scene``), the share of background pixels given
    depth more than a tenth of the way towards the bar's (rows clear of the frame's edges)."""
    x = np.arange(W)
    gap = np.maximum(BAR_X - x, x - (BAR_X + BAR_W - 1))
    toward = refined[8:-8] - W_BACK > 0.1 * (W_SUBJECT - W_BACK)
    return np.array([toward[:, gap == g].mean() for g in range(1, 9)])


def test_the_background_in_a_thin_bar_s_blurred_halo_is_not_snapped_to_the_bar(rng) -> None:
    """Coarse depth spreads the bar's depth over a halo of background pixels a few pixels
    wide, so the window's near end holds background-coloured taps; the near end's likeness to
    a pixel is read from its taps unlike the background (the bar's), and the halo's pixels take
    the background's depth. Before, 14-71 % of the background 1, 3 and 4 px from the bar took
    the bar's restored depth: bright specks blurred as if at the bar's distance."""
    rgb, truth = bar_scene(rng)
    soft = model_like(truth)
    up = bilinear_resize(soft, (H, W))
    # The halo: the background up to 4 px from the bar holds more than a tenth of its depth.
    assert (halo_share(up)[:4] == 1.0).all()
    refined = refine_edges(rgb, soft)
    assert halo_share(refined).max() < 0.02
    # The bar itself keeps its restored depth (as in the test above).
    assert np.abs(refined[8:-8, BAR_X + 1: BAR_X + BAR_W - 1] / W_SUBJECT - 1).max() < 0.12


def light_scene(rng: np.random.Generator, back: float, light: float) -> tuple[
        npt.NDArray[np.uint8], npt.NDArray[np.float32]]:
    """A small light (a 6x6 px LED, clipped white) at inverse depth ``light`` before a textured
    background at ``back``; the true inverse depth."""
    noise = rng.integers(-20, 21, (H, W))
    rgb = np.empty((H, W, 3), np.uint8)
    rgb[:] = np.array([120, 90, 60]) + noise[..., None]
    depth = np.full((H, W), back, np.float32)
    rgb[LIGHT_ROWS, LIGHT_COLS] = 255
    depth[LIGHT_ROWS, LIGHT_COLS] = light
    return rgb, depth


LIGHT_ROWS, LIGHT_COLS = slice(33, 39), slice(93, 99)


def washed_out(depth: npt.NDArray[np.float32], lo: float, hi: float) -> npt.NDArray[np.float32]:
    """``model_like`` between other bounds: a third of the width, blurred, 8-bit."""
    scaled = (depth - lo) / (hi - lo) * (W_SUBJECT - W_BACK) + W_BACK
    soft = model_like(scaled.astype(np.float32))
    return ((soft - W_BACK) / (W_SUBJECT - W_BACK) * (hi - lo) + lo).astype(np.float32)


@pytest.mark.parametrize(("back", "light", "tolerance"), [(0.05, 1.0, 0.25), (0.36, 0.54, 0.1)],
                         ids=["far background", "near background"])
def test_a_small_light_washed_out_by_a_depth_model_gets_its_depth_back(
        rng, back: float, light: float, tolerance: float) -> None:
    """An LED's depth, spread by a depth model over a bump several times its size, comes back
    from the bump's depth mass over the LED's own clipped pixels, whether the bump is deep
    enough to be an edge (a far background) or not (an LED on a monitor before a wall)."""
    rgb, truth = light_scene(rng, back, light)
    soft = washed_out(truth, back, light)
    up = bilinear_resize(soft, (H, W))
    assert up[LIGHT_ROWS, LIGHT_COLS].max() < back + 0.6 * (light - back)  # washed out
    refined = refine_edges(rgb, soft)
    core = refined[34:38, 94:98]
    # Most of the way back (the window's 25 taps see the blurred bump's mass only in part:
    # 0.81 of 1.0 and 0.50 of 0.54 here, from 0.58 and 0.46). The near background's bump is
    # too shallow for an edge window: before the light rule it kept its washed-out 0.46.
    washed = up[LIGHT_ROWS, LIGHT_COLS].max()
    assert core.min() > washed + 0.4 * (light - washed)
    assert np.abs(core / light - 1).max() < tolerance
    # The desk around it keeps its own depth a window away.
    assert np.abs(refined[:, :70] / back - 1).max() < 0.05


def test_a_clipped_sky_beside_a_building_keeps_the_sky_s_depth(rng) -> None:
    """A clipped white sky is a surface, not a small light: beside a nearer building its pixels
    keep the sky's depth, not the building's (they fill much of their window)."""
    noise = rng.integers(-20, 21, (H, W))
    rgb = np.empty((H, W, 3), np.uint8)
    rgb[:] = np.array([90, 85, 80]) + noise[..., None]
    rgb[: H // 2] = 255
    truth = np.full((H, W), 0.2, np.float32)
    truth[: H // 2] = 0.01
    refined = refine_edges(rgb, washed_out(truth, 0.01, 0.2))
    sky = refined[H // 2 - 4: H // 2, 8:-8]
    assert np.abs(sky - 0.01).max() < 0.02


def drifting_shot(rng: np.random.Generator, frames: int = 10) -> tuple[
        list[npt.NDArray[np.uint8]], list[npt.NDArray[np.float32]],
        list[npt.NDArray[np.float32]]]:
    """A still background, a subject square walking towards the camera (inverse depth +8 % a
    frame, moving right 3 px a frame), each frame's disparity under a +-10 % affine drift (frame 0
    undrifted). Returns colour, drifted depth, true depth."""
    back = rng.integers(60, 200, (H, W, 3)).astype(np.uint8)
    # A wall above a floor receding towards it: the static depth the drift is measured on.
    floor = np.maximum(0.2, np.linspace(0.0, 0.5, H))[:, None].repeat(W, 1).astype(np.float32)
    colours, drifted, truths = [], [], []
    for i in range(frames):
        rgb = back.copy()
        truth = floor.copy()
        x0 = 30 + 3 * i
        rgb[20:50, x0: x0 + 30] = (200, 40, 40)
        truth[20:50, x0: x0 + 30] = 0.5 * 1.08**i
        s = 1.0 + (rng.uniform(-0.1, 0.1) if i else 0.0)
        o = rng.uniform(-0.03, 0.03) if i else 0.0
        colours.append(rgb)
        drifted.append((s * truth + o).astype(np.float32))
        truths.append(truth)
    return colours, drifted, truths


def test_affine_drift_is_removed_and_a_subject_moving_in_depth_followed_without_lag(rng) -> None:
    colours, drifted, truths = drifting_shot(rng)
    outs = list(condition_sequence(zip(colours, drifted, strict=True)))
    plain = list(condition_sequence(zip(colours, drifted, strict=True), stabilise=False))
    for i, (out, raw_out, truth) in enumerate(zip(outs, plain, truths, strict=True)):
        inner = (slice(22, 48), slice(32 + 3 * i, 58 + 3 * i))  # inside the subject
        back = (slice(5, 20), slice(100, 190))
        # Background: at frame 0's value in every frame (the drift of up to 10 % is gone).
        assert abs(float(np.median(out[back])) / 0.2 - 1) < 0.005, f"frame {i}"
        # Subject: its own frame's true depth, not the last frame's (no lag).
        got = float(np.median(out[inner]))
        assert abs(got / float(truth[30, 40 + 3 * i]) - 1) < 0.025, f"frame {i}: {got}"
        if i:
            # Without stabilisation the drift shows (the test would pass vacuously otherwise).
            assert abs(float(np.median(raw_out[back])) / 0.2 - 1) > 0.005, f"frame {i}"


def test_temporal_blend_keeps_still_pixels_and_follows_changed_ones() -> None:
    prev = np.full((4, 4), 0.5, np.float32)
    luma = np.full((4, 4), 0.4, np.float32)
    cur = prev * np.float32(1.01)  # noise: averaged with the previous output
    cur[0, 0] = 0.8                # a real change of depth: followed at once
    luma2 = luma.copy()
    luma2[1, 1] = 0.9              # a colour change: followed at once
    cur[1, 1] = 0.505
    out = temporal_blend(cur, luma2, prev, luma)
    assert out[2, 2] == pytest.approx(0.5025, rel=1e-4)
    assert out[0, 0] == pytest.approx(0.8)
    assert out[1, 1] == pytest.approx(0.505)


def test_conditioning_defaults() -> None:
    auto = DepthConditioning()
    assert auto.refine
    assert auto.stabilise_for("disparity", moving=True)
    assert auto.stabilise_for("normalized", moving=True)
    assert not auto.stabilise_for("metric", moving=True)
    assert not auto.stabilise_for("disparity", moving=False)
    assert DepthConditioning(stabilise=True).stabilise_for("metric", moving=True)
    assert not DepthConditioning(stabilise=False).stabilise_for("disparity", moving=True)


def test_sequence_conditioner_resets(rng) -> None:
    colours, drifted, _ = drifting_shot(rng, frames=3)
    cond = SequenceConditioner(refine=False)
    cond(colours[0], drifted[0])
    second = cond(colours[1], drifted[1])
    cond.reset()
    again = cond(colours[1], drifted[1])  # a new reference: the raw frame as it is
    np.testing.assert_allclose(again, drifted[1], rtol=1e-6)
    assert not np.allclose(second, drifted[1], rtol=1e-3)
