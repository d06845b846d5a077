"""Depth conventions and invalid samples (pure numpy)."""

from __future__ import annotations

import numpy as np
import pytest

from rackfocus_live.depth import DepthMapping, encode_disparity, fill_invalid
from rackfocus_live.errors import InputError


def test_metric_float_is_metres_and_inf_is_infinitely_far() -> None:
    z = np.array([[1.0, 2.0], [4.0, np.inf]], np.float32)
    w = DepthMapping("metric").to_inverse_depth(z)
    np.testing.assert_allclose(w, [[1.0, 0.5], [0.25, 0.0]])


def test_metric_uint16_defaults_to_millimetres_and_scale_overrides() -> None:
    mm = np.array([[1000, 2000]], np.uint16)
    np.testing.assert_allclose(DepthMapping("metric").to_inverse_depth(mm), [[1.0, 0.5]])
    tum = np.array([[5000, 10000]], np.uint16)  # TUM: 5000 units per metre
    np.testing.assert_allclose(
        DepthMapping("metric", scale=0.0002).to_inverse_depth(tum), [[1.0, 0.5]]
    )


def test_disparity_maps_linearly_in_inverse_depth_between_near_and_far() -> None:
    m = DepthMapping("disparity", near=0.5, far=10.0)
    d8 = np.array([[255, 0, 128]], np.uint8)
    w = m.to_inverse_depth(d8)
    assert w[0, 0] == pytest.approx(2.0)  # brightest = near
    assert w[0, 1] == pytest.approx(0.1)  # zero = far (valid, not a hole)
    assert w[0, 2] == pytest.approx(0.1 + (128 / 255) * 1.9, rel=1e-6)


def test_disparity_with_infinite_far() -> None:
    m = DepthMapping("disparity", near=1.0, far=float("inf"))
    np.testing.assert_allclose(m.to_inverse_depth(np.array([[0.0, 0.5]], np.float32)), [[0, 0.5]])


def test_normalized_is_linear_in_metres() -> None:
    m = DepthMapping("normalized", near=1.0, far=9.0)
    w = m.to_inverse_depth(np.array([[0.0, 0.5, 1.0]], np.float32))
    np.testing.assert_allclose(1 / w, [[1.0, 5.0, 9.0]], rtol=1e-6)


def test_disparity_round_trips_through_encode() -> None:
    z = np.linspace(0.7, 12.0, 50, dtype=np.float64).reshape(5, 10)
    d = encode_disparity(z, near=0.5, far=20.0)
    w = DepthMapping("disparity", near=0.5, far=20.0).to_inverse_depth(d)
    np.testing.assert_allclose(1 / w, z, rtol=2e-3)


def test_invalid_samples_are_filled_from_their_surroundings() -> None:
    z = np.full((8, 8), 2.0, np.float32)
    z[:, 4:] = 4.0
    z[3, 1] = 0.0  # depth-camera hole inside the 2 m region
    z[5, 6] = np.nan  # NaN inside the 4 m region
    w = DepthMapping("metric").to_inverse_depth(z)
    assert w[3, 1] == pytest.approx(0.5, abs=0.05)
    assert w[5, 6] == pytest.approx(0.25, abs=0.05)
    assert np.isfinite(w).all()
    untouched = np.ones_like(z, bool)
    untouched[3, 1] = untouched[5, 6] = False
    np.testing.assert_array_equal(w[untouched], 1 / z[untouched])


def test_negative_and_nan_are_invalid_in_every_kind() -> None:
    for kind in ("metric", "disparity", "normalized"):
        raw = np.array([[0.5, -1.0, np.nan, 0.25]], np.float32)
        _, valid = DepthMapping(kind).to_inverse_depth_raw(raw)
        assert valid.tolist() == [[True, False, False, True]], kind


def test_all_invalid_depth_is_an_error_naming_the_file() -> None:
    with pytest.raises(InputError, match="no valid samples") as err:
        DepthMapping("metric").to_inverse_depth(np.zeros((4, 4), np.uint16), source="d.png")
    assert "d.png" in str(err.value)


def test_fill_invalid_handles_a_large_hole_and_odd_sizes() -> None:
    v = np.full((37, 53), 3.0, np.float32)
    valid = np.zeros_like(v, bool)
    valid[0, 0] = True
    out = fill_invalid(v * valid, valid)
    np.testing.assert_allclose(out, 3.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "bogus"}, "unknown depth kind"),
        ({"scale": 0}, "depth scale"),
        ({"near": 0}, "near must be > 0"),
        ({"near": 5, "far": 2}, "must be greater than near"),
        ({"kind": "normalized", "far": float("inf")}, "finite"),
    ],
)
def test_bad_mapping_parameters(kwargs: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        DepthMapping(**kwargs)
