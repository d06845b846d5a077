"""Depth conditioning, numpy reference: edge refinement guided by colour, temporal stabilisation.

Pure numpy (never imports moderngl). The GPU passes in ``gpu/depthprep.py`` and
``shaders/depth_refine.frag`` implement the same arithmetic and are tested against these
functions; offline tools (a depth model run over a clip) can call :func:`condition_sequence`
directly on numpy frames.

All depth here is inverse depth (1/m) or any affine function of it (relative disparity from a
depth model): refinement and stabilisation work in that space because the CoC is linear in it.

Edge refinement (:func:`refine_edges`), per output pixel, over a square grid of taps spanning
``radius`` pixels (wider when depth has a lower resolution than colour), each weighted by
distance and by colour similarity to the pixel:

1. a window whose depth varies by more than ``EDGE_REL`` of its nearest value may hold an edge.
   It does when the mean colours of its near and far ends (``CLASS_SPLIT`` of the range from
   each end) differ by more than texture explains (a colour edge), or when one jump between
   neighbouring depths spans most of its range (a sharp edge). Across a colour edge the side
   whose taps look like the pixel takes it (the near side on a tie); across a sharp edge without
   colour evidence the pixel stays on its own side. The pixel gets the weighted median of that
   side's taps (those within ``SIDE_SPLIT`` of the range from its end): a soft ramp becomes a
   step at the colour edge, so no in-between depth lands in focus.
2. any other window whose taps lie on one plane (weighted RMS residual below ``PLANAR_REL``)
   takes the plane's value at the pixel: sensor noise and 8-bit steps go, slants stay exact
   (inverse depth of a planar surface is linear in image coordinates).
3. anything else (a curved surface, a soft ramp the colour says nothing about) is left as it is.

Taps outside the frame do not count.

Temporal stabilisation (:class:`TemporalStabiliser`), per frame of a depth video:

1. a robust affine fit (:func:`fit_affine`: trimmed reduced major axis, which neither lets what
   moved sway it nor flattens the depth over a long noisy clip) of this frame's raw depth
   against the previous stabilised frame over a coarse grid of pixels whose colour did not
   change; the frame is
   mapped through it, so a per-frame scale/offset drift of relative depth disappears;
2. after refinement, a temporal blend with the previous output where neither colour nor depth
   changed much (noise), none where either did (a subject moving: followed at once).

The reference scale is the first frame after a reset (start, seek, size change).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from rackfocus_live.arrays import is_integer_array

F32 = npt.NDArray[np.float32]

#: Relative half-width of the band around the median that is averaged (inverse depth).
BAND_REL = 0.03
#: Absolute floor of that band (1/m): keeps far depth (w near 0) from a zero-width band.
BAND_ABS = 1e-4
#: Share of a window's depth range, from either end, that counts as that end's side.
CLASS_SPLIT = 0.3
#: Ridge (px^2) added to the plane fit's coordinate variances.
PLANE_RIDGE = 0.05
#: A window is on a colour edge when the mean colours of its near and far ends are this many
#: standard errors apart (texture makes the means of a uniform surface differ a little) ...
EDGE_COLOUR_T = 5.0
#: ... and at least this far apart (RGB 0..1).
EDGE_COLOUR_MIN = 0.03
#: Weighted RMS residual (relative to the depth) below which a window's taps lie on one plane.
PLANAR_REL = 0.02
#: Share of the range, from its end, whose taps make up one side's surface across an edge.
SIDE_SPLIT = 0.05
#: Relative depth range (of its nearest) above which a window may hold a depth edge.
EDGE_REL = 0.3
#: Share of a window's depth range that one jump between neighbouring depths must span for the
#: window to hold a sharp edge.
EDGE_GAP = 0.5
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
    if is_integer_array(rgb):
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
    sigma_s = radius_px(ratio)
    pad = int(np.abs(offs).max())
    dpad = np.pad(depth, pad, mode="edge")
    gpad = np.pad(guide, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
    # Taps outside the frame do not count (clamped copies would over-weigh the border pixels).
    inside = np.pad(np.ones((h_out, w_out), np.float64), pad)
    out = np.empty((h_out, w_out), np.float32)
    for y0 in range(0, h_out, strip_rows):
        y1 = min(h_out, y0 + strip_rows)
        out[y0:y1] = _refine_strip(dpad, gpad, inside, offs, sigma_s, pad, y0, y1, w_out)
    return out


def _refine_strip(
    dpad: F32, gpad: F32, inside: npt.NDArray[np.float64], offs: npt.NDArray[np.int32],
    sigma_s: float, pad: int, y0: int, y1: int, width: int,
) -> F32:
    rows = slice(pad + y0, pad + y1)
    cols = slice(pad, pad + width)
    centre = gpad[rows, cols]
    values, weights, spatials, colours = [], [], [], []
    for dy in offs:
        for dx in offs:
            r = slice(pad + y0 + dy, pad + y1 + dy)
            c = slice(pad + dx, pad + width + dx)
            diff = (gpad[r, c] - centre).astype(np.float64)
            dist2 = np.einsum("...c,...c->...", diff, diff)
            ws = np.exp(-(float(dx) ** 2 + float(dy) ** 2) / (2.0 * sigma_s**2))
            weights.append(ws * np.exp(-dist2 / (2.0 * SIGMA_COLOR**2)) * inside[r, c])
            spatials.append(ws * inside[r, c])
            colours.append(gpad[r, c])
            values.append(dpad[r, c])
    v = np.stack(values).astype(np.float64)
    wt = np.stack(weights).astype(np.float64)
    ws = np.stack(spatials).astype(np.float64)
    tap_colours = np.stack(colours).astype(np.float64)
    present = np.stack([inside[pad + y0 + dy: pad + y1 + dy, pad + dx: pad + width + dx]
                        for dy in offs for dx in offs]) > 0
    # Absent taps take the centre's value so min, max and the class counts ignore them.
    v = np.where(present, v, v[len(v) // 2][None])
    lo, hi = v.min(axis=0), v.max(axis=0)
    centre = v[len(v) // 2]
    split = CLASS_SPLIT * (hi - lo)
    not_centre = np.ones(len(v), bool)
    not_centre[len(v) // 2] = False
    # Every tap but the centre (its own colour would always match) that is in the frame.
    others = present & not_centre[:, None, None]
    is_lo = (v <= (lo + split)[None]) & others
    is_hi = (v >= (hi - split)[None]) & others

    def colour_stats(members: npt.NDArray[np.bool_]) -> tuple[
            npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        # Tap count, mean colour and summed squared deviation from it of a class.
        n = np.maximum(members.sum(axis=0), 1).astype(np.float64)
        mean = np.einsum("khw,khwc->hwc", members, tap_colours) / n[..., None]
        sq = np.einsum("khw,khw->hw", members, (tap_colours**2).sum(axis=-1))
        return n, mean, np.maximum(sq - n * (mean**2).sum(axis=-1), 0.0)

    n_lo, col_lo, dev_lo = colour_stats(is_lo)
    n_hi, col_hi, dev_hi = colour_stats(is_hi)
    # Standard error of the difference of the two means, from the pooled texture variance.
    pooled = (dev_lo + dev_hi) / np.maximum(n_lo + n_hi - 2.0, 1.0)
    se2 = pooled * (1.0 / n_lo + 1.0 / n_hi)
    # A depth step worth snapping: the window's depth varies by a good part of its nearest
    # (slanted floors and walls vary less over a window).
    varied = (hi - lo > EDGE_REL * hi + BAND_ABS) & (is_lo.sum(axis=0) > 0) & (
        is_hi.sum(axis=0) > 0)
    # The two ends of the window's depth differ in colour, by more than their texture explains:
    # a depth edge on a colour edge (a textured slope is not one).
    apart = np.linalg.norm(col_lo - col_hi, axis=-1)
    colour_edge = varied & (apart > EDGE_COLOUR_MIN) & (
        apart * apart > EDGE_COLOUR_T**2 * (se2 + 1e-12))
    # A jump across most of the range between two neighbouring depths: a sharp depth edge (with
    # or without a colour edge), not a slope however steep.
    gap = np.diff(np.sort(v, axis=0), axis=0).max(axis=0)
    sharp = varied & (gap > EDGE_GAP * (hi - lo))
    # The side the centre's colour matches: the higher mean per-tap colour similarity.
    sim_lo = (wt * is_lo).sum(axis=0) / np.maximum((ws * is_lo).sum(axis=0), 1e-30)
    sim_hi = (wt * is_hi).sum(axis=0) / np.maximum((ws * is_hi).sum(axis=0), 1e-30)
    matched = np.where(sim_hi >= sim_lo, hi, lo)           # near side on a tie
    own = np.where(hi - centre <= centre - lo, hi, lo)     # the side the centre's depth is on
    use_side = colour_edge | sharp
    near_side = np.where(colour_edge, matched, own) == hi
    dx = np.tile(offs, len(offs)).astype(np.float64)[:, None, None]
    dy = np.repeat(offs, len(offs)).astype(np.float64)[:, None, None]
    # The chosen side's depth: the weighted median of its taps (those within SIDE_SPLIT of the
    # range from its end): a plateau's value, or about the pixel's own on a slanted side.
    side_span = SIDE_SPLIT * (hi - lo)
    side_lo = np.where(near_side, hi - side_span, lo)
    side_hi = np.where(near_side, hi, lo + side_span)
    on_side = (v >= side_lo[None]) & (v <= side_hi[None])
    side_value = weighted_median(v, wt * on_side + 1e-30 * on_side, on_side)
    # A planar window (a slanted or flat surface, noise on it): the plane through every tap at
    # the pixel (noise and 8-bit steps go, slants stay exact).
    a, bx, by = plane_fit(v, wt, dx, dy, centre)
    resid = v - (a[None] + bx[None] * dx + by[None] * dy)
    rms = np.sqrt((wt * resid * resid).sum(axis=0) / wt.sum(axis=0))
    planar = rms <= PLANAR_REL * np.abs(a) + BAND_ABS
    plane = np.clip(a, lo, hi)
    # Anything else (a soft ramp the colour says nothing about) is left as it is.
    out = np.where(use_side, side_value, np.where(planar, plane, centre))
    return out.astype(np.float32)


def weighted_median(
    v: npt.NDArray[np.float64], w: npt.NDArray[np.float64], members: npt.NDArray[np.bool_]
) -> npt.NDArray[np.float64]:
    """Per pixel, the smallest member value whose cumulative weight (ties in tap order) reaches
    half the members' total."""
    order = np.argsort(np.where(members, v, np.inf), axis=0, kind="stable")
    vs = np.take_along_axis(v, order, axis=0)
    cum = np.cumsum(np.take_along_axis(w * members, order, axis=0), axis=0)
    k = np.argmax(cum >= 0.5 * cum[-1][None], axis=0)
    return np.take_along_axis(vs, k[None], axis=0)[0]


