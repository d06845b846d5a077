"""Thin-lens CoC against hand-computed values (see the comments for the arithmetic)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rackfocus_live.errors import InputError
from rackfocus_live.lens import SENSOR_PRESETS_MM, LensState, sensor_width_mm

# f = 50 mm, N = 2 -> A = 25 mm; S = 2 m; sensor 36 mm spanning 1920 px.
LENS = LensState(focal_length_mm=50, f_stop=2, sensor_width_mm=36, focus_m=2.0)
WIDTH = 1920


def test_coc_behind_focus_is_positive_and_matches_hand_value() -> None:
    # c = A f (z - S) / (z (S - f)) = 0.025 * 0.05 * 2 / (4 * 1.95) = 3.2051e-4 m = 0.32051 mm
    # px = 0.32051 / 36 * 1920 = 17.094
    assert LENS.coc_px(4.0, WIDTH) == pytest.approx(17.094, abs=1e-3)


def test_coc_in_front_of_focus_is_negative_and_matches_hand_value() -> None:
    # c = 0.025 * 0.05 * (1 - 2) / (1 * 1.95) = -6.4103e-4 m -> -34.188 px
    assert LENS.coc_px(1.0, WIDTH) == pytest.approx(-34.188, abs=1e-3)


def test_coc_zero_at_focus_and_limit_at_infinity() -> None:
    assert LENS.coc_px(2.0, WIDTH) == pytest.approx(0.0, abs=1e-12)
    # z -> inf: c = A f / (S - f) = 0.00125 / 1.95 m -> 34.188 px
    assert LENS.coc_px(np.inf, WIDTH) == pytest.approx(34.188, abs=1e-3)


def test_no_breathing_drops_the_s_over_s_minus_f_factor() -> None:
    flat = LensState(50, 2, 36, 2.0, focus_breathing=False)
    # c = A f (z - S) / (z S) = 0.025 * 0.05 * 2 / 8 = 3.125e-4 m -> 16.667 px
    assert flat.coc_px(4.0, WIDTH) == pytest.approx(16.6667, abs=1e-3)
    assert LENS.coc_px(4.0, WIDTH) / flat.coc_px(4.0, WIDTH) == pytest.approx(2.0 / 1.95)


def test_coc_is_linear_in_inverse_depth_and_vectorised() -> None:
    z = np.array([0.5, 1.0, 2.0, 8.0, 100.0])
    got = LENS.coc_px(z, WIDTH)
    k = LENS.coc_scale_px(WIDTH)
    np.testing.assert_allclose(got, k * (1 / 2.0 - 1 / z), rtol=1e-12)
    assert np.all(np.diff(got) > 0)  # farther is always more positive


def test_coc_scales_with_aperture_and_resolution() -> None:
    wide = LensState(50, 1.0, 36, 2.0)
    assert wide.coc_px(4.0, WIDTH) == pytest.approx(2 * LENS.coc_px(4.0, WIDTH))
    assert LENS.coc_px(4.0, 3840) == pytest.approx(2 * LENS.coc_px(4.0, WIDTH))


def test_depth_of_field_limits_bracket_the_focus() -> None:
    near, far = LENS.depth_of_field_m(2.0, WIDTH)
    assert near < 2.0 < far
    assert abs(LENS.coc_px(near, WIDTH)) == pytest.approx(2.0, rel=1e-9)
    assert LENS.coc_px(far, WIDTH) == pytest.approx(2.0, rel=1e-9)
    # Beyond the hyperfocal distance everything to infinity is acceptably sharp.
    assert LensState(24, 16, 36, 30.0).depth_of_field_m(20.0, WIDTH)[1] == math.inf


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"f_stop": 0}, "f-stop must be > 0"),
        ({"f_stop": -2}, "f-stop must be > 0"),
        ({"focal_length_mm": 0}, "focal length must be > 0"),
        ({"focus_m": 0}, "focus distance must be > 0"),
        ({"focus_m": 0.04}, "greater than the focal length"),
        ({"sensor_width_mm": -1}, "sensor width"),
        ({"blades": 2}, "blades"),
        ({"squeeze": 0}, "squeeze"),
        ({"f_stop": float("nan")}, "f-stop"),
    ],
)
def test_invalid_lens_values_are_refused_with_a_reason(kwargs: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        LensState(**kwargs)


def test_sensor_presets_and_numbers() -> None:
    assert sensor_width_mm("full-frame") == 36.0
    assert sensor_width_mm("Super35") == SENSOR_PRESETS_MM["super35"]
    assert sensor_width_mm("17.3") == 17.3
    with pytest.raises(InputError, match="unknown sensor"):
        sensor_width_mm("imax-70")


def test_aperture_norm_circle_polygon_and_squeeze() -> None:
    circle = LensState()
    assert circle.aperture_norm(3.0, 4.0) == pytest.approx(5.0)
    hexagon = LensState(blades=6)
    # Vertices (at 0 deg with no rotation) lie on the circumcircle; edge midpoints are closer.
    assert hexagon.aperture_norm(10.0, 0.0) == pytest.approx(10.0)
    mid = np.radians(30.0)
    assert hexagon.aperture_norm(10 * np.cos(mid), 10 * np.sin(mid)) == pytest.approx(
        10 / np.cos(np.pi / 6))
    squeezed = LensState(squeeze=2.0)
    assert squeezed.aperture_norm(0.0, 8.0) == pytest.approx(4.0)


@pytest.mark.parametrize(("blades", "squeeze"), [(0, 1.0), (6, 1.0), (0, 1.5)])
def test_the_discrete_rim_radius_gives_the_aperture_s_second_moment(
        blades: int, squeeze: float) -> None:
    lens = LensState(focal_length_mm=50, f_stop=2, sensor_width_mm=36, focus_m=2.0,
                     blades=blades, squeeze=squeeze)
    # The continuous aperture of radius 1, on a fine grid.
    fine = np.linspace(-1.6, 1.6, 641)
    fy, fx = np.meshgrid(fine, fine, indexing="ij")
    inside = lens.aperture_norm(fx, fy) <= 1.0
    unit = float((fx[inside] ** 2 + fy[inside] ** 2).mean())
    if blades == 0 and squeeze == 1.0:
        assert unit == pytest.approx(0.5, rel=0.01)      # a disc: r^2 / 4 per axis
    dy, dx = np.mgrid[-8:9, -8:9]
    radii = np.array([0.0, 0.25, 0.4, 0.7, 1.0, 1.3, 2.0, 3.0, 4.5])
    rims = lens.discrete_rim_radius(radii)
    for r, rim in zip(radii, rims, strict=True):
        w = np.clip(rim - lens.aperture_norm(dx, dy) + 0.5, 0.0, 1.0)
        moment = float((w * (dx * dx + dy * dy)).sum() / w.sum())
        assert moment == pytest.approx(unit * r * r, rel=0.03, abs=2e-3)   # r = 0: no blur


def test_discrete_footprint_matches_the_disc_area_for_large_radii() -> None:
    lens = LensState()
    fp = lens.discrete_footprint(np.array([0.0, 0.5, 1.0, 6.0]))
    assert fp[0] == pytest.approx(0.5)  # only the pixel itself, half covered
    assert fp[1] == pytest.approx(1.0)
    assert fp[2] == pytest.approx(np.pi, rel=0.1)  # small discs are off pi r^2 ...
    assert fp[3] == pytest.approx(np.pi * 36, rel=0.01)  # ... large ones are not


@pytest.mark.parametrize(("given", "kept"), [
    (0.0, 0.0), (15.0, 15.0), (360.0, 0.0), (-90.0, 270.0), (725.0, 5.0),
    (-1e-138, 0.0),  # rounds up to 360.0 in a plain modulo: found by tests/test_fuzz.py
    (1e300, math.fmod(1e300, 360.0)),
])
def test_blade_rotation_is_kept_in_0_to_360(given: float, kept: float) -> None:
    rot = LensState(blade_rotation_deg=given).blade_rotation_deg
    assert 0.0 <= rot < 360.0
    assert rot == pytest.approx(kept, abs=1e-9)
