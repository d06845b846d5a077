"""Depth conditioning, numpy reference: edge refinement guided by colour, temporal stabilisation.

Pure numpy (never imports moderngl). The GPU passes in ``gpu/depthprep.py`` and
``shaders/depth_refine.frag`` implement the same arithmetic and are tested against these
functions; offline tools (a depth model run over a clip) can call :func:`condition_sequence`
directly on numpy frames.

All depth here is inverse depth (1/m) or any affine function of it (relative disparity from a
depth model): refinement and stabilisation work in that space because the CoC is linear in it.

Edge refinement (:func:`refine_edges`), per output pixel, over a square grid of taps spanning
``radius`` pixels (wider when depth has a lower resolution than colour):

1. weight each tap by spatial distance and by colour similarity to the centre pixel;
2. take the weighted median of the taps' depth (slopes keep their value, soft ramps do not
   survive: the median sits on the side whose colour matches);
3. where the window straddles a depth edge and the median still lands on an intermediate
   value (little weight near it), snap it to the nearer of the weighted quartiles, the near
   side on a tie, so no in-between depth lands in focus;
4. average the taps within a small relative band of that value (removes sensor noise and 8-bit
   steps without crossing edges).

Where all taps lie within that band already (smooth surfaces, most of a frame) steps 2-3
cannot change anything, so the GPU pass skips them: the result is identical.

Temporal stabilisation (:class:`TemporalStabiliser`), per frame of a depth video:

1. a robust (Huber) affine fit of this frame's raw depth against the previous stabilised frame
   over a coarse grid of pixels whose colour did not change; the frame is mapped through it, so a
   per-frame scale/offset drift of relative depth disappears;
2. after refinement, a temporal blend with the previous output where neither colour nor depth
   changed much (noise), none where either did (a subject moving: followed at once).

The reference scale is the first frame after a reset (start, seek, size change).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]

#: Relative half-width of the band around the median that is averaged (inverse depth).
BAND_REL = 0.03
#: Absolute floor of that band (1/m): keeps far depth (w near 0) from a zero-width band.
BAND_ABS = 1e-4
#: Below this share of the weight near the median, the median is an in-between value.
SUPPORT_MIN = 0.15
#: Colour distance (RGB, display-encoded 0..1) at which a tap's weight falls to exp(-1/2).
SIGMA_COLOR = 0.08
#: Taps per side of the square grid.
TAPS = 7
#: Luma change (0..1) below which a pixel counts as unchanged between frames.
LUMA_STILL = 0.03
#: Relative depth change below which an unchanged pixel is blended with the previous output.
DEPTH_STILL_REL = 0.03
#: Share of the previous output kept where a pixel is fully still.
TEMPORAL_KEEP = 0.5
#: Coarse grid of the affine drift fit (columns, rows).
FIT_GRID = (64, 36)

LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass(frozen=True, slots=True)
class DepthConditioning:
    """Which conditioning steps run (the CLI flags and panel toggles).

    Attributes:
        refine: edge-aware refinement guided by the colour frame (on by default: it costs nothing
            measurable on perfect depth and wins back most of what soft depth loses).
        stabilise: temporal stabilisation; None = automatic (on for disparity and normalized
            depth videos and sequences, off for metric depth and stills).
    """

    refine: bool = True
    stabilise: bool | None = None

    def stabilise_for(self, kind: str, moving: bool) -> bool:
        """Whether stabilisation runs for depth of ``kind`` that changes per frame (``moving``)."""
        if not moving:
            return False
        if self.stabilise is None:
            return kind in ("disparity", "normalized")
        return self.stabilise


def radius_px(depth_ratio: float) -> float:
    """Tap radius in output pixels for depth ``depth_ratio`` times coarser than colour."""
    return float(min(14.0, 3.0 + 2.5 * max(1.0, depth_ratio)))


def tap_offsets(radius: float, taps: int = TAPS) -> npt.NDArray[np.int32]:
    """Integer offsets of one axis of the tap grid, spanning -radius..radius."""
    x = np.linspace(-radius, radius, taps)
    # Rounded half away from zero, as the shader does (np.round rounds half to even).
    return (np.sign(x) * np.floor(np.abs(x) + 0.5)).astype(np.int32)


def bilinear_resize(img: F32, size: tuple[int, int]) -> F32:
    """Resize HxW to (height, width) with texel-centre bilinear sampling and clamped edges: what
    a LINEAR-filtered GL texture read at each output pixel centre returns."""
    h, w = img.shape
    oh, ow = size
    if (h, w) == (oh, ow):
        return img.astype(np.float32, copy=False)
    ys = np.clip((np.arange(oh) + 0.5) * h / oh - 0.5, 0, h - 1)
    xs = np.clip((np.arange(ow) + 0.5) * w / ow - 0.5, 0, w - 1)
    y0 = np.floor(ys).astype(np.int64)
    x0 = np.floor(xs).astype(np.int64)
    y1 = np.minimum(y0 + 1, h - 1)
    x1 = np.minimum(x0 + 1, w - 1)
    fy = (ys - y0)[:, None]
    fx = (xs - x0)[None, :]
    src = img.astype(np.float64)
    top = src[y0][:, x0] * (1 - fx) + src[y0][:, x1] * fx
    bot = src[y1][:, x0] * (1 - fx) + src[y1][:, x1] * fx
    return (top * (1 - fy) + bot * fy).astype(np.float32)


def guide_of(rgb: npt.NDArray[np.generic]) -> F32:
    """Display-encoded colour as float 0..1 (uint8 / uint16 / float input)."""
    if np.issubdtype(rgb.dtype, np.integer):
        return (rgb.astype(np.float32) / np.float32(np.iinfo(rgb.dtype).max))[..., :3]
    return np.asarray(rgb, dtype=np.float32)[..., :3]


def luma_of(guide: F32) -> F32:
    return np.asarray(guide[..., :3] @ LUMA_WEIGHTS, dtype=np.float32)


def band(value: npt.NDArray[np.floating]) -> npt.NDArray[np.floating]:
    """Half-width of the band of depth values that count as 'the same surface' as ``value``."""
    return BAND_REL * np.abs(value) + BAND_ABS


def refine_edges(
    rgb: npt.NDArray[np.generic],
    inv_depth: F32,
    *,
    affine: tuple[float, float] = (1.0, 0.0),
    strip_rows: int = 96,
) -> F32:
    """Edge-aware refinement of ``inv_depth`` guided by ``rgb``, at the colour's resolution.

    Args:
        rgb: HxWx3 colour, display-encoded (uint8, uint16 or float 0..1).
        inv_depth: hxw inverse depth (or affine disparity), any resolution.
        affine: (a, b) applied to the depth first (the stabiliser's drift correction).
        strip_rows: rows processed at once (bounds memory: taps x strip x width floats).

    Returns:
        HxW float32.
    """
    guide = guide_of(rgb)
    h_out, w_out = guide.shape[:2]
    dh, dw = inv_depth.shape
    a, b = affine
    depth = bilinear_resize(inv_depth, (h_out, w_out)) * np.float32(a) + np.float32(b)
    ratio = max(w_out / dw, h_out / dh)
    offs = tap_offsets(radius_px(ratio))
    sigma_s = radius_px(ratio) / 2.0
    pad = int(np.abs(offs).max())
    dpad = np.pad(depth, pad, mode="edge")
    gpad = np.pad(guide, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
    out = np.empty((h_out, w_out), np.float32)
    for y0 in range(0, h_out, strip_rows):
        y1 = min(h_out, y0 + strip_rows)
        out[y0:y1] = _refine_strip(dpad, gpad, offs, sigma_s, pad, y0, y1, w_out)
    return out


def _refine_strip(
    dpad: F32, gpad: F32, offs: npt.NDArray[np.int32], sigma_s: float, pad: int,
    y0: int, y1: int, width: int,
) -> F32:
    rows = slice(pad + y0, pad + y1)
    cols = slice(pad, pad + width)
    centre = gpad[rows, cols]
    values, weights = [], []
    for dy in offs:
        for dx in offs:
            r = slice(pad + y0 + dy, pad + y1 + dy)
            c = slice(pad + dx, pad + width + dx)
            diff = gpad[r, c] - centre
            dist2 = np.einsum("...c,...c->...", diff, diff)
            ws = np.exp(-(float(dx) ** 2 + float(dy) ** 2) / (2.0 * sigma_s**2))
            weights.append(ws * np.exp(-dist2 / (2.0 * SIGMA_COLOR**2)))
            values.append(dpad[r, c])
    v = np.stack(values).astype(np.float64)
    wt = np.stack(weights).astype(np.float64)
    total = wt.sum(axis=0)
    order = np.argsort(v, axis=0, kind="stable")
    vs = np.take_along_axis(v, order, axis=0)
    cum = np.cumsum(np.take_along_axis(wt, order, axis=0), axis=0)

    def quantile(p: float) -> npt.NDArray[np.float64]:
        k = np.argmax(cum >= p * total[None], axis=0)
        return np.take_along_axis(vs, k[None], axis=0)[0]

    q25, med, q75 = quantile(0.25), quantile(0.5), quantile(0.75)
    near_med = (np.abs(v - med[None]) <= band(med)[None]).astype(np.float64)
    support = (wt * near_med).sum(axis=0) / total
    straddles = (q75 - q25 > 2.0 * band(med)) & (support < SUPPORT_MIN)
    snapped = np.where(med - q25 < q75 - med, q25, q75)
    centre_value = np.where(straddles, snapped, med)
    inside = np.abs(v - centre_value[None]) <= band(centre_value)[None]
    num = (wt * v * inside).sum(axis=0)
    den = (wt * inside).sum(axis=0)
    return (num / den).astype(np.float32)


def fit_grid(shape: tuple[int, int], grid: tuple[int, int] = FIT_GRID) -> tuple[
        npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Row and column indices of the coarse fit grid in an array of ``shape`` (cell centres)."""
    h, w = shape
    gx, gy = min(grid[0], w), min(grid[1], h)
    ys = ((np.arange(gy) + 0.5) * h / gy).astype(np.int64)
    xs = ((np.arange(gx) + 0.5) * w / gx).astype(np.int64)
    return ys, xs


def robust_affine(
    src: npt.NDArray[np.float64], dst: npt.NDArray[np.float64], iterations: int = 8
) -> tuple[float, float]:
    """(a, b) minimising a Huber loss of ``a * src + b - dst`` (IRLS). (1, 0) if degenerate."""
    if src.size < 8 or float(np.ptp(src)) <= 1e-9:
        return 1.0, 0.0
    wts = np.ones_like(src)
    a, b = 1.0, 0.0
    for _ in range(iterations):
        design = np.stack([src * wts, wts], axis=1)
        sol, *_ = np.linalg.lstsq(design, dst * wts, rcond=None)
        a, b = float(sol[0]), float(sol[1])
        resid = a * src + b - dst
        scale = 1.4826 * float(np.median(np.abs(resid))) + 1e-12
        k = 1.345 * scale
        r = np.abs(resid)
        # Huber weights, as square roots because they multiply the rows of the design.
        wts = np.sqrt(np.where(r <= k, 1.0, k / np.maximum(r, 1e-30)))
    if not (np.isfinite(a) and np.isfinite(b)) or not (0.25 <= a <= 4.0):
        return 1.0, 0.0
    return a, b


class TemporalStabiliser:
    """Per-frame state of the stabiliser: the previous frame's coarse luma and stabilised depth.

    The GPU path (``gpu/depthprep.py``) uses :meth:`drift` for the affine fit (a reduction over a
    few thousand samples, done here) and applies the per-pixel temporal blend in its shader;
    :func:`temporal_blend` is that blend's reference.
    """

    def __init__(self) -> None:
        self._luma: npt.NDArray[np.float64] | None = None
        self._depth: npt.NDArray[np.float64] | None = None

    def reset(self) -> None:
        """Forget the previous frame (seek, new clip, size change)."""
        self._luma = self._depth = None

    @property
    def primed(self) -> bool:
        return self._depth is not None

    def drift(self, luma_grid: npt.NDArray[np.floating], depth_grid: npt.NDArray[np.floating]
              ) -> tuple[float, float]:
        """The affine map (a, b) taking this frame's raw depth onto the stabilised previous one.

        Args:
            luma_grid: display luma (0..1) at the fit grid (``fit_grid`` of the colour).
            depth_grid: raw depth at the same grid positions (``fit_grid`` of the depth).
        """
        luma = np.asarray(luma_grid, np.float64)
        depth = np.asarray(depth_grid, np.float64)
        if self._depth is None or self._luma is None or self._depth.shape != depth.shape:
            a, b = 1.0, 0.0
        else:
            still = np.abs(luma - self._luma) < LUMA_STILL
            if still.sum() < 64:
                still = np.ones_like(still)
            a, b = robust_affine(depth[still], self._depth[still])
        self._luma = luma
        self._depth = a * depth + b
        return a, b


def temporal_blend(
    current: F32, luma: F32, previous: F32 | None, previous_luma: F32 | None
) -> F32:
    """Blend the refined depth with the previous output where colour and depth both stayed."""
    if previous is None or previous_luma is None or previous.shape != current.shape:
        return current
    dl = np.abs(luma - previous_luma)
    dd = np.abs(current - previous)
    tol = DEPTH_STILL_REL * np.abs(previous) + BAND_ABS
    k = (1.0 - _smoothstep(0.5 * LUMA_STILL, LUMA_STILL, dl)) * (
        1.0 - _smoothstep(0.5 * tol, tol, dd))
    keep = TEMPORAL_KEEP * k
    return (current + keep * (previous - current)).astype(np.float32)


def _smoothstep(e0: npt.ArrayLike, e1: npt.ArrayLike, x: npt.ArrayLike) -> F32:
    t = np.clip((np.asarray(x) - np.asarray(e0)) / (np.asarray(e1) - np.asarray(e0)), 0.0, 1.0)
    return (t * t * (3.0 - 2.0 * t)).astype(np.float32)


class SequenceConditioner:
    """Conditions consecutive (rgb, depth) frames of one shot in numpy: the offline API.

    Args:
        refine: run the edge refinement (output at the colour's resolution).
        stabilise: remove affine drift and blend still pixels over time.
    """

    def __init__(self, *, refine: bool = True, stabilise: bool = True) -> None:
        self.refine = refine
        self.stabilise = stabilise
        self._stabiliser = TemporalStabiliser()
        self._prev: F32 | None = None
        self._prev_luma: F32 | None = None

    def reset(self) -> None:
        self._stabiliser.reset()
        self._prev = self._prev_luma = None

    def __call__(self, rgb: npt.NDArray[np.generic], depth: F32) -> F32:
        guide = guide_of(rgb)
        h, w = guide.shape[:2]
        luma = luma_of(guide)
        affine = (1.0, 0.0)
        if self.stabilise:
            ly, lx = fit_grid((h, w))
            dy, dx = fit_grid(depth.shape)
            affine = self._stabiliser.drift(luma[np.ix_(ly, lx)], depth[np.ix_(dy, dx)])
        if self.refine:
            out = refine_edges(guide, depth, affine=affine)
        else:
            out = bilinear_resize(depth, (h, w)) * np.float32(affine[0]) + np.float32(affine[1])
        if self.stabilise:
            out = temporal_blend(out, luma, self._prev, self._prev_luma)
            self._prev, self._prev_luma = out, luma
        return out


def condition_sequence(
    frames: Iterable[tuple[npt.NDArray[np.generic], F32]],
    *,
    refine: bool = True,
    stabilise: bool = True,
) -> Iterator[F32]:
    """Condition a shot's frames in order: yields one HxW float32 depth per (rgb, depth) pair.

    ``depth`` is inverse depth or relative disparity (near = large), any resolution; the output
    has the colour's resolution and the first frame's scale. Use one call per shot (the state
    carries from frame to frame).
    """
    conditioner = SequenceConditioner(refine=refine, stabilise=stabilise)
    for rgb, depth in frames:
        yield conditioner(rgb, np.asarray(depth, np.float32))