def plane_fit(
    v: npt.NDArray[np.float64], w: npt.NDArray[np.float64], dx: npt.NDArray[np.float64],
    dy: npt.NDArray[np.float64], ref: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Weighted least-squares plane ``a + bx * dx + by * dy`` through the taps (value v at offset
    dx, dy): returns (a, bx, by), ``a`` being its value at the centre. Inverse depth of a planar
    surface is linear in image coordinates, so slanted floors and walls come back exact under any
    colour weights. ``ref`` (the centre tap) is subtracted for precision; a small ridge keeps
    one-row or one-column sets solvable."""
    total = w.sum(axis=0)
    vv = v - ref[None]
    mx = (w * dx).sum(axis=0) / total
    my = (w * dy).sum(axis=0) / total
    mv = (w * vv).sum(axis=0) / total
    cxx = (w * dx * dx).sum(axis=0) / total - mx * mx + PLANE_RIDGE
    cyy = (w * dy * dy).sum(axis=0) / total - my * my + PLANE_RIDGE
    cxy = (w * dx * dy).sum(axis=0) / total - mx * my
    cxv = (w * dx * vv).sum(axis=0) / total - mx * mv
    cyv = (w * dy * vv).sum(axis=0) / total - my * mv
    det = cxx * cyy - cxy * cxy
    bx = (cyy * cxv - cxy * cyv) / det
    by = (cxx * cyv - cxy * cxv) / det
    return ref + mv - bx * mx - by * my, bx, by


def fit_grid(shape: tuple[int, int], grid: tuple[int, int] = FIT_GRID) -> tuple[
        npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Row and column indices of the coarse fit grid in an array of ``shape`` (cell centres)."""
    h, w = shape
    gx, gy = min(grid[0], w), min(grid[1], h)
    ys = ((np.arange(gy) + 0.5) * h / gy).astype(np.int64)
    xs = ((np.arange(gx) + 0.5) * w / gx).astype(np.int64)
    return ys, xs


#: Fraction of samples with the largest residual dropped at each refit of the affine drift
#: (what moved: where the scene itself changed, not the model's scale).
AFFINE_TRIM = 0.2
#: Trimmed refits after the median/spread start.
AFFINE_REFITS = 3


def fit_affine(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> tuple[float, float]:
    """(scale, shift) with scale > 0 that maps ``x`` onto ``y``, robust to outliers.

    Not ordinary least squares: with noise in both frames its slope shrinks towards 0
    (regression dilution), and chained frame to frame the depth would flatten out over a clip
    (60 noisy frames took a least-squares fit to 30 % of the depth range). The scale is the
    ratio of spreads of the samples that agree (reduced major axis), symmetric in ``x`` and
    ``y``; it starts from medians and median deviations (not swayed by what moved), then refits
    on the samples that agree with the current fit, a few times over. Where the frames are
    unrelated (a cut) that is moment matching, which carries the clip's range over the cut.
    """
    finite = np.isfinite(x) & np.isfinite(y)
    x, y = x[finite], y[finite]
    if x.size < 2:
        return 1.0, 0.0
    fit = _match_spread(x, y)
    for _ in range(AFFINE_REFITS):
        residual = np.abs(x * fit[0] + fit[1] - y)
        keep = residual <= np.quantile(residual, 1.0 - AFFINE_TRIM)
        refit = _match_moments(x[keep], y[keep]) if keep.sum() >= 2 else None
        if refit is None:
            break
        fit = refit
    return fit


def _match_moments(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]
) -> tuple[float, float] | None:
    sx, sy = float(x.std()), float(y.std())
    if not (sx > 1e-12 and sy > 1e-12):
        return None
    scale = sy / sx
    return scale, float(y.mean()) - scale * float(x.mean())


def _match_spread(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> tuple[float, float]:
    # Median and median absolute deviation: a start that cannot flip the depth order.
    mx, my = float(np.median(x)), float(np.median(y))
    sx = float(np.median(np.abs(x - mx)))
    sy = float(np.median(np.abs(y - my)))
    scale = sy / sx if sx > 1e-12 and sy > 1e-12 else 1.0
    return scale, my - scale * mx


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
            a, b = fit_affine(depth[still], self._depth[still])
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
