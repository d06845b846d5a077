"""Helpers for DOF tests: render numpy scenes through the real DofRenderer."""

from __future__ import annotations

import moderngl
import numpy as np
import numpy.typing as npt

from rackfocus_live.gpu.dof import DofRenderer
from rackfocus_live.gpu.programs import ProgramCache
from rackfocus_live.lens import LensState
from rackfocus_live.lens_character import LensCharacter
from rackfocus_live.settings import HighlightBoost

NO_BOOST = HighlightBoost(threshold=0.9, gain=0.0)
#: Any lens with a round aperture: the footprint's rim radius depends on the shape alone.
ROUND_APERTURE = LensState(focal_length_mm=50.0, f_stop=2.0, sensor_width_mm=36.0, focus_m=1.0)


def srgb_to_linear(x: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    x = np.asarray(x, np.float64)
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    x = np.clip(np.asarray(x, np.float64), 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * x ** (1 / 2.4) - 0.055)


def psnr(a: npt.NDArray[np.generic], b: npt.NDArray[np.generic], peak: float = 255.0) -> float:
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(peak * peak / mse)


def render(
    ctx: moderngl.Context,
    programs: ProgramCache,
    color: npt.NDArray[np.generic],
    inv_depth: npt.NDArray[np.floating],
    lens: LensState,
    *,
    highlight: HighlightBoost = NO_BOOST,
    quality: str = "default",
    scene_linear: bool = False,
    character: LensCharacter | None = None,
    linear_output: bool = False,
) -> tuple[npt.NDArray[np.generic], npt.NDArray[np.float32]]:
    """Render; returns (HxWx3 output, HxW float CoC map in px). The output is uint8 sRGB, or
    with ``linear_output`` float32 linear light, unclamped (energy sums of lights brighter
    than display white).

    ``color`` is uint8 sRGB or float linear light (float16 texture, HDR allowed); ``scene_linear``
    tells the renderer float colour carries true energy (no highlight boost).
    """
    h, w = color.shape[:2]
    if color.dtype == np.uint8:
        tex = ctx.texture((w, h), 3, np.ascontiguousarray(color).tobytes(), alignment=1)
        is_srgb = True
    else:
        data = np.ascontiguousarray(color, np.float16)
        tex = ctx.texture((w, h), 3, data.tobytes(), dtype="f2", alignment=1)
        is_srgb = False
    dh, dw = inv_depth.shape
    dtex = ctx.texture((dw, dh), 1, np.ascontiguousarray(inv_depth, np.float32).tobytes(),
                       dtype="f4", alignment=1)
    dof = DofRenderer(ctx, programs, (w, h), quality, linear_output=linear_output)
    try:
        dof.render(tex, dtex, lens, color_is_srgb=is_srgb, highlight=highlight,
                   scene_linear=scene_linear, character=character)
        out = np.frombuffer(dof.read_output(), np.float32 if linear_output else np.uint8
                            ).reshape(h, w, 3).copy()
        coc = np.frombuffer(dof.coc.read(), np.float16).reshape(h, w).astype(np.float32)
    finally:
        dof.release()
        tex.release()
        dtex.release()
    return out, coc


def scatter_reference(linear: npt.NDArray[np.floating],
                      coc: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """The exact thin-lens image of an occlusion-free scene (a single surface): every pixel
    spreads its light evenly over its own CoC disc (radius |coc|/2, one-pixel antialiased rim
    at the radius that gives the disc's second moment on the pixel grid, as
    ``LensState.discrete_rim_radius``), each footprint normalised to carry exactly the pixel's
    light. Independent of the shaders."""
    h, w = coc.shape
    r = ROUND_APERTURE.discrete_rim_radius(np.abs(np.asarray(coc, np.float64)) / 2)
    reach = int(np.ceil(r.max())) + 1
    offsets = [(dy, dx) for dy in range(-reach, reach + 1) for dx in range(-reach, reach + 1)]
    footprint = np.zeros_like(r)
    for dy, dx in offsets:
        footprint += np.clip(r - np.hypot(dx, dy) + 0.5, 0, 1)
    out = np.zeros((h + 2 * reach, w + 2 * reach, 3))
    for dy, dx in offsets:
        share = np.clip(r - np.hypot(dx, dy) + 0.5, 0, 1) / footprint
        out[reach + dy: reach + dy + h, reach + dx: reach + dx + w] += linear * share[..., None]
    return out[reach: reach + h, reach: reach + w]
