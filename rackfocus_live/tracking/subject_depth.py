"""The depth of a tracked subject: a robust per-frame statistic and lag-free smoothing.

Inverse depth w = 1/z (1/m) throughout, the renderer's unit: the CoC is linear in it, so
averaging and smoothing in w is averaging in blur.

A box around a subject holds the subject's surface, background behind it (smaller w) and
sometimes an occluder in front (larger w). ``region_inverse_depth`` keeps the pixels within a
band around the subject's expected w (the prediction from the previous frames; at the anchor,
the depth under the click), which rejects both, and takes their median; two passes recentre
the band so a band edge cannot bias the estimate. Without a prediction, ``near_side_inverse_depth``
prefers the subject's surface: the subject is nearer than what is behind it, so a high percentile
of w (a low percentile of distance) after dropping the nearest few percent as outliers.

``smooth_inverse_depth`` smooths each tracked run with a centred local quadratic fit
(Savitzky-Golay) after a 3-tap median: centred, so a subject walking toward the camera is
followed without lag (a causal filter would trail it by half its window).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: Smallest half-width of the depth band around the subject, as a fraction of its w.
MIN_BAND_FRACTION = 0.06
#: Largest half-width of the band (noisy depth widens it up to this).
MAX_BAND_FRACTION = 0.22
#: Pixels of a region the depth statistic looks at, at most (larger regions are subsampled).
MAX_REGION_SAMPLES = 6000
#: Odd window of the Savitzky-Golay smoother, in frames.
SMOOTH_WINDOW = 9


def depth_band(w: float, spread: float) -> float:
    """Half-width of the band (1/m) around a subject at inverse depth ``w``.

    Args:
        w: the subject's inverse depth.
        spread: a robust standard deviation of the subject's own w samples (depth noise and the
            subject's relief); the band is three of them, within [6 %, 22 %] of w.
    """
    lo, hi = MIN_BAND_FRACTION * w, MAX_BAND_FRACTION * w
    return float(min(max(3.0 * spread, lo), hi)) + 1e-4


def robust_spread(values: FloatArray) -> float:
    """1.4826 x the median absolute deviation (the standard deviation for normal noise)."""
    if values.size == 0:
        return 0.0
    med = float(np.median(values))
    return 1.4826 * float(np.median(np.abs(values - med)))


def region_inverse_depth(
    inv_depth: npt.NDArray[np.floating], expected_w: float, band: float
) -> tuple[float, float]:
    """The subject's w in a region, and the fraction of the region's pixels on the subject.

    Args:
        inv_depth: the region's inverse depth (any shape).
        expected_w: the predicted subject w.
        band: half-width of the band around it (see ``depth_band``).

    Returns:
        (w, fraction); w is NaN when no pixel lies in the band.
    """
    region = np.asarray(inv_depth, dtype=np.float32)
    if region.ndim == 2 and region.size > MAX_REGION_SAMPLES:
        # A regular subsample: the median and the fraction need no more, and a big box near
        # the camera would otherwise cost most of a frame's budget in sorting.
        step = math.ceil(math.sqrt(region.size / MAX_REGION_SAMPLES))
        region = region[::step, ::step]
    values = region.ravel()
    if values.size == 0:
        return math.nan, 0.0
    centre = float(expected_w)
    inside = np.abs(values - centre) <= band
    for _ in range(2):
        count = int(np.count_nonzero(inside))
        if count == 0:
            return math.nan, 0.0
        centre = float(np.median(values[inside]))
        inside = np.abs(values - centre) <= band
    count = int(np.count_nonzero(inside))
    if count == 0:
        return math.nan, 0.0
    return float(np.median(values[inside])), count / values.size


def near_side_inverse_depth(inv_depth: npt.NDArray[np.floating],
                            percentile: float = 80.0, outlier_percentile: float = 97.0) -> float:
    """A region's w biased to its near side (the subject in front of its background).

    The samples above ``outlier_percentile`` (specks, an occluder's edge) are dropped first; of the
    rest, the ``percentile``-th (a high percentile of inverse depth is a low one of distance).
    """
    values = np.asarray(inv_depth, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        return math.nan
    cut = np.percentile(values, outlier_percentile)
    kept = values[values <= cut]
    return float(np.percentile(kept if kept.size else values, percentile))


def _savgol_coefficients(half: int, order: int) -> FloatArray:
    """Rows: weights that give the local polynomial's value at each position of the window."""
    x = np.arange(-half, half + 1, dtype=np.float64)
    vander = np.vander(x, order + 1, increasing=True)
    return vander @ np.linalg.pinv(vander)  # hat matrix: fitted values from samples


def _smooth_run(w: FloatArray, window: int) -> FloatArray:
    n = w.size
    if n < 3:
        return w.copy()
    # 3-tap median first: one bad frame must not bend its neighbours through the fit.
    padded = np.concatenate(([w[0]], w, [w[-1]]))
    despiked = np.median(np.stack([padded[:-2], padded[1:-1], padded[2:]]), axis=0)
    despiked[0], despiked[-1] = w[0], w[-1]
    half = min(window // 2, (n - 1) // 2)
    if half < 2:
        return despiked
    hat = _savgol_coefficients(half, 2)
    out = np.empty(n)
    centre_row = hat[half]
    for i in range(n):
        if half <= i < n - half:
            out[i] = centre_row @ despiked[i - half: i + half + 1]
        elif i < half:  # ends: the same fit, evaluated off-centre (no padding, no lag)
            out[i] = hat[i] @ despiked[: 2 * half + 1]
        else:
            out[i] = hat[2 * half - (n - 1 - i)] @ despiked[n - 2 * half - 1:]
    return out


def smooth_inverse_depth(w: FloatArray, valid: BoolArray, segment: npt.NDArray[np.integer],
                         window: int = SMOOTH_WINDOW) -> FloatArray:
    """Smooth each run of valid frames on its own; invalid frames come back NaN.

    Args:
        w: per-frame measured inverse depth.
        valid: frames where the subject was measured.
        segment: per-frame run label (e.g. the owning anchor); runs never cross a change of label.
        window: odd window length in frames.
    """
    out = np.full(w.shape, math.nan)
    n = w.size
    i = 0
    while i < n:
        if not valid[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and valid[j + 1] and segment[j + 1] == segment[i]:
            j += 1
        out[i: j + 1] = _smooth_run(np.asarray(w[i: j + 1], dtype=np.float64), window)
        i = j + 1
    return out
