"""Turn a recorded focus performance into a few eased keyframes, within a blur tolerance.

The tolerance is what the viewer sees: the circle of confusion (px) of the fitted curve may
differ from that of the recorded one by at most ``tolerance_px`` at every sample, for any subject
in a representative depth range. With the thin lens (``lens.py``)::

    c_px(z, S) = K0 * g(S) * (1/S - 1/z),   K0 = A * f * width_px / sensor_width,
    g(S) = S / (S - f) with focus breathing, 1 without.

Without breathing the difference between two focus distances S1, S2 is K0 * |1/S1 - 1/S2| for
every subject depth z. With breathing it is affine in 1/z, so its largest value over a depth
range [near, far] is at one of the two ends; ``CocTolerance.error_px`` takes that maximum.

Simplified in blur *and* in shape: a pull that changes the picture by less than the CoC tolerance
still changes where the focus sits on the curve editor, and a performer who held a distance and
then moved expects to see a flat line and then a move, not one ramp across both. So a fitted
segment must also stay within ``shape_fraction`` of the take's own range of focus (in the track's
interpolation space), and the keys at the ends of holds are never merged away.

Fitting: holds (runs of samples that stay within the tolerance for at least ``MIN_HOLD_S``) are
found first and get keys at both ends, where a focus puller would put them. Between those,
greedy farthest reach: from a
key, the segment is extended as far as some easing (linear, hold, the monotone named eases, or a
least-squares CSS cubic-bezier) reproduces every sample in it within the tolerance; exponential
then binary search on the end, so a take of n samples costs O(k log n) segment fits for k keys.
Keys sit on recorded samples and take their values, so the fit passes through the performance
exactly at every key.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from rackfocus_live.lens import LensState
from rackfocus_live.timeline.easing import (
    HOLD,
    LINEAR,
    MODES,
    MONOTONIC_FAMILIES,
    Easing,
    cubic_bezier,
    get_easing,
    solve_bezier_t,
)
from rackfocus_live.timeline.keyframes import FloatArray, Key, Space, from_space, to_space

DEFAULT_TOLERANCE_PX = 0.5
#: How far a fitted segment may stray from the take, as a fraction of the take's focus range (in
#: the interpolation space): keeps the shape of the performance visible on the curve editor.
DEFAULT_SHAPE_FRACTION = 0.08
#: The shape tolerance never drops below this fraction of the focus (in the space's units).
SHAPE_FLOOR = 0.002
#: A run of samples standing still for this long is a hold (whatever the playback rate).
MIN_HOLD_S = 0.3

#: Candidate eases tried on every segment, simplest first (ties go to the earlier one).
FIT_EASINGS: tuple[Easing, ...] = (
    LINEAR,
    HOLD,
    *(get_easing(f"{family}-{mode}") for family in MONOTONIC_FAMILIES for mode in MODES),
)


@dataclass(frozen=True, slots=True)
class CocTolerance:
    """How far a fitted focus curve may stray from a recorded one, in CoC pixels.

    Attributes:
        lens: the lens of the shot (focal length, f-stop, sensor, breathing).
        image_width_px: width of the image the CoC is measured on.
        tolerance_px: the largest allowed CoC difference (diameter, px).
        depth_range_m: nearest and farthest subject depth considered (far may be inf).
    """

    lens: LensState
    image_width_px: int
    tolerance_px: float = DEFAULT_TOLERANCE_PX
    depth_range_m: tuple[float, float] = (0.5, math.inf)

    def __post_init__(self) -> None:
        if not (self.image_width_px > 0 and self.tolerance_px > 0):
            raise ValueError("image width and tolerance must be > 0")
        near, far = self.depth_range_m
        if not (0 < near < far):
            raise ValueError("depth range must satisfy 0 < near < far")

    def coc_px(self, focus_m: npt.ArrayLike, depth_m: float) -> FloatArray:
        """Signed CoC diameter (px) of a subject at ``depth_m`` for each focus distance."""
        lens = self.lens
        f = lens.focal_length_m
        s = np.maximum(np.asarray(focus_m, dtype=np.float64), f * 1.001)
        k0 = lens.aperture_m * f * self.image_width_px / (lens.sensor_width_mm * 1e-3)
        g = s / (s - f) if lens.focus_breathing else 1.0
        inv_z = 0.0 if math.isinf(depth_m) else 1.0 / depth_m
        return k0 * g * (1.0 / s - inv_z)

    def error_px(self, fit_m: npt.ArrayLike, recorded_m: npt.ArrayLike) -> FloatArray:
        """Largest CoC difference (px) over the depth range, per sample."""
        errs = [np.abs(self.coc_px(fit_m, z) - self.coc_px(recorded_m, z))
                for z in self.depth_range_m]
        return np.maximum(errs[0], errs[1])


def fit_css_bezier(u: FloatArray, p: FloatArray, iterations: int = 6) -> Easing | None:
    """Least-squares CSS cubic-bezier through (0,0) and (1,1) approximating p(u).

    Schneider's method: alternate a linear least-squares solve for the two handles with a
    Newton step on each point's curve parameter; x handles are clamped to [0, 1] (CSS), then y
    is refitted against the exact CSS parameter of each u. None when the data cannot define a
    curve (fewer than 4 points).
    """
    if u.shape[0] < 4:
        return None
    t = u.copy()
    pts = np.stack([u, p], axis=1)
    ctrl = np.array([[1 / 3, 1 / 3], [2 / 3, 2 / 3]])
    for _ in range(iterations):
        b1 = 3.0 * (1 - t) ** 2 * t
        b2 = 3.0 * (1 - t) * t**2
        a = np.stack([b1, b2], axis=1)
        rhs = pts - (t**3)[:, None]
        sol, *_ = np.linalg.lstsq(a, rhs, rcond=None)
        ctrl = sol
        # Newton step on t for the squared distance to the curve.
        p1, p2 = ctrl[0], ctrl[1]
        q = (b1[:, None] * p1 + b2[:, None] * p2 + (t**3)[:, None])
        d1 = (3 * (1 - t) ** 2)[:, None] * p1 + (6 * (1 - t) * t)[:, None] * (p2 - p1) \
            + (3 * t**2)[:, None] * (1 - p2)
        d2 = (6 * (1 - t))[:, None] * (p2 - 2 * p1) + (6 * t)[:, None] * (1 - 2 * p2 + p1)
        diff = q - pts
        num = np.sum(diff * d1, axis=1)
        den = np.sum(d1 * d1 + diff * d2, axis=1)
        ok = np.abs(den) > 1e-12
        t = np.clip(np.where(ok, t - num / np.where(ok, den, 1.0), t), 0.0, 1.0)
    x1 = float(np.clip(ctrl[0, 0], 0.0, 1.0))
    x2 = float(np.clip(ctrl[1, 0], 0.0, 1.0))
    tt = solve_bezier_t(u, x1, x2)
    a = np.stack([3.0 * (1 - tt) ** 2 * tt, 3.0 * (1 - tt) * tt**2], axis=1)
    (y1, y2), *_ = np.linalg.lstsq(a, p - tt**3, rcond=None)
    if not (math.isfinite(y1) and math.isfinite(y2)):
        return None
    # y in [0, 1] keeps the fitted ease monotone: a recorded pull never gains an overshoot
    # that the performer did not make.
    return cubic_bezier(x1, float(np.clip(y1, 0.0, 1.0)), x2, float(np.clip(y2, 0.0, 1.0)))


def _segment_easing(
    u: FloatArray, w: FloatArray, focus: FloatArray, space: Space, tol: CocTolerance,
    shape_tol: float = math.inf,
) -> Easing | None:
    """The best easing reproducing samples w (interpolation space) on [0, 1] within the CoC
    tolerance and within ``shape_tol`` in w, or None."""
    w0, w1 = w[0], w[-1]
    dw = w1 - w0

    def within(ease: Easing) -> bool:
        fit_w = w0 + dw * ease(u)
        if float(np.max(np.abs(fit_w - w))) > shape_tol:
            return False
        err = float(np.max(tol.error_px(from_space(fit_w, space), focus)))
        return err <= tol.tolerance_px

    for ease in FIT_EASINGS:
        # First fit in preference order, not least error: simpler eases are nicer to edit.
        if within(ease):
            return ease
    if dw != 0.0:
        bez = fit_css_bezier(u, (w - w0) / dw)
        if bez is not None and within(bez):
            return bez
    return None


def fit_keys(
    times: npt.ArrayLike,
    focus_m: npt.ArrayLike,
    tolerance: CocTolerance,
    space: Space = "inverse",
    f_stop: npt.ArrayLike | None = None,
    shape_fraction: float = DEFAULT_SHAPE_FRACTION,
) -> list[Key]:
    """Few eased keys reproducing the samples within ``tolerance`` (see the module docstring).

    Args:
        times: strictly increasing sample times (s).
        focus_m: recorded focus per sample (m).
        tolerance: the CoC tolerance.
        space: the interpolation space of the track the keys go into.
        f_stop: recorded f-stop per sample (NaN where none); a key takes the f-stop of the
            sample it sits on.
        shape_fraction: the shape tolerance, as a fraction of the take's focus range in the
            interpolation space (inf: blur only).
    """
    t = np.asarray(times, dtype=np.float64)
    f = np.asarray(focus_m, dtype=np.float64)
    n = t.shape[0]
    stops = None if f_stop is None else np.asarray(f_stop, dtype=np.float64)

    def key(i: int, ease: Easing) -> Key:
        s = None if stops is None or math.isnan(stops[i]) else float(stops[i])
        return Key(float(t[i]), float(f[i]), s, ease)

    if n == 0:
        return []
    w = to_space(f, space)
    # Floor: 0.2 % of the distance, so hand jitter on a near-flat take does not become keys.
    shape_tol = max(shape_fraction * float(np.max(w) - np.min(w)),
                    SHAPE_FLOOR * float(np.median(np.abs(w))))

    def fits(i: int, j: int) -> Easing | None:
        u = (t[i: j + 1] - t[i]) / (t[j] - t[i])
        return _segment_easing(u, w[i: j + 1], f[i: j + 1], space, tolerance, shape_tol)

    breaks = _static_breaks(t, f, tolerance)
    segments: list[tuple[int, Easing]] = []
    for start, end in itertools.pairwise(breaks):
        segments += _greedy_segments(start, end, fits)
    segments = _merge_segments(segments, n - 1, fits, frozenset(breaks))
    return [key(i, ease) for i, ease in segments] + [key(n - 1, LINEAR)]


def _merge_segments(
    segments: list[tuple[int, Easing]],
    last: int,
    fits: Callable[[int, int], Easing | None],
    keep: frozenset[int] = frozenset(),
) -> list[tuple[int, Easing]]:
    """Drop keys whose two neighbouring segments one easing can cover, except those in
    ``keep`` (the ends of holds: where the performer started or stopped moving).

    Greedy farthest reach can leave a one-frame segment in front of a hold (it stops where it
    must, not where it would be nicest); one pass of pairwise merging tidies that up.
    """
    out = list(segments)
    k = 1
    while k < len(out):
        if out[k][0] in keep:
            k += 1
            continue
        start = out[k - 1][0]
        end = out[k + 1][0] if k + 1 < len(out) else last
        ease = fits(start, end)
        if ease is None:
            k += 1
        else:
            out[k - 1] = (start, ease)
            del out[k]
    return out


def _static_breaks(
    times: FloatArray, focus: FloatArray, tol: CocTolerance, min_len: int = 3,
    hold_px: float = 0.25, min_hold_s: float = MIN_HOLD_S,
) -> list[int]:
    """Sample indices where the performance starts or stops moving, plus both ends.

    A run of at least ``min_len`` samples lasting at least ``min_hold_s`` (at a low preview
    frame rate a second is a handful of samples) whose CoC (at both ends of the depth range)
    spans at most ``min(hold_px, tolerance)`` is a hold: a line between any two of its samples stays
    within the tolerance. Keys at the ends of holds sit where a focus puller would put them
    (start and end of each pull) instead of wherever the greedy fit happens to stop. The fixed
    ``hold_px`` keeps a slow stretch of a pull from passing for a hold under a loose tolerance.
    """
    limit = min(hold_px, tol.tolerance_px)
    n = focus.shape[0]
    cocs = [tol.coc_px(focus, z) for z in tol.depth_range_m]
    breaks = [0]
    i = 0
    while i < n - 1:
        j = n - 1
        for c in cocs:
            run = c[i:]
            span = np.maximum.accumulate(run) - np.minimum.accumulate(run)
            over = np.flatnonzero(span > limit)
            if over.size:
                j = min(j, i + int(over[0]) - 1)
        if j - i + 1 >= min_len and times[j] - times[i] >= min_hold_s - 1e-9:
            breaks += [i, j]
            i = j + 1
        else:
            i += 1
    breaks.append(n - 1)
    return sorted(set(breaks))


def _greedy_segments(
    start: int, end: int, fits: Callable[[int, int], Easing | None]
) -> list[tuple[int, Easing]]:
    """(key index, easing) of each segment covering samples start..end, farthest reach first."""
    out: list[tuple[int, Easing]] = []
    i = start
    while i < end:
        good_j, good_e = i + 1, LINEAR  # two samples: a line through both is exact
        bad: int | None = None
        probe = i + 2
        while probe <= end:
            ease = fits(i, probe)
            if ease is None:
                bad = probe
                break
            good_j, good_e = probe, ease
            if probe == end:
                break
            probe = min(i + 2 * (probe - i), end)
        if bad is not None:
            lo, hi = good_j, bad
            while hi - lo > 1:
                mid = (lo + hi) // 2
                ease = fits(i, mid)
                if ease is None:
                    hi = mid
                else:
                    lo, good_e = mid, ease
            good_j = lo
        out.append((i, good_e))
        i = good_j
    return out
