"""Colour plates: stills and image sequences read as numpy colour, float (EXR, scene-linear) or
integer (8/16-bit PNG, TIFF, DPX, JPEG, display- or log-encoded)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from rackfocus_live.media.exr import PathLike, is_exr, read_exr_rgb
from rackfocus_live.media.images import read_rgb


def read_still_colour(
    path: PathLike,
) -> npt.NDArray[np.float32] | npt.NDArray[np.uint8] | npt.NDArray[np.uint16]:
    """HxWx3 colour: float32 scene-linear for EXR, uint8/uint16 as stored for everything else."""
    if is_exr(path):
        return read_exr_rgb(path)
    return read_rgb(path)
