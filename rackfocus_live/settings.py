"""Renderer settings that are not optics: quality presets and highlight boost. No GL here."""

from __future__ import annotations

import math
from dataclasses import dataclass

from rackfocus_live.errors import InputError


@dataclass(frozen=True, slots=True)
class QualityPreset:
    """Compile-time sample budget of the gather passes.

    Attributes:
        max_samples: most gather samples per half-resolution pixel (the largest CoC gets these).
        density: samples per square half-resolution pixel of gather area, before the cap; small
            CoCs get proportionally fewer samples.
        postfilter: strength (0..1) of the 3x3 post-filter of the half-res layers, which trades
            a little sharpness of large blur for less sampling noise (the draft preset's few
            samples need it; with many samples it costs more detail than noise it removes).
        centre_weighted: gather samples denser towards the centre of the search disc (radius
            u^(5/8) rather than the uniform u^(1/2); sampling.glsl), so that with few samples a
            small CoC near the centre of a large search still gets some. With many samples the
            uniform spiral scores the same (bench/quality.py) and costs less per sample.
    """

    max_samples: int
    density: float
    postfilter: float = 0.0
    centre_weighted: bool = False


QUALITY_PRESETS: dict[str, QualityPreset] = {
    "draft": QualityPreset(max_samples=24, density=0.35, postfilter=1.0, centre_weighted=True),
    "default": QualityPreset(max_samples=128, density=1.0),
    "high": QualityPreset(max_samples=192, density=1.5),
    "ultra": QualityPreset(max_samples=320, density=2.5),
}


DEFAULT_HIGHLIGHT_THRESHOLD = 0.9
DEFAULT_HIGHLIGHT_GAIN = 5.0


@dataclass(frozen=True, slots=True)
class HighlightBoost:
    """Re-expand clipped highlights of LDR footage before blurring, so bokeh discs keep energy.

    Pixels whose brightest channel (display-encoded, 0..1) exceeds ``threshold`` are scaled in
    linear light by up to ``1 + gain`` (a smooth ramp from threshold to 1).
    """

    threshold: float = DEFAULT_HIGHLIGHT_THRESHOLD
    gain: float = DEFAULT_HIGHLIGHT_GAIN

    def __post_init__(self) -> None:
        if not (0.0 <= self.threshold < 1.0):
            raise InputError("highlight threshold must be within 0..1")
        if not (math.isfinite(self.gain) and self.gain >= 0.0):
            raise InputError("highlight gain must be >= 0")


def quality_preset(name: str) -> QualityPreset:
    try:
        return QUALITY_PRESETS[name]
    except KeyError:
        raise InputError(
            f"unknown quality preset '{name}' (one of: {', '.join(QUALITY_PRESETS)})"
        ) from None
