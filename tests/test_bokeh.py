"""Bokeh quality: flat discs with crisp rims, partial occlusion, borders, highlights."""

from __future__ import annotations
import pytest

from bench.disc import disc_stats

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
