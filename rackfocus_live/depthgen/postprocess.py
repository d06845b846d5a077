"""The post-processing hook of depth making: applied to the (rgb, disparity) frames of a clip,
in order, after the model and before quantisation; ``reset()`` starts a new sequence.

This is where temporal stabilisation and colour-guided edge refinement belong. The default,
:class:`AffineDriftStabiliser`, removes the per-frame scale and shift drift of relative depth
(monocular models are affine-invariant: each frame's disparity has its own unknown scale and
offset, which shows as flicker once the clip is quantised with one fixed mapping). It does no
edge refinement. Pure numpy.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

Rgb = npt.NDArray[np.uint8]
Disparity = npt.NDArray[np.float32]

#: Samples used to fit the affine map (a regular grid over the frame).
_FIT_SAMPLES = 65_536
#: Fraction of samples with the largest residual dropped before the refit (moving objects,
#: occlusions: where the scene itself changed, not the model's scale).
_TRIM = 0.2
#: Trimmed refits after the median/spread start.
_REFITS = 3


class DepthPostProcessor(Protocol):
    """The hook. Called once per frame in display order with the clip frame (HxWx3 uint8, the
    size of the disparity) and the model's relative disparity up-sampled to that size (HxW
    float32, larger = nearer); returns the disparity to write (same shape, float32)."""

    def reset(self) -> None:
        """Forget the previous frames (a new clip, or a jump)."""
        ...

    def __call__(self, rgb: Rgb, disparity: Disparity) -> Disparity:
        ...


class PassThrough:
    """No post-processing (each frame as the model gave it)."""

    def reset(self) -> None:
        pass

    def __call__(self, rgb: Rgb, disparity: Disparity) -> Disparity:
        return disparity


class AffineDriftStabiliser:
    """Aligns each frame's disparity to the previous output by a least-squares scale and shift.

    The fit uses a regular grid of samples: it starts by matching medians and spreads, then
    refits on the samples without the worst 20 % of residuals (what moved), three times, by
    their means and spreads (see :func:`fit_affine`); the scale is always positive (a negative
    one would swap near and far). The first frame after ``reset`` passes
    unchanged and becomes the reference the clip's scale follows.

    Attributes:
        last_fit: (scale, shift) applied to the most recent frame.
    """

    def __init__(self) -> None:
        self._reference: npt.NDArray[np.float64] | None = None
        self._grid: tuple[slice, slice] | None = None
        self.last_fit: tuple[float, float] = (1.0, 0.0)

    def reset(self) -> None:
        self._reference = None
        self._grid = None
        self.last_fit = (1.0, 0.0)

    def __call__(self, rgb: Rgb, disparity: Disparity) -> Disparity:
        grid = self._grid or _sample_grid(disparity.shape)
        samples = disparity[grid].astype(np.float64).ravel()
        if self._reference is None or self._reference.shape != samples.shape:
            scale, shift = 1.0, 0.0
            out = disparity
        else:
            scale, shift = fit_affine(samples, self._reference)
            out = (disparity * np.float32(scale) + np.float32(shift)).astype(np.float32)
        self._grid = grid
        self._reference = samples * scale + shift
        self.last_fit = (scale, shift)
        return out


def _sample_grid(shape: tuple[int, ...]) -> tuple[slice, slice]:
    h, w = shape[0], shape[1]
    step = max(1, int(np.sqrt(h * w / _FIT_SAMPLES)))
    return slice(step // 2, None, step), slice(step // 2, None, step)


def fit_affine(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> tuple[float, float]:
    """(scale, shift) with scale > 0 that maps ``x`` onto ``y``, robust to outliers.

    Not ordinary least squares: with noise in both frames its slope shrinks towards 0 (regression
    dilution), and chained frame to frame the depth would flatten out over a clip. The scale is
    the ratio of spreads of the samples that agree (reduced major axis), which is symmetric in
    ``x`` and ``y``; where the frames are unrelated (a cut) that is moment matching, which carries
    the clip's range over the cut.
    """
    finite = np.isfinite(x) & np.isfinite(y)
    x, y = x[finite], y[finite]
    if x.size < 2:
        return 1.0, 0.0
    # Start from medians and spreads (not swayed by what moved), then refit on the samples that
    # agree with the current fit, a few times over.
    fit = _match_spread(x, y)
    for _ in range(_REFITS):
        residual = np.abs(x * fit[0] + fit[1] - y)
        keep = residual <= np.quantile(residual, 1.0 - _TRIM)
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
    # Median and median absolute deviation: a fallback that cannot flip the depth order.
    mx, my = float(np.median(x)), float(np.median(y))
    sx = float(np.median(np.abs(x - mx)))
    sy = float(np.median(np.abs(y - my)))
    scale = sy / sx if sx > 1e-12 and sy > 1e-12 else 1.0
    return scale, my - scale * mx


def default_postprocessor() -> DepthPostProcessor:
    """The hook ``depth`` uses unless told otherwise.

    Issue 12's depth conditioning (temporal stabilisation + colour-guided edge refinement) is to
    be returned from here once merged; see /work/notes/i18.md.
    """
    return AffineDriftStabiliser()
