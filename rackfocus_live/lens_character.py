"""Lens character beyond the thin lens: optical vignetting (cat-eye bokeh), axial chromatic
aberration and a custom aperture image. Each is off by default. Pure numpy: these functions are
the reference the shaders (``shaders/include/aperture.glsl``) are tested against.

- Cat-eye: towards the frame edges the lens barrel clips the aperture, so the bokeh of a source
  at image position P is the aperture intersected with a second disc of the same radius whose
  centre is shifted outward by ``s = cat_eye * (P - centre) / half_diagonal`` radii (|s| <= 0.9).
- Axial chromatic aberration: red and blue focus at slightly different distances; their CoC
  diameters differ from green's by ``+axial_ca_px`` (red) and ``-axial_ca_px`` (blue), signed
  like the CoC, so behind the focus plane red spreads wider (red rims) and in front blue does.
- Aperture image: a PNG of the iris (bright = open), reduced to its rim radius per angle around
  its centre (a star-shaped outline: a ring-shaped iris is filled in), largest radius 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from rackfocus_live.errors import InputError

#: Angular resolution of a custom aperture's rim (must match RIM_BINS in aperture.glsl).
RIM_BINS = 64
MAX_CAT_EYE_SHIFT = 0.9


@dataclass(frozen=True, slots=True)
class LensCharacter:
    """Lens imperfections that give a real lens its look; the defaults are a perfect lens.

    Attributes:
        cat_eye: optical vignetting strength, 0..1: the shift of the clipping disc (in aperture
            radii) at the frame corner; 0 is off.
        axial_ca_px: axial chromatic aberration, the CoC diameter (px at the rendered width)
            by which red exceeds green and green exceeds blue behind the focus plane; 0 is off.
        aperture_rim: a custom aperture's rim radius per angle (RIM_BINS values, largest 1,
            counter-clockwise from +x in image coordinates with y down), or None for the lens's
            blades / circle. Make one with ``aperture_rim_from_mask``.
        aperture_name: where the rim came from (shown in the panel), or "".
    """

    cat_eye: float = 0.0
    axial_ca_px: float = 0.0
    aperture_rim: tuple[float, ...] | None = None
    aperture_name: str = ""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.cat_eye) and 0.0 <= self.cat_eye <= 1.0):
            raise InputError("cat-eye strength must be within 0..1")
        if not (math.isfinite(self.axial_ca_px) and abs(self.axial_ca_px) <= 16.0):
            raise InputError("axial chromatic aberration must be within -16..16 px")
        if self.aperture_rim is not None and len(self.aperture_rim) != RIM_BINS:
            raise InputError(f"an aperture rim needs {RIM_BINS} values")

    def channel_coc_px(self, coc_px: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Signed CoC diameter per channel (..., 3) for green's signed CoC ``coc_px``."""
        c = np.asarray(coc_px, np.float64)[..., None]
        return c + np.array([self.axial_ca_px, 0.0, -self.axial_ca_px])

    def cat_eye_shift(self, source_px: npt.ArrayLike, size: tuple[int, int]
                      ) -> npt.NDArray[np.float64]:
        """The clipping disc's shift (aperture radii, x and y) for a source at ``source_px``."""
        w, h = size
        centre = np.array([w / 2.0, h / 2.0])
        s = self.cat_eye * (np.asarray(source_px, np.float64) - centre) / math.hypot(w / 2, h / 2)
        n = np.linalg.norm(s, axis=-1, keepdims=True)
        return np.where(n > MAX_CAT_EYE_SHIFT, s * MAX_CAT_EYE_SHIFT / np.maximum(n, 1e-12), s)

    def bokeh_mask(self, dx: npt.ArrayLike, dy: npt.ArrayLike, radius: float,
                   source_px: tuple[float, float], size: tuple[int, int]) -> npt.NDArray[np.bool_]:
        """Whether offsets (dx, dy) px from a source lie inside its bokeh of circumradius
        ``radius`` (circular iris or the custom rim; no squeeze): the numpy twin of
        ``shape_norm(v) <= r`` in aperture.glsl."""
        x = np.asarray(dx, np.float64)
        y = np.asarray(dy, np.float64)
        inside = np.hypot(x, y) <= radius * self.rim_radius(np.arctan2(y, x))
        if self.cat_eye > 0:
            s = self.cat_eye_shift(source_px, size)
            inside &= np.hypot(x - radius * s[0], y - radius * s[1]) <= radius
        return inside

    def rim_radius(self, angle: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """The iris rim radius (circumradius 1) at ``angle`` radians: 1 for a circle."""
        a = np.asarray(angle, np.float64)
        if self.aperture_rim is None:
            return np.ones_like(a)
        rim = np.asarray(self.aperture_rim)
        x = np.mod(a / (2 * math.pi), 1.0) * RIM_BINS
        i = np.floor(x).astype(int) % RIM_BINS
        return rim[i] + (rim[(i + 1) % RIM_BINS] - rim[i]) * (x - np.floor(x))

    def rim_area(self) -> float:
        """Area of the custom iris at circumradius 1 (pi for a circle)."""
        if self.aperture_rim is None:
            return math.pi
        rim = np.asarray(self.aperture_rim)
        return float(0.5 * np.sum(rim * rim) * 2 * math.pi / RIM_BINS)


def aperture_rim_from_mask(mask: npt.NDArray[np.bool_]) -> tuple[float, ...]:
    """The rim radius per angle of a binary iris image (True = open) around its centroid,
    normalised so the largest is 1. Rows go down, as in the rendered image."""
    ys, xs = np.nonzero(mask)
    if len(xs) < 8:
        raise InputError("the aperture image has almost no open (bright) pixels")
    cy, cx = ys.mean(), xs.mean()
    # Farthest open pixel edge in each angular bin (half a pixel beyond its centre).
    angles = np.arctan2(ys - cy, xs - cx)
    dist = np.hypot(ys - cy, xs - cx) + 0.5
    bins = (np.mod(angles / (2 * math.pi), 1.0) * RIM_BINS).astype(int) % RIM_BINS
    rim = np.zeros(RIM_BINS)
    np.maximum.at(rim, bins, dist)
    # Bins no pixel fell into (a tiny image): take the neighbours' radius.
    for i in np.nonzero(rim == 0)[0]:
        rim[i] = max(rim[(i - 1) % RIM_BINS], rim[(i + 1) % RIM_BINS])
    # The bins are indexed by the angle at the start of the bin; centre them.
    rim = 0.5 * (rim + np.roll(rim, -1))
    return tuple(float(v) for v in rim / rim.max())

