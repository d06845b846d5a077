"""How fine a depth map's detail really is: edge widths read from the depth itself."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from bench.blur import gauss_blur
from rackfocus_live.depthcond import bilinear_resize
from rackfocus_live.depthdetail import SHOT_ATTEMPTS, ShotDetail, detail_ratio, detail_scale

H, W = 180, 336


def blocks() -> npt.NDArray[np.float64]:
    """Inverse depth of a floor receding upwards with two near blocks and a wall: sharp edges
    in both directions, and a slope that is not an edge."""
    yy, xx = np.mgrid[0:H, 0:W]
    d = 0.1 + 0.2 * yy / H
    d[(xx > 40) & (xx < 120) & (yy > 30) & (yy < 150)] = 1.0
    d[(xx > 200) & (xx < 290) & (yy > 60)] = 0.6
    return d


def test_sharp_depth_has_the_detail_of_its_grid() -> None:
    assert detail_scale(blocks()) == 1.0


@pytest.mark.parametrize("sigma", [2.0, 4.0, 6.0])
def test_a_blur_reads_as_texels_its_width_wide(sigma: float) -> None:
    """A Gaussian blur of sigma widens a step to about 2.5 sigma (step over steepest slope:
    sqrt(2 pi) sigma); WIDTH_PER_TEXEL (3) of that is one texel."""
    got = detail_scale(gauss_blur(blocks(), sigma))
    assert got == pytest.approx(np.sqrt(2 * np.pi) * sigma / 3.0, abs=0.3)


@pytest.mark.parametrize("factor", [3, 4])
def test_upsampled_model_depth_reads_as_its_own_resolution(factor: int) -> None:
    """Depth at 1/factor of the size (area average) with a one-texel blur, up-sampled bilinearly
    (what a depth tool writes at the clip's size) reads as about factor times coarser than its
    grid; the small map itself, resampled to that size as the conditioning reads it, the same."""
    small = blocks().reshape(H // factor, factor, W // factor, factor).mean(axis=(1, 3))
    soft = gauss_blur(small, 1.0)
    up = bilinear_resize(soft.astype(np.float32), (H, W))
    got = detail_ratio(up)
    assert got is not None and factor - 0.5 <= got <= factor + 0.5
    assert detail_scale(up) == got
    # The small map, conditioned for colour of the full size, reads the same: the same detail.
    assert detail_ratio(soft, (H, W)) == max(got, W / soft.shape[1])
    assert detail_scale(soft, (H, W)) == pytest.approx(got / factor, abs=0.2)


def test_the_scale_ignores_the_depth_convention_and_noise(rng: np.random.Generator) -> None:
    """Affine-invariant (relative disparity has any scale and offset), and sensor noise does not
    make sharp depth look soft or soft depth sharp."""
    soft = gauss_blur(blocks(), 4.0)
    base = detail_scale(soft)
    assert detail_scale(37.0 * soft - 5.0) == base
    noisy = blocks() + rng.normal(0.0, 0.003, (H, W))
    assert detail_scale(noisy) == 1.0
    assert detail_scale(soft + rng.normal(0.0, 0.001, (H, W))) == pytest.approx(base, abs=0.25)


def test_depth_without_edges_is_not_judged() -> None:
    """A slanted floor, a flat wall and a thin wire (two edges that cancel) give no verdict."""
    yy, xx = np.mgrid[0:H, 0:W]
    floor = 0.1 + 0.5 * yy / H + 0.1 * xx / W
    assert detail_scale(floor) is None
    assert detail_scale(np.full((H, W), 0.3)) is None
    wire = np.full((H, W), 0.1)
    wire[:, 150:153] = 1.0
    assert detail_scale(wire) is None
    assert detail_scale(np.zeros((4, 4))) is None


def test_a_shot_is_measured_until_it_can_be_then_kept() -> None:
    shot = ShotDetail()
    assert not shot.tried
    flat = np.full((H, W), 0.3)
    assert shot.update(flat, (H, W)) == 1.0 and shot.scale is None and shot.tried
    soft = gauss_blur(blocks(), 6.0)
    scale = shot.update(soft, (H, W))
    assert scale > 4.0
    # Kept for the shot: a sharp frame later does not change it (no flicker of the reach).
    assert shot.update(blocks(), (H, W)) == scale
    # Depth of another size is another stream: measured again.
    assert shot.update(blocks()[::2, ::2], (H // 2, W // 2)) == 1.0


def test_a_shot_without_edges_stops_measuring() -> None:
    shot = ShotDetail()
    flat = np.full((H, W), 0.3)
    for _ in range(SHOT_ATTEMPTS):
        shot.update(flat, (H, W))
    # After SHOT_ATTEMPTS frames it has given up: a later soft frame is not measured.
    assert shot.update(gauss_blur(blocks(), 6.0), (H, W)) == 1.0


def test_a_shot_measured_up_front_reads_no_more_frames_than_it_needs() -> None:
    """``measure_from`` takes frames lazily: it stops at the first with enough edges."""
    read: list[int] = []

    def frames(edges_from: int):  # type: ignore[no-untyped-def]
        for i in range(20):
            read.append(i)
            yield np.full((H, W), 0.3) if i < edges_from else gauss_blur(blocks(), 6.0)

    shot = ShotDetail()
    assert shot.measure_from(frames(2), (H, W)) > 4.0
    assert read == [0, 1, 2]
    read.clear()
    flat = ShotDetail()  # no edges in its first SHOT_ATTEMPTS frames: gives up, scale 1
    assert flat.measure_from(frames(12), (H, W)) == 1.0
    assert read == list(range(SHOT_ATTEMPTS))
