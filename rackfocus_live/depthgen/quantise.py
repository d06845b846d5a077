"""Relative disparity (float, model units) -> 16-bit samples, one mapping for the whole clip.

Per-frame min/max normalisation would turn every change of the scene's range into a change of
every pixel's depth (flicker). Instead the mapping is fixed by the first frame: its 0.5th and
99.5th percentiles land at ``MARGIN`` and ``1 - MARGIN`` of the 16-bit range, leaving headroom
for later frames that reach nearer or farther; what still falls outside is clipped. The written
samples follow the ``disparity`` convention (65535 = nearest), so ``--depth-kind disparity``
reads them with ``--near`` / ``--far`` giving the metres of the ends.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

#: Fraction of the 16-bit range kept free at each end for frames beyond the first one's range.
MARGIN = 0.1
_LOW_PCT, _HIGH_PCT = 0.5, 99.5
_TOP = 65535


@dataclass(frozen=True, slots=True)
class DisparityRange:
    """Model units at the two ends of the first frame's range (``low`` < ``high``)."""

    low: float
    high: float


class DisparityQuantiser:
    """Maps disparity to uint16 with the range of the first frame after ``reset``.

    Attributes:
        range: the model-unit range fixed by the first frame, None before it.
        clipped: samples clipped at either end so far (range exceeded later in the clip).
    """

    def __init__(self) -> None:
        self.range: DisparityRange | None = None
        self.clipped = 0

    def reset(self) -> None:
        self.range = None
        self.clipped = 0

    def __call__(self, disparity: npt.NDArray[np.float32]) -> npt.NDArray[np.uint16]:
        if self.range is None:
            self.range = first_frame_range(disparity)
        low, high = self.range.low, self.range.high
        # unit = MARGIN + (d - low) / (high - low) * (1 - 2 MARGIN), in float32 and in place:
        # this runs on every sample of every frame.
        scale = (1.0 - 2.0 * MARGIN) / (high - low)
        unit = disparity.astype(np.float32) * np.float32(scale)
        unit += np.float32(MARGIN - low * scale)
        np.nan_to_num(unit, copy=False, nan=0.0, posinf=1.0, neginf=0.0)
        self.clipped += int(np.count_nonzero(unit < 0.0)) + int(np.count_nonzero(unit > 1.0))
        np.clip(unit, 0.0, 1.0, out=unit)
        unit *= np.float32(_TOP)
        unit += np.float32(0.5)  # non-negative: truncation after +0.5 rounds to nearest
        return unit.astype(np.uint16)


def first_frame_range(disparity: npt.NDArray[np.float32]) -> DisparityRange:
    """The robust range of one frame; a flat frame gets a unit-wide range around its value."""
    values = disparity[np.isfinite(disparity)].astype(np.float64)
    if values.size == 0:
        return DisparityRange(0.0, 1.0)
    low, high = np.percentile(values, [_LOW_PCT, _HIGH_PCT])
    if not high - low > 1e-9 * max(1.0, abs(high)):
        mid = float(values.mean())
        return DisparityRange(mid - 0.5, mid + 0.5)
    return DisparityRange(float(low), float(high))
