"""Sanity checks of depth as read: catch the conventions people get wrong, in one line each.

Pure numpy. ``media/images.py`` refuses what cannot be depth at all (a colour image, a colour-
mapped visualisation); the checks here look at samples that read fine but are probably meant
another way, and return warnings for the CLI (stderr) and the app (panel message).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from rackfocus_live.depth import DepthMapping


def depth_warnings(raw: npt.NDArray[np.generic], mapping: DepthMapping) -> list[str]:
    """Warnings about ``raw`` (samples as stored) read with ``mapping``; empty when it looks right.
    """
    out: list[str] = []
    if mapping.kind == "metric" and raw.dtype == np.uint8:
        scale = mapping.metric_scale_for(raw.dtype)
        out.append(
            f"8-bit depth read as metric depth ({scale:g} m per unit: at most "
            f"{255 * scale:.3g} m); 8-bit depth is almost always disparity from a depth model "
            "(near = bright): pass --depth-kind disparity (and --near/--far or --calibrate)"
        )
    return out
