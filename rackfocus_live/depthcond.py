"""Depth conditioning, numpy reference: edge refinement guided by colour, temporal stabilisation.

Pure numpy (never imports moderngl). The GPU passes in ``gpu/depthprep.py`` and
``shaders/depth_refine.frag`` implement the same arithmetic and are tested against these
functions; offline tools (a depth model run over a clip) can call :func:`condition_sequence`
directly on numpy frames.

All depth here is inverse depth (1/m) or any affine function of it (relative disparity from a
depth model): refinement and stabilisation work in that space because the CoC is linear in it.

Edge refinement (:func:`refine_edges`), per output pixel, over a ``TAPS`` x ``TAPS`` grid of
taps spanning ``radius_px`` (the reach of a depth texel plus some blur and misregistration:
wider when depth has a lower resolution than colour, or less detail than its resolution, as
``depthdetail`` reads from its edges: the ``detail`` argument), each weighted by distance:

1. a window whose depth varies by more than ``EDGE_REL`` of its nearest value holds a depth
   edge. Its taps split into a near and a far end (``CLASS_SPLIT`` of the range from each
   end); how much each end looks like the pixel is the mean colour weight of its taps (for
   depth coarser than the colour, the near end's taps weighted by how unlike the far end they
   are: there its depth spreads over a halo of background pixels around the near structure,
   and the halo's colour is the background's; :func:`_near_likeness`). Where
   the far end matches more than 1 / ``NEAR_BIAS`` times better the pixel takes the far side:
   the colour-weighted mean of the far end's taps, tilted towards the farthest (each tap's
   weight falls linearly to 0 at the split), so a soft ramp's foot leaves no in-between depth.
   Otherwise the near side (:func:`_near_value`):

   a. a tail: where the window's top (its taps within ``TAIL_PLATEAU`` of the range below the
      nearest value) lies on the grid's outer ring and is coloured like the far end (mean
      squared distance from the far end's mean colour below ``TAIL_UNLIKE`` x
      ``UNLIKE_FULL``^2), the nearest value is the blurred tail of a near thing beyond the
      window, not a surface here: the pixel keeps its own depth;
   b. else the window's nearest, raised towards the depth of a thin near structure that the
      degradation washed out. Area averaging and blur keep a structure's depth mass over the
      background, sum(w (d - lo)) over the window (w the spatial weights), so its depth is
      lo + mass / cover, with cover = sum(w c) and c per tap the largest of its colour weight
      against the pixel, its unlikeness to the far end (squared colour distance from the far
      end's mean over ``UNLIKE_FULL``^2, at most 1) and 1 within ``COVER_PLATEAU`` of the top
      (a near plateau in several colours). Never below the nearest;
   c. raised only in part: by 1 - |sum(w offset)| / sum(w |offset|) over the far end's taps (1
      where the far end lies all round the pixel: a thin thing; 0 where it lies to one side: an
      edge, whose near side reaches its depth in the window anyway), times
      :func:`restoration_weight` (0 for depth at the colour's resolution: nothing was averaged
      over a texel wider than a pixel; 1 from twice coarser).
2. any other window whose taps lie on one plane (spatially weighted RMS residual below
   ``PLANAR_REL``) takes the plane's value at the pixel: sensor noise and 8-bit steps go,
   slants stay exact (inverse depth of a planar surface is linear in image coordinates).
3. anything else (a curved surface) is left as it is;
4. except a small light on a bump (below): restored as in 1b-1c.

Small lights: a pixel clipped white in every channel (``LIGHT_LEVEL``) whose own pixels (taps
matching its colour) cover less than ``LIGHT_MAX_SHARE`` of the window, and whose depth lies
above the window's far end (a bump of its own), is a compact emitter (an LED, a lamp); a
clipped sky or white wall filling much of its window is a surface, and a lit window on a facade
beside a lamp post has no bump of its own: both keep the rules above. A small light always takes
the near side of an edge window (its only match is itself, and its washed-out bump falls
anywhere in the window's range, below a nearer thing's blurred edge too); its cover is its
matching taps and whatever is unlike the background, not the window's top (its blurred bump
spreads over pixels of the background's colour, which are not the light); and in a window that
is no edge but not planar either, with a range above ``LIGHT_BUMP_REL`` of its nearest (an LED
on a monitor before a wall, washed out to less than the edge test's share), it is restored the
same way. This is
where depth errors show most: a light's bokeh disc grows and shifts with its depth.

Why near-biased: measured on the eval scenes (bench/realdepth.py, issue 12), all of what soft,
low-resolution or misregistered depth loses is within 2 px of depth edges, and nearly all of it
comes from near pixels given far depth (thin stems and wires, small lights, eroded
silhouettes: a near pixel rendered as background loses its blur or sharpness outright); far
pixels given near depth cost less (they sit under the near side's blur; around the desk
scene's washed-out LEDs the halo even helps). So a pixel is snapped to the near side unless
the colour says clearly that it belongs to the far one; a misregistration of a few pixels is
absorbed the same way. Why 1a-1c: after the snapping, the pixels of model-like depth still
more than 10 % too far carried nearly all of the remaining loss (given their true depth, the
gap to perfect depth fell from 2.4 to 0.4 dB; the street scene's wires alone, to 1.0 dB),
and on the wires the 1/3-resolution depth reaches half their disparity all over the window:
snapping can only pick depths present in the window. Once the wires are restored, the
background a window's reach beside them, snapped to their blurred tail, is the next loss; rule
1a gives it back its own depth. Colour is only fetched where a window holds an edge, which
keeps the pass cheap (see docs/benchmarks.md).

Known limits: the restoration reads the structure's extent from colour, so a thin thing in
colours close to its background is under-restored (its cover takes in background taps), and
its estimate is approximate either way (the tests' bright bar comes out up to 10 % nearer than
it is, the edge of a moderate-contrast textured subject up to 4 %, a small light up to 20 %
too far); the mass is summed over the window only, so a blur wider than the window (a
quarter-resolution model) loses part of it and the restoration falls short; a thin thing
beside a larger near one is not restored, the window's nearest being the larger one's blurred
edge (small lights excepted);
soft depth at the colour's resolution is not restored (nothing tells that it was averaged).
A soft ramp wider than the window inside one colour region keeps in-between depths on its far
side (the window's farthest is not the plateau): ramps up to about twice the tap radius leave
no in-focus seam.

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

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from rackfocus_live.arrays import is_integer_array
from rackfocus_live.depthdetail import ShotDetail
from rackfocus_live.resample import bilinear_resize

F32 = npt.NDArray[np.float32]

#: Absolute floor of the depth tolerances (1/m): keeps far depth (w near 0) from a zero one.
BAND_ABS = 1e-4
#: Share of a window's depth range, from either end, that counts as that end's side.
CLASS_SPLIT = 0.3
#: Ridge (px^2) added to the plane fit's coordinate variances.
PLANE_RIDGE = 0.05
#: Weighted RMS residual (relative to the depth) below which a window's taps lie on one plane.
PLANAR_REL = 0.02
#: Relative depth range (of its nearest) above which a window holds a depth edge.
EDGE_REL = 0.3
#: Across an edge a pixel takes the near side unless the far side's taps look more like it
#: than 1 / NEAR_BIAS times the near side's do.
NEAR_BIAS = 0.5
#: Colour distance (RGB, display-encoded 0..1) at which a tap's weight falls to exp(-1/2).
SIGMA_COLOR = 0.08
#: Colour distance (RGB, display-encoded 0..1) from the far end's mean colour at which a tap
#: counts as wholly unlike the background; its unlikeness grows with the squared distance up to
#: there (texture within the background stays well below it).
UNLIKE_FULL = 0.64
#: Where depth is coarser than the colour, the near end's likeness to the pixel is read from
#: its taps unlike the background (its structure, not the blurred halo around it in the
#: background's colour); its taps as they are count this much beside them, so that a near end
#: with nothing unlike the background (a near thing in the background's colour) keeps the plain
#: mean, with no switch between the two.
STRUCTURE_FLOOR = 0.01
#: Share of a window's depth range below its nearest value that counts as the window's top in
#: the tail test ...
TAIL_PLATEAU = 0.15
#: ... and the mean squared colour distance of its taps from the far end's mean colour, in
#: UNLIKE_FULL^2, below which they are background-coloured.
TAIL_UNLIKE = 0.3
#: Share of the range below the nearest value within which a tap counts as covered by the near
#: structure whatever its colour (a near plateau in several colours).
COVER_PLATEAU = 0.05
#: Display-encoded level (0..1) that every channel of a pixel's colour reaches where the pixel
#: is a light: clipped white, a compact emitter whose extent is exactly its clipped region.
LIGHT_LEVEL = 0.98
#: Largest share of a window (spatial weights) that a light's own pixels may cover: a small
#: light (an LED, a lamp) is a compact thing within a background; a clipped sky or white wall
#: filling much of the window is a surface, and keeps the ordinary rules (a sky beside a
#: building must not take the building's depth).
LIGHT_MAX_SHARE = 0.35
#: Relative depth range (of its nearest) above which a window around a light that is not an
#: edge holds the light's washed-out bump (noise and a curved surface's bulge stay below it).
LIGHT_BUMP_REL = 0.05
#: Taps per side of the square grid.
TAPS = 5
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
    """Tap radius in output pixels for depth ``depth_ratio`` times coarser than colour: the
    reach of a depth texel's footprint plus a little blur and misregistration."""
    return float(min(14.0, 2.0 + 1.5 * max(1.0, depth_ratio)))


