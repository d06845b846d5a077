"""How fine the detail of a depth map really is, read from the depth itself (pure numpy).

Depth often arrives with less detail than its grid: a video depth model's output up-sampled by
the tool that ran it (our own ``depthgen`` writes 518 px inference up-sampled to the clip), a
blurred Z pass, a depth camera's map re-projected and smoothed. Told only the array's size, the
conditioning treats such depth as sharp: its taps reach too little of a washed-out edge to find
both sides, and it restores nothing of thin near things (on the eval scenes, bench/realdepth.py,
before this measure: model-like depth at a third of the width 0.63 dB below perfect depth, the
same depth up-sampled to the colour's size 2.86 dB).

:func:`detail_ratio` measures the width of the depth's edges on the colour's grid (the depth
resampled bilinearly, as the conditioning reads it, so a small map and its up-sampled copy read
the same). At a depth edge (a step of much of the frame's depth range, concentrated within
``EDGE_SPAN`` px: not a slope) the step over its steepest one-pixel difference is its width in
pixels: 1 for a sharp Z pass, sqrt(2 pi) sigma for a Gaussian blur of sigma. Depth from texels
``f`` px wide with the blur of about one texel that depth models leave (the conditioning's tap
reach, ``depthcond.radius_px``, is set for that depth) has edges about ``WIDTH_PER_TEXEL`` x
``f`` wide: 2.5 f sqrt(1 + 1/12 + 1/6) = 2.8 f from the blur, the texel's box and the bilinear
resampling; 3.0-3.2 f measured on the eval scenes and a Middlebury photo at f = 3 and 4. So the
median width over ``WIDTH_PER_TEXEL`` is the width of the texels whose detail the depth
carries, never less than its grid's: model-like depth reads as its own resolution (its reach
unchanged), the same depth up-sampled reads the same, softer depth reads coarser.

The median is over edges sampled on ``SAMPLED_LINES`` rows and as many columns, so the cost is
a few milliseconds at 1080p (30 ms at 4K with many edges) and does not grow with the height.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from rackfocus_live.resample import bilinear_lines

#: Half the span (px) over which an edge's step is measured: edges wider than about twice this
#: read as slopes and are not counted (the tap radius is capped well below that anyway).
EDGE_SPAN = 16
#: An edge's step is at least this share of the frame's depth range (2nd to 98th percentile)...
EDGE_STEP = 0.15
#: ... lies within its span: over twice the span the depth changes by at most this much more
#: (a slanted floor changes by twice as much) ...
EDGE_LOCAL = 1.2
#: ... and goes one way: the step is at least this share of the depth's total variation over
#: the span (two edges of a thin thing cancel; noise adds variation and no step).
EDGE_MONOTONIC = 0.8
#: Edge width (step / steepest one-pixel difference) of depth whose texels are one pixel wide
#: with the usual blur of about one texel; see the module docstring.
WIDTH_PER_TEXEL = 3.0
#: Rows (and columns) sampled, evenly spread.
SAMPLED_LINES = 128
#: Fewer edges than this and the depth's detail is not judged (None).
MIN_EDGES = 24
#: The ratio is rounded to this step: one compiled conditioning program per value in use.
SCALE_STEP = 0.25


def _edge_widths(lines: npt.NDArray[np.float64], step_min: float) -> npt.NDArray[np.float64]:
    """Widths (px) of the edges along each row of ``lines``."""
    k = EDGE_SPAN
    n = lines.shape[1]
    if n < 4 * k + 1:
        return np.empty(0)
    diff = np.diff(lines, axis=1)
    g1 = np.abs(diff)
    # The edge between samples i and i + 1 spans samples i - k + 1 .. i + k, and twice that.
    i = np.arange(2 * k - 1, n - 2 * k)
    step = np.abs(lines[:, i + k] - lines[:, i - k + 1])
    wide = np.abs(lines[:, i + 2 * k] - lines[:, i - 2 * k + 1])
    candidate = (step > step_min) & (wide < EDGE_LOCAL * step) & (g1[:, i] > 0.0)
    rows, cols = np.nonzero(candidate)
    if rows.size == 0:
        return np.empty(0)
    centre = i[cols]
    pairs = g1[rows[:, None], centre[:, None] + np.arange(-k + 1, k)[None, :]]
    steepest = g1[rows, centre]
    step_here = step[rows, cols]
    keep = (steepest >= pairs.max(axis=1)) & (step_here >= EDGE_MONOTONIC * pairs.sum(axis=1))
    widths: npt.NDArray[np.float64] = step_here[keep] / steepest[keep]
    return widths


def detail_ratio(depth: npt.NDArray[np.floating],
                 out_shape: tuple[int, int] | None = None) -> float | None:
    """How many output pixels wide the texels are whose detail ``depth`` really carries, read
    from the width of its edges as the conditioning sees them (resampled bilinearly to
    ``out_shape`` = (height, width), default its own); None where it has too few edges to tell
    (see the module docstring). At least the plain size ratio. ``depth`` is inverse depth or
    any affine function of it, finite."""
    if depth.ndim != 2:
        raise ValueError(f"depth must be HxW, got shape {depth.shape}")
    h, w = out_shape if out_shape is not None else depth.shape
    size_ratio = max(w / depth.shape[1], h / depth.shape[0])
    rows = np.unique(np.linspace(0, h - 1, min(h, SAMPLED_LINES)).round().astype(np.intp))
    cols = np.unique(np.linspace(0, w - 1, min(w, SAMPLED_LINES)).round().astype(np.intp))
    horizontal = bilinear_lines(depth, (h, w), rows)
    vertical = bilinear_lines(depth.T, (w, h), cols)
    # The range from a sparse subset: a percentile sorts its input.
    lo, hi = np.percentile(np.concatenate([horizontal[:, ::7].ravel(), vertical[:, ::7].ravel()]),
                           [2.0, 98.0])
    if not np.isfinite(hi - lo) or hi <= lo:
        return None
    step_min = EDGE_STEP * float(hi - lo)
    widths = np.concatenate([_edge_widths(horizontal, step_min),
                             _edge_widths(vertical, step_min)])
    if widths.size < MIN_EDGES:
        return None
    ratio = round(float(np.median(widths)) / WIDTH_PER_TEXEL / SCALE_STEP) * SCALE_STEP
    return max(size_ratio, ratio)


def detail_scale(depth: npt.NDArray[np.floating],
                 out_shape: tuple[int, int] | None = None) -> float | None:
    """:func:`detail_ratio` over the plain size ratio (>= 1): how much coarser than its grid
    the depth's detail is; what the conditioning's ``detail`` argument takes."""
    ratio = detail_ratio(depth, out_shape)
    if ratio is None:
        return None
    h, w = out_shape if out_shape is not None else depth.shape
    return ratio / max(w / depth.shape[1], h / depth.shape[0])


#: Frames of a shot measured for its detail scale before giving up (scale 1) when none has
#: enough edges: the measure costs milliseconds a frame at 4K on the thread that conditions.
SHOT_ATTEMPTS = 8


class ShotDetail:
    """The detail scale of one shot's depth: measured on its frames until one has enough edges
    (at most ``SHOT_ATTEMPTS``), then kept for the shot, so the conditioning's reach does not
    change from frame to frame (a per-frame measure would flicker with the content). A depth of
    another size starts again."""

    def __init__(self) -> None:
        self.scale: float | None = None
        self._attempts = 0
        self._shape: tuple[tuple[int, ...], tuple[int, int]] | None = None

    @property
    def tried(self) -> bool:
        """Whether any frame of the shot has been measured yet."""
        return self._attempts > 0

    @property
    def value(self) -> float:
        """The scale in use: the measured one, or 1 until (or unless) there is one."""
        return 1.0 if self.scale is None else self.scale

    def measure_from(self, frames: Iterable[npt.NDArray[np.floating]],
                     out_shape: tuple[int, int]) -> float:
        """Measure the shot on its first frames (``frames``, read lazily: iteration stops as
        soon as the scale is known or the tries are spent), before rendering any: where
        rendering starts mid-shot (a farm chunk, an export of a range), the reach is the one
        the shot's own start gives, as in the preview and a whole export."""
        for depth in frames:
            self.update(depth, out_shape)
            if self.scale is not None or self._attempts >= SHOT_ATTEMPTS:
                break
        return self.value

    def update(self, depth: npt.NDArray[np.floating], out_shape: tuple[int, int]) -> float:
        """Measure ``depth`` (conditioned for colour of ``out_shape`` = (height, width)) if the
        shot's scale is still open; returns ``value``."""
        if (depth.shape, out_shape) != self._shape:
            self._shape = (depth.shape, out_shape)
            self.scale = None
            self._attempts = 0
        if self.scale is None and self._attempts < SHOT_ATTEMPTS:
            self._attempts += 1
            self.scale = detail_scale(depth, out_shape)
        return self.value
