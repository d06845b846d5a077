"""The display (viewer) pass built per overlay combination gives the same pixels as the single
program with runtime flags it replaced (kept as tests/shaders/overlay_reference.frag), for every
combination of overlays and the A/B split, at whole, offset and fractional image rectangles."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from rackfocus_live.gpu.fullscreen import FullscreenPass
from rackfocus_live.gpu.overlays import OverlayParams, ViewerPass, covers_target, on_target
from rackfocus_live.gpu.programs import ProgramCache
from tests.test_overlays import H, Scene, W

pytestmark = pytest.mark.gl

REFERENCE_SHADERS = Path(__file__).resolve().parent / "shaders"
# u_flags bits of the reference program.
FLAG_BITS = {"depth": 1, "focus_plane": 2, "peaking": 4, "coc": 8}


@pytest.fixture
def scene(ctx) -> Iterator[Scene]:  # type: ignore[no-untyped-def]
    s = Scene(ctx)
    yield s
    s.release()


def reference_draw(ref: FullscreenPass, s: Scene, params: OverlayParams,
                   rect: tuple[float, float, float, float], split_x: float | None) -> np.ndarray:
    flags = sum(bit for name, bit in FLAG_BITS.items() if getattr(params, name))
    s.target.viewport = (0, 0, W, H)
    for tex in (s.result, s.original, s.inv_depth, s.coc):
        tex.repeat_x = tex.repeat_y = False  # bilinear (the default) and clamped: the viewer's
    ref.render(s.target, [("u_result", s.result), ("u_original", s.original),
                          ("u_inv_depth", s.inv_depth), ("u_coc", s.coc)], {
        "u_target_size": (float(W), float(H)), "u_rect": rect, "u_flags": flags,
        "u_split_x": -1.0 if split_x is None else split_x, "u_original_linear": 1,
        "u_depth_range": params.depth_range, "u_in_focus_px": params.in_focus_px,
        "u_coc_max": params.coc_max_px, "u_peak_threshold": params.peak_threshold,
        "u_peak_color": params.peak_color, "u_background": params.background,
    })
    return np.frombuffer(s.target.read(components=3), np.uint8).reshape(H, W, 3).astype(int)


def viewer_draw(viewer: ViewerPass, s: Scene, params: OverlayParams,
                rect: tuple[float, float, float, float], split_x: float | None) -> np.ndarray:
    s.target.clear(1.0, 0.0, 1.0, 1.0)  # magenta: a pixel the pass forgot shows up
    viewer.render(s.target, (W, H), rect, result=s.result, original=s.original,
                  inv_depth=s.inv_depth, coc=s.coc, params=params, split_x=split_x)
    return np.frombuffer(s.target.read(components=3), np.uint8).reshape(H, W, 3).astype(int)


RECTS = [(0.0, 0.0, float(W), float(H)), (20.0, 10.0, float(W), float(H)),
         (5.4, 3.6, 40.3, 20.2), (-30.0, -8.0, 128.0, 64.0)]


def test_every_overlay_combination_matches_the_single_program(ctx, programs, scene) -> None:  # type: ignore[no-untyped-def]
    ref_cache = ProgramCache(ctx, REFERENCE_SHADERS)
    ref = FullscreenPass(ref_cache, "overlay_reference.frag")
    viewer = ViewerPass(programs)
    try:
        for depth, focus, peaking, coc, split in itertools.product((False, True), repeat=5):
            params = OverlayParams(depth=depth, focus_plane=focus, peaking=peaking, coc=coc,
                                   depth_range=(1 / 8.0, 1.0), coc_max_px=10.0)
            split_x = 21.5 if split else None
            for rect in RECTS:
                want = reference_draw(ref, scene, params, rect, split_x)
                got = viewer_draw(viewer, scene, params, rect, split_x)
                diff = np.abs(got - want).max()
                assert diff <= 1, (params, split, rect, diff)
    finally:
        viewer.release()
        ref.release()
        ref_cache.release()


def test_background_is_cleared_unless_the_image_covers_the_target() -> None:
    assert covers_target((64, 32), (0, 0, 64, 32))
    assert covers_target((64, 32), (-30, -8, 128, 64))
    # A fringe column whose pixel centre lies outside the image must be cleared.
    assert not covers_target((64, 32), (0, 0, 63.6, 32))
    assert not covers_target((64, 32), (0.2, 0, 64, 32))
    assert on_target((64, 32), (5.4, 3.6, 40.3, 20.2)) and on_target((64, 32), (-10, -10, 11, 11))
    assert not on_target((64, 32), (70, 0, 10, 10))
    assert not on_target((64, 32), (0, -20, 10, 10))
    assert not on_target((64, 32), (0, 0, 0, 10))


def test_a_fringe_column_never_keeps_stale_pixels(ctx, programs, scene) -> None:  # type: ignore[no-untyped-def]
    viewer = ViewerPass(programs)
    try:
        # The image ends at x = 63.6: the last column's centre (63.5) is inside, so it is image;
        # at 63.4 it is outside and must be background, not what the target held before.
        for right, image_last in ((63.6, True), (63.4, False)):
            img = viewer_draw(viewer, scene, OverlayParams(), (0.0, 0.0, right, float(H)), None)
            bg = np.round(np.array(OverlayParams().background) * 255)
            last = img[10, W - 1]
            assert not (last == [255, 0, 255]).all()  # never the stale magenta
            assert (np.abs(last - bg).max() <= 1) != image_last
    finally:
        viewer.release()
