"""Colour management through OpenColorIO: input spaces, the scene-linear working space, output
spaces and display views. Pure numpy + PyOpenColorIO (CPU processors); no GL.

The depth of field is computed in one scene-linear working space, linear Rec.709 (sRGB
primaries), because blur is a sum of light: it is only physical on linear values. Plates in any
other space (ACEScg, ACES2065-1, camera log) are converted into it on the way in, and out of it
into the chosen output space (EXR) or through an OCIO display view (PNG, video).

The config is OCIO's built-in studio config (``ocio://studio-config-latest``): ACES spaces,
common camera log curves and display views, with no file to ship or find. Any colour space name or
alias of that config is accepted; the short names in ``SHORT_NAMES`` are conveniences.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import PyOpenColorIO as ocio  # noqa: N813 (the name OCIO documents)

from rackfocus_live.errors import InputError

CONFIG_URI = "ocio://studio-config-latest"
#: The DOF's working space (scene-linear, Rec.709 primaries, D65).
WORKING_SPACE = "Linear Rec.709 (sRGB)"
DEFAULT_DISPLAY = "sRGB - Display"
#: The plain sRGB encoding of linear Rec.709: what the preview shows, and today's PNG output.
DEFAULT_VIEW = "Un-tone-mapped"

#: Short names for the spaces users name most; everything else goes by its OCIO name or alias.
SHORT_NAMES: dict[str, str] = {
    "srgb": "sRGB Encoded Rec.709 (sRGB)",
    "rec709": "Camera Rec.709",
    "linear": "Linear Rec.709 (sRGB)",
    "lin_rec709": "Linear Rec.709 (sRGB)",
    "lin_srgb": "Linear Rec.709 (sRGB)",
    "lin_rec2020": "Linear Rec.2020",
    "acescg": "ACEScg",
    "aces2065-1": "ACES2065-1",
    "aces": "ACES2065-1",
    "acescct": "ACEScct",
    "acescc": "ACEScc",
    "logc3": "ARRI LogC3 (EI800)",
    "logc4": "ARRI LogC4",
    "slog3": "S-Log3 S-Gamut3",
    "slog3cine": "S-Log3 S-Gamut3.Cine",
    "vlog": "V-Log V-Gamut",
    "log3g10": "Log3G10 REDWideGamutRGB",
    "canonlog3": "CanonLog3 CinemaGamut D55",
    "dlog": "D-Log D-Gamut",
    "applelog": "Apple Log",
    "bmdfilm5": "BMDFilm WideGamut Gen5",
    "davinci": "DaVinci Intermediate WideGamut",
}


@functools.cache
def config() -> ocio.Config:
    """The built-in studio config (loaded once; OCIO configs are immutable once built)."""
    return ocio.Config.CreateFromFile(CONFIG_URI)


def resolve_space(name: str, what: str = "colour space") -> str:
    """The config's colour space name for a short name, OCIO name or alias (case-insensitive).

    Raises:
        InputError: unknown name (one line, with the short names to choose from).
    """
    key = name.strip()
    canonical = SHORT_NAMES.get(key.lower().replace(" ", "").replace("_", "").replace(".", ""),
                                SHORT_NAMES.get(key.lower()))
    space = config().getColorSpace(canonical or key)
    if space is None:
        raise InputError(f"unknown {what} {name!r}; use one of {', '.join(SHORT_NAMES)} "
                         "or an OCIO studio-config name (e.g. 'ACEScg')")
    return str(space.getName())


def is_scene_linear(space: str) -> bool:
    """True for spaces whose values are linear scene light (no curve to undo before blurring)."""
    cs = config().getColorSpace(space)
    return cs is not None and cs.getEncoding() == "scene-linear"


def holds_highlights(space: str) -> bool:
    """True for scene-linear and camera-log spaces: highlights far above display white are in
    the data, so no clipped-highlight re-expansion is wanted (unlike sRGB or Rec.709 video)."""
    cs = config().getColorSpace(space)
    return cs is not None and cs.getEncoding() in ("scene-linear", "log")


@functools.cache
def _cpu(src: str, dst: str) -> ocio.CPUProcessor:
    return config().getProcessor(src, dst).getDefaultCPUProcessor()


@functools.cache
def _display_cpu(src: str, display: str, view: str) -> ocio.CPUProcessor:
    proc = config().getProcessor(src, display, view, ocio.TRANSFORM_DIR_FORWARD)
    return proc.getDefaultCPUProcessor()


def convert(rgb: npt.NDArray[np.floating], src: str, dst: str) -> npt.NDArray[np.float32]:
    """HxWx3 float colour from one space of the config to another (a new float32 array)."""
    out = np.array(rgb, dtype=np.float32, order="C", copy=True)
    if src != dst:
        _cpu(src, dst).applyRGB(out)
    return out


def check_view(display: str, view: str) -> tuple[str, str]:
    """The display and view, validated against the config (one-line InputError otherwise)."""
    cfg = config()
    displays = list(cfg.getDisplays())
    if display not in displays:
        raise InputError(f"unknown display {display!r}; the config has {', '.join(displays)}")
    views = list(cfg.getViews(display))
    if view not in views:
        raise InputError(f"display {display!r} has no view {view!r}; it has {', '.join(views)}")
    return display, view


def to_display(
    rgb: npt.NDArray[np.floating], src: str, display: str = DEFAULT_DISPLAY,
    view: str = DEFAULT_VIEW,
) -> npt.NDArray[np.float32]:
    """Scene colour through an OCIO display view: display-encoded float HxWx3 (0..1 on SDR)."""
    out = np.array(rgb, dtype=np.float32, order="C", copy=True)
    _display_cpu(src, *check_view(display, view)).applyRGB(out)
    return out


def quantize8(display_rgb: npt.NDArray[np.floating]) -> npt.NDArray[np.uint8]:
    """Display-encoded float (0..1) to 8-bit, rounded, clipped."""
    scaled = np.clip(np.nan_to_num(display_rgb, nan=0.0), 0.0, 1.0) * 255.0 + 0.5
    return scaled.astype(np.uint8)


@dataclass(frozen=True)
class ColourPlan:
    """How one clip's colour travels: its input space, and where the result goes.

    ``input_space`` None means "today's behaviour": display-encoded video or stills decoded by
    the renderer's own sRGB / YUV path, not through OCIO.
    """

    input_space: str | None = None
    output_space: str | None = None
    display: str = DEFAULT_DISPLAY
    view: str = DEFAULT_VIEW

    def to_working(self, rgb: npt.NDArray[np.generic]) -> npt.NDArray[np.float32]:
        """Decoded pixels (float, or integer normalised to 0..1) into the working space."""
        src = self.input_space or SHORT_NAMES["srgb"]
        arr = np.asarray(rgb)
        if np.issubdtype(arr.dtype, np.integer):
            arr = arr.astype(np.float32) / float(np.iinfo(arr.dtype).max)
        return convert(arr, src, WORKING_SPACE)

    def from_working(self, rgb: npt.NDArray[np.floating]) -> npt.NDArray[np.float32]:
        """Working-space light into the output space (for EXR output)."""
        return convert(rgb, WORKING_SPACE, self.output_space or WORKING_SPACE)

    def display_8bit(self, rgb: npt.NDArray[np.floating]) -> npt.NDArray[np.uint8]:
        """Working-space light through the display view, 8-bit (for PNG and video output)."""
        return quantize8(to_display(rgb, WORKING_SPACE, self.display, self.view))


def plan_from_names(
    input_space: str | None, output_space: str | None, display: str | None, view: str | None
) -> ColourPlan:
    """A validated ColourPlan from user-given names (None: the default for each)."""
    ins = resolve_space(input_space, "input colour space") if input_space else None
    outs = resolve_space(output_space, "output colour space") if output_space else None
    disp, v = check_view(display or DEFAULT_DISPLAY, view or DEFAULT_VIEW)
    return ColourPlan(ins, outs, disp, v)