def restoration_weight(radius: float) -> float:
    """How much of a thin structure's washed-out depth is restored, from the tap radius (which
    says how much coarser the depth is than the colour: ``radius_px``): none for depth at the
    colour's resolution (nothing is averaged over a texel wider than a pixel), all from twice
    coarser."""
    ratio = (radius - 2.0) / 1.5
    return float(min(1.0, max(0.0, ratio - 1.0)))


def tap_offsets(radius: float, taps: int = TAPS) -> npt.NDArray[np.int32]:
    """Integer offsets of one axis of the tap grid, spanning -radius..radius."""
    x = np.linspace(-radius, radius, taps)
    # Rounded half away from zero, as the shader does (np.round rounds half to even).
    return (np.sign(x) * np.floor(np.abs(x) + 0.5)).astype(np.int32)


def guide_of(rgb: npt.NDArray[np.generic]) -> F32:
    """Display-encoded colour as float 0..1 (uint8 / uint16 / float input)."""
    if is_integer_array(rgb):
        return (rgb.astype(np.float32) / np.float32(np.iinfo(rgb.dtype).max))[..., :3]
    return np.asarray(rgb, dtype=np.float32)[..., :3]


def luma_of(guide: F32) -> F32:
    return np.asarray(guide[..., :3] @ LUMA_WEIGHTS, dtype=np.float32)


