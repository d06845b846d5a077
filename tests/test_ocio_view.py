"""The OCIO display view on the GPU (gpu.ocio_view) against OCIO's CPU processor, for a plain and
a LUT-based (ACES 2.0) view, with scene light far above 1.0; bad names as one line."""

from __future__ import annotations

import numpy as np
import pytest

from rackfocus_live.colour import WORKING_SPACE, quantize8, to_display
from rackfocus_live.errors import InputError

pytestmark = pytest.mark.gl


@pytest.mark.parametrize("view", ["Un-tone-mapped", "ACES 2.0 - SDR 100 nits (Rec.709)"])
def test_gpu_view_matches_the_cpu_view(ctx, rng, view) -> None:
    from rackfocus_live.gpu.ocio_view import OcioViewPass

    h, w = 24, 40
    linear = np.exp(rng.uniform(-6, 4, (h, w, 3))).astype(np.float32)  # 0.0025 .. 55
    linear[0, 0] = (0.18, 0.18, 0.18)
    src = ctx.texture((w, h), 4, np.dstack([linear, np.ones((h, w), np.float32)]).tobytes(),
                      dtype="f4")
    out = ctx.texture((w, h), 4, dtype="f1")
    fbo = ctx.framebuffer(color_attachments=[out])
    view_pass = OcioViewPass(ctx, "sRGB - Display", view)
    try:
        view_pass.render(src, fbo)
        got = np.frombuffer(fbo.read(components=3), np.uint8).reshape(h, w, 3).astype(int)
    finally:
        view_pass.release()
        for obj in (fbo, out, src):
            obj.release()
    want = quantize8(to_display(linear, WORKING_SPACE, "sRGB - Display", view)).astype(int)
    assert np.abs(got - want).max() <= 2
    assert np.abs(got - want).mean() < 0.3


def test_unknown_view_is_one_line(ctx) -> None:
    from rackfocus_live.gpu.ocio_view import OcioViewPass

    with pytest.raises(InputError, match="display 'sRGB - Display' has no view 'Filmic'"):
        OcioViewPass(ctx, "sRGB - Display", "Filmic")
