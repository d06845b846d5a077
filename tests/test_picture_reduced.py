"""The preview's half-size depth of field (``UiState.adaptive_reduced``): the same picture at a
quarter of the pixels, the CoC scaled with the size, and the full size back when still."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from rackfocus_live.lens import LensState
from rackfocus_live.ui.picture import Picture
from rackfocus_live.ui.state import UiState
from tests.dof_helpers import psnr

pytestmark = pytest.mark.gl

W, H = 192, 108
LENS = LensState(focal_length_mm=50.0, f_stop=2.0, sensor_width_mm=36.0, focus_m=1.0)


def _session(ctx, rng):  # type: ignore[no-untyped-def]
    """What Picture.render reads of a media session: linear colour (RGBA16F), inverse depth."""
    yy, xx = np.mgrid[0:H, 0:W]
    # Smooth colour (so a 2x2 mean loses nothing a blur keeps) over two depths.
    rgb = np.stack([0.5 + 0.4 * np.sin(xx / 9.0), 0.5 + 0.4 * np.cos(yy / 7.0),
                    0.3 + 0.2 * np.sin((xx + yy) / 11.0), np.ones_like(xx, float)], -1)
    color = ctx.texture((W, H), 4, rgb.astype(np.float16).tobytes(), dtype="f2")
    inv = np.where(xx < W // 2, 1.0, 1 / 6.0).astype(np.float32)
    depth = ctx.texture((W, H), 1, inv.tobytes(), dtype="f4")
    return SimpleNamespace(current=0, color=color, depth=depth,
                           info=SimpleNamespace(scene_linear=False))


def _shown(picture: Picture) -> np.ndarray:
    active = picture._active
    assert active is not None
    w, h = active.size
    return np.frombuffer(active.read_output(), np.uint8).reshape(h, w, 3).astype(np.float64)


def _coc(picture: Picture) -> np.ndarray:
    active = picture._active
    assert active is not None
    w, h = active.size
    return np.frombuffer(active.coc.read(), np.float16).reshape(h, w).astype(np.float64)


def test_reduced_renders_the_same_picture_at_half_size_and_refines_when_still(
        ctx, programs, rng) -> None:
    session = _session(ctx, rng)
    picture = Picture(ctx, programs)
    try:
        picture.set_size((W, H), "draft")
        state = UiState(lens=LENS, quality="draft")
        picture.render(session, state)  # type: ignore[arg-type]
        full = _shown(picture)
        coc_full = _coc(picture)
        assert not picture.reduced and full.shape == (H, W, 3)
        renders = picture.dof_renders
        state.adaptive_reduced = True
        picture.render(session, state)  # type: ignore[arg-type]
        half = _shown(picture)
        coc_half = _coc(picture)
        assert picture.reduced and half.shape == (H // 2, W // 2, 3)
        assert picture.dof_renders == renders + 1
        # The full-size picture's 2x2 means: the same blur (CoC halved with the size), and the
        # same light in slightly defocused highlights (their boost starts from a blur of a
        # source pixel, not a rendered one: 29 dB when it counted rendered pixels).
        full_small = full.reshape(H // 2, 2, W // 2, 2, 3).mean(axis=(1, 3))
        assert psnr(half, full_small) > 40.0
        # Blur is geometry: the CoC in pixels of the half-size render is half the full one's.
        assert abs(np.median(np.abs(coc_half)) / np.median(np.abs(coc_full)) - 0.5) < 0.05
        state.adaptive_reduced = False
        picture.render(session, state)  # type: ignore[arg-type]
        assert not picture.reduced and _shown(picture).shape == (H, W, 3)
    finally:
        picture.release()
        session.color.release()
        session.depth.release()
