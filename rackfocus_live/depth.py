"""Depth conventions: raw depth samples -> inverse depth (1/m) for the CoC pass. Pure numpy.

The renderer works in inverse depth w = 1/z because the thin-lens CoC is linear in it
(see ``lens.py``), and because relative depth from video depth models is already (affine)
inverse depth.

Conventions (``kind``):

``metric``
    Samples are distances along the optical axis (planar depth). Metres = raw * scale.
    Float files (EXR) default to scale 1 (metres); integer files (16-bit PNG) default to
    0.001 (millimetres, the Kinect/RealSense/Redwood convention); TUM data needs 0.0002.
``disparity``
    Relative inverse depth, near = bright: the output of DepthCrafter, Video-Depth-Anything,
    MiDaS. Integer samples are normalised by their type's maximum (255, 65535); float samples
    are used as given and should lie in [0, 1]. d = 1 maps to ``near`` and d = 0 to ``far``,
    linearly in inverse depth: w = 1/far + d * (1/near - 1/far).
``normalized``
    Depth normalised to [0, 1], 0 = near, 1 = far, linear in metres:
    z = near + d * (far - near).

Invalid samples (documented contract, also in docs/formats.md):

* NaN, -inf and negative values are invalid in every convention.
* metric: 0 is invalid (depth cameras write 0 for "no measurement"); +inf is valid and means
  infinitely far (render Z passes write it for the sky), i.e. w = 0.
* disparity: 0 is valid (the far end); +inf is invalid.
* normalized: values above 1 are clamped to 1; +inf is invalid.
* any convention: a sample whose inverse depth does not fit a float32 (closer than about
  3e-39 m) is invalid.

Invalid samples are filled from the surrounding valid depth (push-pull in inverse depth, so holes
take a smooth blend of their borders rather than a hard fill value); a frame with no valid sample
at all is an error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from rackfocus_live.arrays import is_integer_array
from rackfocus_live.errors import InputError

DepthKind = Literal["metric", "disparity", "normalized"]
DEPTH_KINDS: tuple[DepthKind, ...] = ("metric", "disparity", "normalized")

#: Defaults for relative conventions when --near/--far are not given (metres).
DEFAULT_NEAR_M = 1.0
DEFAULT_FAR_M = 20.0


@dataclass(frozen=True, slots=True)
class DepthMapping:
    """How to turn raw depth samples into inverse depth.

    Attributes:
        kind: one of DEPTH_KINDS.
        scale: metres per raw unit for ``metric``; None picks the default for the sample type.
        near: metres at the near end of a relative convention.
        far: metres at the far end of a relative convention (may be ``inf`` for disparity).
    """

    kind: DepthKind = "metric"
    scale: float | None = None
    near: float = DEFAULT_NEAR_M
    far: float = DEFAULT_FAR_M

    def __post_init__(self) -> None:
        if self.kind not in DEPTH_KINDS:
            raise InputError(f"unknown depth kind '{self.kind}' (one of: {', '.join(DEPTH_KINDS)})")
        if self.scale is not None and not (math.isfinite(self.scale) and self.scale > 0):
            raise InputError("depth scale must be > 0")
        if not (math.isfinite(self.near) and self.near > 0):
            raise InputError("near must be > 0 m")
        if not (self.far > self.near):
            raise InputError(f"far ({self.far:g} m) must be greater than near ({self.near:g} m)")
        if self.kind == "normalized" and not math.isfinite(self.far):
            raise InputError("far must be finite for normalized depth")

    def metric_scale_for(self, dtype: np.dtype[np.generic]) -> float:
        """Metres per raw unit for metric depth of this sample type."""
        if self.scale is not None:
            return self.scale
        return 1.0 if np.issubdtype(dtype, np.floating) else 1e-3

    def normalise_relative(self, raw: npt.NDArray[np.generic]) -> npt.NDArray[np.float32]:
        """Relative samples to [0, 1] floats (integers by their type's maximum)."""
        if is_integer_array(raw):
            return raw.astype(np.float32) / np.float32(np.iinfo(raw.dtype).max)
        return raw.astype(np.float32, copy=False)

    def to_inverse_depth_raw(
        self, raw: npt.NDArray[np.generic]
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
        """Inverse depth (1/m) and a validity mask, before hole filling."""
        if raw.ndim != 2:
            raise ValueError(f"depth must be HxW, got shape {raw.shape}")
        with np.errstate(all="ignore"):
            if self.kind == "metric":
                z = raw.astype(np.float64) * self.metric_scale_for(raw.dtype)
                valid = (z > 0) & ~np.isnan(z)
                w = np.where(np.isposinf(z), 0.0, 1.0 / np.where(valid, z, 1.0))
            else:
                d = self.normalise_relative(raw).astype(np.float64)
                valid = np.isfinite(d) & (d >= 0)
                d = np.clip(np.where(valid, d, 0.0), 0.0, 1.0)
                inv_near, inv_far = 1.0 / self.near, 1.0 / self.far
                if self.kind == "disparity":
                    w = inv_far + d * (inv_near - inv_far)
                else:
                    w = 1.0 / (self.near + d * (self.far - self.near))
            w32 = w.astype(np.float32)
        # An inverse depth beyond float32 (a metric depth of 1e-40 m, a near plane of 1e-40 m)
        # cannot be rendered: such samples are invalid and filled like holes. Invalid samples
        # hold 0 so that filling never multiplies an infinity.
        valid &= np.isfinite(w32)
        return np.where(valid, w32, np.float32(0.0)), valid

    def to_inverse_depth(
        self, raw: npt.NDArray[np.generic], source: str | None = None
    ) -> npt.NDArray[np.float32]:
        """Inverse depth (1/m) with invalid samples filled; InputError if none is valid."""
        w, valid = self.to_inverse_depth_raw(raw)
        if not valid.any():
            raise InputError(
                "depth has no valid samples "
                f"(all zero, negative, NaN or inf for {self.kind} depth)",
                source,
            )
        if not valid.all():
            w = fill_invalid(w, valid)
        return w

    def inverse_depth_of_metres(self, z_m: float) -> float:
        """1/z for a distance in metres (the focus distance in the same units as the map)."""
        return 0.0 if math.isinf(z_m) else 1.0 / z_m


def fill_invalid(
    values: npt.NDArray[np.float32], valid: npt.NDArray[np.bool_]
) -> npt.NDArray[np.float32]:
    """Fill invalid samples by push-pull: average valid samples down a pyramid, pull back up.

    Vectorised; O(pixels). Valid samples are returned unchanged.
    """
    v = values.astype(np.float64)
    wgt = valid.astype(np.float64)
    levels: list[tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]] = []
    num, den = v * wgt, wgt
    while True:
        levels.append((num, den))
        h, w = den.shape
        if (den > 0).all() or (h == 1 and w == 1):
            break
        ph, pw = h + (h & 1), w + (w & 1)
        num = np.pad(num, ((0, ph - h), (0, pw - w)))
        den = np.pad(den, ((0, ph - h), (0, pw - w)))
        num = num.reshape(ph // 2, 2, pw // 2, 2).sum(axis=(1, 3))
        den = den.reshape(ph // 2, 2, pw // 2, 2).sum(axis=(1, 3))
    # Pull: walk back up, filling each level's holes from the (already filled) coarser level.
    coarse_num, coarse_den = levels[-1]
    filled = np.divide(coarse_num, coarse_den, out=np.zeros_like(coarse_num), where=coarse_den > 0)
    for num, den in reversed(levels[:-1]):
        h, w = den.shape
        up = np.repeat(np.repeat(filled, 2, axis=0), 2, axis=1)[:h, :w]
        own = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
        filled = np.where(den > 0, own, up)
    out = np.where(valid, values, filled.astype(np.float32))
    return out.astype(np.float32)


def encode_disparity(
    depth_m: npt.NDArray[np.floating], near: float, far: float, dtype: type[np.integer] = np.uint16
) -> npt.NDArray[np.integer]:
    """Metric depth -> quantised disparity (inverse of the ``disparity`` convention). For tests,
    the demo asset and anyone preparing data."""
    w = 1.0 / np.asarray(depth_m, dtype=np.float64)
    d = (w - 1.0 / far) / (1.0 / near - 1.0 / far)
    top = np.iinfo(dtype).max
    return np.clip(np.round(d * top), 0, top).astype(dtype)


# -- focusing on a pixel (click-to-focus, render --focus-at) --------------------------------------

#: Half size of the click-to-focus window: (2 r + 1)^2 depth samples.
CLICK_RADIUS_PX = 3


def robust_inverse_depth(window: npt.ArrayLike) -> float | None:
    """Median inverse depth (1/m) of the valid samples in a small window, or None.

    Valid means finite and > 0: NaN and inf are invalid, 0 is "infinitely far" (nothing to focus
    on) and negatives are garbage. The median ignores the odd outlier sample at an object's edge,
    so clicking near a silhouette picks the surface most of the window covers.
    """
    w = np.asarray(window, dtype=np.float64).ravel()
    valid = w[np.isfinite(w) & (w > 0)]
    if valid.size == 0:
        return None
    return float(np.median(valid))


def window_around(
    image: npt.NDArray[np.generic], x: float, y: float, radius: int = CLICK_RADIUS_PX
) -> npt.NDArray[np.generic]:
    """The (2r+1)^2 window of ``image`` (HxW, row 0 at the top) around pixel (x, y), cut at the
    borders; empty when (x, y) is outside the image."""
    h, w = image.shape[:2]
    ix, iy = math.floor(x), math.floor(y)
    if not (0 <= ix < w and 0 <= iy < h):
        return image[0:0, 0:0]
    return image[max(iy - radius, 0) : iy + radius + 1, max(ix - radius, 0) : ix + radius + 1]


def focus_at_pixel(
    inv_depth: npt.NDArray[np.generic], x: float, y: float, image_size: tuple[int, int],
    radius: int = CLICK_RADIUS_PX,
) -> float | None:
    """The focus distance (m) click-to-focus picks at image pixel (x, y) (row 0 at the top) of an
    image of ``image_size`` (w, h): the median inverse depth of the valid samples around it,
    the point scaled to the depth map's resolution (which may be lower; ``radius`` counts depth
    samples). None when there is no valid depth there (or the point is outside the image)."""
    w, h = image_size
    dh, dw = inv_depth.shape[:2]
    window = window_around(inv_depth, x * dw / w, y * dh / h, radius)
    v = robust_inverse_depth(window)
    return None if v is None else 1.0 / v