def refine_edges(
    rgb: npt.NDArray[np.generic],
    inv_depth: F32,
    *,
    affine: tuple[float, float] = (1.0, 0.0),
    detail: float = 1.0,
    strip_rows: int = 96,
) -> F32:
    """Edge-aware refinement of ``inv_depth`` guided by ``rgb``, at the colour's resolution.

    Args:
        rgb: HxWx3 colour, display-encoded (uint8, uint16 or float 0..1).
        inv_depth: hxw inverse depth (or affine disparity), any resolution.
        affine: (a, b) applied to the depth first (the stabiliser's drift correction).
        detail: the size (depth pixels) of the texels whose detail the depth really carries
            (``depthdetail.detail_scale``; 1: as sharp as its grid). The taps reach as far as
            for depth that much coarser.
        strip_rows: rows processed at once (bounds memory: taps x strip x width floats).

    Returns:
        HxW float32.
    """
    guide = guide_of(rgb)
    h_out, w_out = guide.shape[:2]
    dh, dw = inv_depth.shape
    a, b = affine
    depth = bilinear_resize(inv_depth, (h_out, w_out)) * np.float32(a) + np.float32(b)
    radius = radius_px(max(w_out / dw, h_out / dh) * detail)
    offs = tap_offsets(radius)
    pad = int(np.abs(offs).max())
    dpad = np.pad(depth, pad, mode="edge")
    gpad = np.pad(guide, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
    # Taps outside the frame do not count (clamped copies would over-weigh the border pixels).
    inside = np.pad(np.ones((h_out, w_out), np.float64), pad)
    out = np.empty((h_out, w_out), np.float32)
    for y0 in range(0, h_out, strip_rows):
        y1 = min(h_out, y0 + strip_rows)
        out[y0:y1] = _refine_strip(dpad, gpad, inside, offs, radius, pad, y0, y1, w_out)
    return out


def _refine_strip(
    dpad: F32, gpad: F32, inside: npt.NDArray[np.float64], offs: npt.NDArray[np.int32],
    sigma_s: float, pad: int, y0: int, y1: int, width: int,
) -> F32:
    rows = slice(pad + y0, pad + y1)
    cols = slice(pad, pad + width)
    centre_colour = gpad[rows, cols].astype(np.float64)

    def tap_colour(dy: int, dx: int) -> npt.NDArray[np.float64]:
        return gpad[pad + y0 + dy: pad + y1 + dy, pad + dx: pad + width + dx].astype(np.float64)

    values, matches, spatials, presents = [], [], [], []
    for dy in offs:
        for dx in offs:
            r = slice(pad + y0 + dy, pad + y1 + dy)
            c = slice(pad + dx, pad + width + dx)
            diff = tap_colour(dy, dx) - centre_colour
            dist2 = np.einsum("...c,...c->...", diff, diff)
            ws = np.exp(-(float(dx) ** 2 + float(dy) ** 2) / (2.0 * sigma_s**2)) * inside[r, c]
            spatials.append(ws)
            matches.append(np.exp(-dist2 / (2.0 * SIGMA_COLOR**2)))
            values.append(dpad[r, c])
            presents.append(inside[r, c] > 0)
    c_index = len(values) // 2
    present = np.stack(presents)
    v = np.stack(values).astype(np.float64)
    # Absent taps take the centre's value so that min and max ignore them.
    centre = v[c_index]
    v = np.where(present, v, centre[None])
    ws = np.stack(spatials)
    match = np.stack(matches)  # colour weight of each tap against the pixel's colour
    wt = ws * match
    lo, hi = v.min(axis=0), v.max(axis=0)
    span = hi - lo
    split = CLASS_SPLIT * span
    not_centre = np.ones(len(v), bool)
    not_centre[c_index] = False
    # Every tap but the centre (its own colour would always match) that is in the frame.
    others = present & not_centre[:, None, None]
    is_far = (v <= (lo + split)[None]) & others
    is_near = (v >= (hi - split)[None]) & others
    # A window whose depth varies by a good part of its nearest holds a depth edge (slanted
    # floors and walls vary less over a window); both ends must have taps besides the centre.
    edge = (hi - lo > EDGE_REL * hi + BAND_ABS) & is_far.any(axis=0) & is_near.any(axis=0)
    # Each tap's squared colour distance from the far end's mean colour, and how unlike the
    # background that makes it.
    wf = ws * is_far
    far_dist2 = _far_dist2(wf, lambda k: tap_colour(int(offs[k // len(offs)]),
                                                   int(offs[k % len(offs)])))
    unlike = np.minimum(far_dist2 / UNLIKE_FULL**2, 1.0)
    # How much each end looks like the pixel: the mean colour weight of its taps; for depth
    # coarser than the colour, the near end's read from its structure (_near_likeness).
    weight = restoration_weight(sigma_s)
    sim_near = _near_likeness(ws * is_near, match, unlike, weight)
    sim_far = (wt * is_far).sum(axis=0) / np.maximum((ws * is_far).sum(axis=0), 1e-30)
    # Near unless the far end matches clearly better: a near pixel given far depth costs far
    # more than the reverse (see the module docstring).
    # A small light with a depth bump of its own (its depth above the window's far end) always:
    # its own pixels are its only match, and its washed-out bump falls anywhere in the window's
    # range (below a nearer thing's blurred edge too), so colour cannot place it. A light at
    # the far end's depth (a lit window on a facade beside a lamp post) is left to the rules.
    share = (ws * match * present).sum(axis=0) / np.maximum((ws * present).sum(axis=0), 1e-30)
    light = ((centre_colour.min(axis=-1) >= LIGHT_LEVEL) & (share < LIGHT_MAX_SHARE)
             & (centre > lo + split))
    near = (sim_near >= NEAR_BIAS * sim_far) | light
    # The far side's value: its taps' mean, weighted by colour (a slanted floor behind keeps
    # about its own depth at the pixel, not the window's farthest) and tilted towards the
    # window's farthest (weight falling to 0 at the split), so the foot of a soft ramp inside
    # the window does not leave in-between depths, an in-focus seam where the ramp crosses the
    # focus plane.
    tilt = np.clip(1.0 - (v - lo[None]) / np.maximum(split, 1e-30)[None], 0.0, 1.0)
    far_wv = wt * is_far * tilt
    far_w = far_wv.sum(axis=0)
    far_value = np.where(far_w > 1e-20, (far_wv * v).sum(axis=0) / np.maximum(far_w, 1e-30),
                         lo)
    dx = np.tile(offs, len(offs)).astype(np.float64)[:, None, None]
    dy = np.repeat(offs, len(offs)).astype(np.float64)[:, None, None]
    near_value = _near_value(v, ws, match, unlike, far_dist2, present, others, wf, lo, hi,
                             centre, light, dx, dy, sigma_s)
    snapped = np.where(near, near_value, far_value)
    # Elsewhere, a window whose taps lie on one plane takes the plane's value at the pixel
    # (noise and 8-bit steps go, slants stay exact); anything else is left as it is ...
    a, bx, by = plane_fit(v, ws, dx, dy, centre)
    resid = v - (a[None] + bx[None] * dx + by[None] * dy)
    rms = np.sqrt((ws * resid * resid).sum(axis=0) / ws.sum(axis=0))
    planar = rms <= PLANAR_REL * np.abs(a) + BAND_ABS
    smooth = np.where(planar, np.clip(a, lo, hi), centre)
    # ... but a light on top of a bump too shallow to be an edge is a small bright thing whose
    # depth the degradation washed out: restored like a thin structure (rule 4 of the module
    # docstring).
    if weight > 0.0:
        bump = (light & ~planar & is_far.any(axis=0)
                & is_near.any(axis=0) & (span > LIGHT_BUMP_REL * hi + BAND_ABS))
        cover = (ws * _light_cover(match, unlike) * present).sum(axis=0)
        k = weight * _far_all_round(wf, dx, dy)
        smooth = np.where(bump, hi + k * (_restored(v, ws, lo, hi, cover) - hi), smooth)
    return np.where(edge, snapped, smooth).astype(np.float32)


def _near_likeness(wn: npt.NDArray[np.float64], match: npt.NDArray[np.float64],
                   unlike: npt.NDArray[np.float64], weight: float) -> npt.NDArray[np.float64]:
    """How much a window's near end looks like the pixel (``wn``: its taps' spatial weights, 0
    elsewhere; ``match``: each tap's colour weight against the pixel; ``unlike``: its unlikeness
    to the far end). The mean colour weight of its taps, or, by ``weight``
    (:func:`restoration_weight`: depth coarser than the colour), the same weighted by how unlike
    the background each tap is: coarse depth spreads a near structure's depth over a halo of
    background pixels around it, so the near end's plain mean matches a background pixel
    beside a wire as well as the far end does, and the pixel would be snapped into the wire's
    halo. Full-resolution depth keeps the plain mean: there the near end's taps beside a
    silhouette are misregistration, and the far end's mean colour holds some of the near
    thing's pixels, which muddles unlikeness (sensor-like depth, bench/realdepth.py: 0.83 to
    0.93 dB below perfect when it was weighted so there)."""
    plain = (wn * match).sum(axis=0) / np.maximum(wn.sum(axis=0), 1e-30)
    if weight <= 0.0:
        return plain
    wu = wn * (unlike + STRUCTURE_FLOOR)
    structure = (wu * match).sum(axis=0) / np.maximum(wu.sum(axis=0), 1e-30)
    return plain + weight * (structure - plain)


def _far_dist2(wf: npt.NDArray[np.float64],
               colour_of: Callable[[int], npt.NDArray[np.float64]]) -> npt.NDArray[np.float64]:
    """Each tap's squared colour distance from the far end's mean colour (``wf``: the far
    end's spatial weights, 0 elsewhere)."""
    wf_sum = np.maximum(wf.sum(axis=0), 1e-30)
    far_colour = sum(wf[k][..., None] * colour_of(k) for k in range(len(wf))) / wf_sum[..., None]
    far_dist2 = np.empty_like(wf)
    for k in range(len(wf)):
        diff = colour_of(k) - far_colour
        far_dist2[k] = np.einsum("...c,...c->...", diff, diff)
    return far_dist2


def _light_cover(match: npt.NDArray[np.float64],
                 unlike: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """A small light's cover per tap: its own pixels, and whatever is unlike the background (a
    chrome highlight's bright car around it), but not the depth plateau: a light's washed-out
    bump spreads over pixels of the background's colour, which are not the light."""
    return np.maximum(match, unlike)


def _restored(v: npt.NDArray[np.float64], ws: npt.NDArray[np.float64],
              lo: npt.NDArray[np.float64], hi: npt.NDArray[np.float64],
              cover: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """A near structure's depth from the window's depth mass over the background (blur and area
    averaging keep it) divided by the structure's ``cover`` (its spatially weighted share of
    the taps); never below the window's nearest."""
    mass = (ws * (v - lo[None])).sum(axis=0)
    return np.maximum(lo + mass / np.maximum(cover, 1e-30), hi)


def _far_all_round(wf: npt.NDArray[np.float64], dx: npt.NDArray[np.float64],
                   dy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """1 - |sum(wf offset)| / sum(wf |offset|) over the far end's taps (``wf``: their spatial
    weights, 0 elsewhere): 1 where the far end lies all round the pixel (a thin thing on a
    background), 0 where it lies to one side (an edge: its centroid as far from the pixel as
    its taps are). At a straight edge it is 0.3-0.5, not 0 (the far taps also spread along the
    edge), so blurred silhouettes are raised a little on their near side. A measure that is 0
    at any straight edge (the mean over the RMS of the offsets along the mean offset) scored
    0.06-0.09 dB lower on the eval scenes' model-like depth (bench/realdepth.py): the near
    bias at silhouettes pays (see the module docstring)."""
    cx = (wf * dx).sum(axis=0)
    cy = (wf * dy).sum(axis=0)
    spread = np.maximum((wf * np.sqrt(dx * dx + dy * dy)).sum(axis=0), 1e-30)
    return np.clip(1.0 - np.sqrt(cx * cx + cy * cy) / spread, 0.0, 1.0)


def _near_value(
    v: npt.NDArray[np.float64], ws: npt.NDArray[np.float64], match: npt.NDArray[np.float64],
    unlike: npt.NDArray[np.float64], far_dist2: npt.NDArray[np.float64],
    present: npt.NDArray[np.bool_], others: npt.NDArray[np.bool_], wf: npt.NDArray[np.float64],
    lo: npt.NDArray[np.float64], hi: npt.NDArray[np.float64], centre: npt.NDArray[np.float64],
    light: npt.NDArray[np.bool_], dx: npt.NDArray[np.float64], dy: npt.NDArray[np.float64],
    sigma_s: float,
) -> npt.NDArray[np.float64]:
    """The depth of a pixel that takes the near side of its window (rules 1a-1c of the module
    docstring): its own where the window's top is the tail of a blurred bump, else the window's
    nearest, raised towards the near structure's true depth where that is thin (washed out).
    ``wf``: the far end's spatial weights (0 elsewhere)."""
    span = hi - lo
    # (far_dist2: each tap's squared colour distance from the far end's mean colour; unlike:
    # the same over UNLIKE_FULL^2, at most 1.)
    # 1a: the window's top lies on its outer ring and is coloured like the far end: the tail of
    # a near thing's blurred depth beyond the window, not a surface: the pixel keeps its own.
    top = (v >= (hi - TAIL_PLATEAU * span)[None]) & others
    top_count = top.sum(axis=0)
    i, j = np.arange(TAPS * TAPS) % TAPS, np.arange(TAPS * TAPS) // TAPS
    inner = ((i > 0) & (i < TAPS - 1) & (j > 0) & (j < TAPS - 1))[:, None, None]
    tail = ((top_count >= 1) & ~(top & inner).any(axis=0)
            & ((far_dist2 * top).sum(axis=0) < TAIL_UNLIKE * UNLIKE_FULL**2 * top_count))
    # 1b: the near structure's depth from the window's depth mass over the background (blur and
    # area averaging keep it) divided by the structure's cover: taps that match the pixel's
    # colour, look unlike the background, or sit at the window's top; for a small light, not
    # the top (_light_cover).
    cover = np.maximum(np.maximum(match, unlike), v >= (hi - COVER_PLATEAU * span)[None])
    cover = np.where(light[None], _light_cover(match, unlike), cover)
    restored = _restored(v, ws, lo, hi, (ws * cover * present).sum(axis=0))
    # 1c: restored in full only where the far end lies all round the pixel (a thin thing on a
    # background), fading out as it moves to one side (an edge), and only for depth coarser than
    # the colour (restoration_weight).
    raise_by = restoration_weight(sigma_s) * _far_all_round(wf, dx, dy)
    return np.where(tail, centre, hi + raise_by * (restored - hi))


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
        #: How fine the shot's depth really is: measured on its first frames, then kept.
        self.detail = ShotDetail()

    def reset(self) -> None:
        self.detail = ShotDetail()
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
            out = refine_edges(guide, depth, affine=affine,
                               detail=self.detail.update(depth, (h, w)))
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
