"""Load a custom aperture (iris) image into a LensCharacter; one clear error for a bad file."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from rackfocus_live.errors import InputError
from rackfocus_live.lens_character import LensCharacter, aperture_rim_from_mask
from rackfocus_live.media.images import read_rgb


def with_aperture_image(character: LensCharacter, path: Path) -> LensCharacter:
    """``character`` with the iris of the image at ``path`` (bright = open, e.g. a PNG)."""
    if not path.is_file():
        raise InputError("aperture image not found", path)
    try:
        rgb = read_rgb(path)
    except InputError as exc:
        raise InputError(exc.problem, path) from None
    except Exception as exc:  # any decoder failure means a bad input file
        raise InputError(f"cannot read the aperture image ({exc})", path) from None
    lum = np.asarray(rgb, np.float64).mean(axis=2)
    lum /= max(float(lum.max()), 1e-9)
    try:
        rim = aperture_rim_from_mask(lum > 0.5)
    except InputError as exc:
        raise InputError(exc.problem, path) from None
    return replace(character, aperture_rim=rim, aperture_name=path.name)
