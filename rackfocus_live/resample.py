"""Texel-centre bilinear resampling with clamped edges: what a LINEAR-filtered GL texture read at
each output pixel centre returns (pure numpy; the conditioning's numpy reference and the depth
detail measure sample depth as the GPU passes do)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


def linear_taps(n_in: int, n_out: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64],
                                                F64]:
    """For each of ``n_out`` output pixel centres along an axis of ``n_in`` texels: the two
    texels it reads and the weight of the second."""
    pos = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    first = np.floor(pos).astype(np.int64)
    second = np.minimum(first + 1, n_in - 1)
    return first, second, pos - first


def bilinear_lines(img: npt.NDArray[np.floating], size: tuple[int, int],
                   rows: npt.NDArray[np.intp]) -> F64:
    """Rows ``rows`` of ``img`` resized to ``size`` = (height, width), as float64: the same
    values as those rows of :func:`bilinear_resize`, without resizing the rest."""
    h, w = img.shape
    oh, ow = size
    y0, y1, fy = linear_taps(h, oh)
    x0, x1, fx = linear_taps(w, ow)
    src = img.astype(np.float64, copy=False)
    wy = fy[rows][:, None]
    blended = src[y0[rows]] * (1 - wy) + src[y1[rows]] * wy
    out: F64 = blended[:, x0] * (1 - fx) + blended[:, x1] * fx
    return out


def bilinear_resize(img: F32, size: tuple[int, int]) -> F32:
    """Resize HxW to (height, width) with texel-centre bilinear sampling and clamped edges: what
    a LINEAR-filtered GL texture read at each output pixel centre returns."""
    if img.shape == tuple(size):
        return img.astype(np.float32, copy=False)
    return bilinear_lines(img, size, np.arange(size[0])).astype(np.float32)
