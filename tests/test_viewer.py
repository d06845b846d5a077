"""Viewer maths: fit, 1:1, zoom about a point, pan, A/B divider."""

from __future__ import annotations

import pytest

from rackfocus_live.ui.viewer import MAX_ZOOM, ViewerState

VIEW = (1000.0, 500.0)
IMG = (640, 360)


def test_fit_letterboxes_and_maps_both_ways() -> None:
    v = ViewerState()
    r = v.image_rect(VIEW, IMG)
    # 500/360 < 1000/640: height-limited, centred horizontally.
    s = 500 / 360
    assert (r.w, r.h) == pytest.approx((640 * s, 500))
    assert r.x == pytest.approx((1000 - 640 * s) / 2) and r.y == pytest.approx(0)
    assert v.to_image(VIEW, IMG, r.x + 1e-9, 0.0) == pytest.approx((0.0, 0.0), abs=1e-6)
    assert v.to_image(VIEW, IMG, 500.0, 250.0) == pytest.approx((320.0, 180.0))
    assert v.to_image(VIEW, IMG, 5.0, 250.0) is None  # in the letterbox
    px, py = v.to_viewport(VIEW, IMG, 100.0, 50.0)
    assert v.to_image(VIEW, IMG, px, py) == pytest.approx((100.0, 50.0))


def test_one_to_one_is_centred_at_unit_scale() -> None:
    v = ViewerState()
    v.set_one_to_one(IMG)
    r = v.image_rect(VIEW, IMG)
    assert (r.x, r.y, r.w, r.h) == pytest.approx((180.0, 70.0, 640.0, 360.0))
    v.set_fit()
    assert v.image_rect(VIEW, IMG).h == pytest.approx(500.0)


def test_zoom_keeps_the_point_under_the_cursor() -> None:
    v = ViewerState()
    anchor = (700.0, 120.0)
    before = v.to_image(VIEW, IMG, *anchor)
    assert before is not None
    v.zoom_about(VIEW, IMG, 2.5, anchor)
    assert v.mode == "free"
    assert v.scale(VIEW, IMG) == pytest.approx(2.5 * 500 / 360)
    assert v.to_image(VIEW, IMG, *anchor) == pytest.approx(before)
    v.zoom_about(VIEW, IMG, 1e6)
    assert v.zoom == MAX_ZOOM
    v.zoom_about(VIEW, IMG, float("nan"))  # ignored
    assert v.zoom == MAX_ZOOM


def test_pan_moves_the_image_with_the_drag() -> None:
    v = ViewerState()
    v.set_one_to_one(IMG)
    r0 = v.image_rect(VIEW, IMG)
    v.pan_by(VIEW, IMG, 30.0, -10.0)
    r1 = v.image_rect(VIEW, IMG)
    assert (r1.x - r0.x, r1.y - r0.y) == pytest.approx((30.0, -10.0))


def test_ab_divider_grab_drag_and_sides() -> None:
    v = ViewerState()
    assert not v.begin_divider_drag(VIEW, 500.0)  # split off: nothing to grab
    v.split_enabled = True
    assert not v.begin_divider_drag(VIEW, 520.0)
    assert v.begin_divider_drag(VIEW, 503.0)
    v.drag_divider(VIEW, 250.0)
    assert v.split == pytest.approx(0.25)
    v.drag_divider(VIEW, -50.0)
    assert v.split == 0.0
    v.drag_divider(VIEW, 800.0)
    v.end_divider_drag()
    assert not v.dragging_divider
    assert v.shows_original(VIEW, 799.0) and not v.shows_original(VIEW, 801.0)
