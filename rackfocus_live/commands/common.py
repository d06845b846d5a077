"""Flags shared by several commands (lens, depth, quality) and their conversion to models."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path

from rackfocus_live.calibrate import CalibrationPoint, parse_point
from rackfocus_live.depth import DEFAULT_FAR_M, DEFAULT_NEAR_M, DEPTH_KINDS, DepthMapping
from rackfocus_live.depthcond import DepthConditioning
from rackfocus_live.errors import InputError
from rackfocus_live.lens import LensState, sensor_width_mm
from rackfocus_live.lens_character import LensCharacter
from rackfocus_live.settings import (
    DEFAULT_HIGHLIGHT_GAIN,
    DEFAULT_HIGHLIGHT_THRESHOLD,
    HighlightBoost,
)

#: Lens flags (argparse dest) and the LensState field each sets.
LENS_FLAG_FIELDS = {
    "focal_length": "focal_length_mm",
    "f_stop": "f_stop",
    "sensor_width": "sensor_width_mm",
    "focus": "focus_m",
    "blades": "blades",
    "blade_rotation": "blade_rotation_deg",
    "squeeze": "squeeze",
}
#: Depth flags (argparse dest) and the DepthMapping field each sets.
DEPTH_FLAG_FIELDS = {"depth_kind": "kind", "depth_scale": "scale", "near": "near", "far": "far"}


def number_in(lo: float, hi: float, unit: str = "", *,
              allow_inf: bool = False) -> Callable[[str], float]:
    """An argparse ``type`` for a finite number within [lo, hi] (``inf`` too with allow_inf):
    argparse then names the flag in its one-line error, before any file is opened."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: '{text}'") from None
        if math.isinf(value) and value > 0 and allow_inf:
            return value
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, got '{text}'")
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"must be within {lo:g}..{hi:g}{unit}, got '{text}'")
        return value

    return parse


def angle_deg(text: str) -> float:
    """An argparse ``type`` for an angle: any finite number of degrees, wrapped into [0, 360)
    (the shaders work in float32, where 1e300 degrees would be no angle at all)."""
    value = number_in(-math.inf, math.inf)(text)
    return math.fmod(value, 360.0) % 360.0


def add_lens_arguments(parser: argparse.ArgumentParser, *, focus_required: bool) -> None:
    g = parser.add_argument_group("lens")
    g.add_argument("--focal-length", type=number_in(1.0, 5000.0, " mm"), default=50.0,
                   metavar="MM", help="focal length in mm (default 50)")
    g.add_argument("--sensor-width", default="36", metavar="MM|PRESET",
                   help="sensor width in mm or a preset: full-frame, super35, aps-c, "
                        "micro-four-thirds, 1-inch (default 36)")
    g.add_argument("--f-stop", type=number_in(0.5, 256.0), default=2.8, metavar="N",
                   help="f-number (default 2.8)")
    g.add_argument("--focus", type=number_in(1e-3, 1e6, " m"), required=focus_required,
                   default=None, metavar="M", help="focus distance in metres")
    g.add_argument("--blades", type=int, default=0, metavar="N",
                   help="aperture blades; 0 = circular (default)")
    g.add_argument("--blade-rotation", type=angle_deg, default=0.0, metavar="DEG",
                   help="rotation of the blade polygon in degrees (taken modulo 360)")
    g.add_argument("--squeeze", type=number_in(0.25, 4.0), default=1.0, metavar="X",
                   help="anamorphic squeeze (1 = spherical; 1.33, 1.5, 2 for anamorphic)")
    g.add_argument("--no-breathing", action="store_true",
                   help="keep the pinhole field of view when focusing (CG cameras such as "
                        "Cycles); default is the textbook thin lens of real footage")


def add_depth_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("depth")
    g.add_argument("--depth-kind", choices=DEPTH_KINDS, default="metric",
                   help="metric (distance), disparity (inverse depth, near = bright, from depth "
                        "models) or normalized (0 = near, 1 = far)")
    g.add_argument("--depth-scale", type=number_in(1e-12, 1e12), default=None, metavar="S",
                   help="metres per unit for metric depth (default: 1 for float files, 0.001 "
                        "for 16-bit PNG in mm; TUM data: 0.0002)")
    g.add_argument("--near", type=number_in(1e-4, 1e7, " m"), default=None, metavar="M",
                   help=f"metres at the near end of relative depth (default {DEFAULT_NEAR_M:g})")
    g.add_argument("--far", type=number_in(1e-4, 1e7, " m", allow_inf=True), default=None,
                   metavar="M",
                   help=f"metres at the far end of relative depth (default {DEFAULT_FAR_M:g}; "
                        "'inf' allowed for disparity)")
    g.add_argument("--calibrate", action="append", default=[], metavar="X,Y=M",
                   help="a pixel of the frame and its true distance in metres; two of them "
                        "solve --near/--far of relative depth (repeat the flag)")
    g.add_argument("--refine-depth", action=argparse.BooleanOptionalAction, default=True,
                   help="snap depth edges to the colour edges and clean noise (default on)")
    g.add_argument("--stabilise-depth", action=argparse.BooleanOptionalAction, default=None,
                   help="remove per-frame drift of relative depth videos (default: on for "
                        "disparity and normalized depth that changes per frame)")


def conditioning_from_args(args: argparse.Namespace) -> DepthConditioning:
    return DepthConditioning(refine=bool(getattr(args, "refine_depth", True)),
                             stabilise=getattr(args, "stabilise_depth", None))


def calibration_points(args: argparse.Namespace) -> list[CalibrationPoint]:
    return [parse_point(text) for text in getattr(args, "calibrate", None) or []]


def add_quality_argument(parser: argparse.ArgumentParser) -> None:
    from rackfocus_live.settings import QUALITY_PRESETS

    parser.add_argument("--quality", choices=list(QUALITY_PRESETS), default="default",
                        help="sample-count preset of the bokeh gather (default: default)")


def lens_from_args(args: argparse.Namespace) -> LensState:
    """The lens the flags describe, LensState's defaults for what they leave out."""
    return LensState(**lens_overrides(args))  # type: ignore[arg-type]


def depth_mapping_from_args(args: argparse.Namespace) -> DepthMapping:
    return DepthMapping(
        kind=args.depth_kind,
        scale=args.depth_scale,
        near=args.near if args.near is not None else DEFAULT_NEAR_M,
        far=args.far if args.far is not None else DEFAULT_FAR_M,
    )


def add_highlight_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("highlights")
    g.add_argument("--highlight-threshold", type=number_in(0.0, 1.0),
                   default=DEFAULT_HIGHLIGHT_THRESHOLD,
                   metavar="T", help="display level above which clipped highlights are expanded")
    g.add_argument("--highlight-gain", type=number_in(0.0, 1000.0),
                   default=DEFAULT_HIGHLIGHT_GAIN, metavar="G",
                   help="extra linear gain at full clip (0 disables)")


def highlight_from_args(args: argparse.Namespace) -> HighlightBoost:
    return HighlightBoost(args.highlight_threshold, args.highlight_gain)


def add_lens_character_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("lens character (each off by default)")
    g.add_argument("--cat-eye", type=float, default=0.0, metavar="S",
                   help="optical vignetting: bokeh clipped into cat's eyes towards the frame "
                        "edges, strength 0..1 at the corner (default 0, off)")
    g.add_argument("--axial-ca", type=float, default=0.0, metavar="PX",
                   help="axial chromatic aberration: red/blue CoC diameter offset in px, red "
                        "rims behind the focus plane and blue in front (default 0, off)")
    g.add_argument("--aperture-image", type=Path, default=None, metavar="PNG",
                   help="custom aperture: an image of the iris, bright = open (replaces "
                        "--blades)")


def character_from_args(args: argparse.Namespace) -> LensCharacter:
    """The lens character the flags describe; InputError naming the flag or the file."""
    for flag in ("cat_eye", "axial_ca"):
        if not math.isfinite(getattr(args, flag)):
            raise InputError(f"--{flag.replace('_', '-')} must be a finite number")
    character = LensCharacter(cat_eye=args.cat_eye, axial_ca_px=args.axial_ca)
    if args.aperture_image is not None:
        # Loaded only when asked for: it brings the image decoder (PyAV) into the CLI.
        from rackfocus_live.aperture_image import with_aperture_image

        character = with_aperture_image(character, args.aperture_image)
    return character


def lens_overrides(args: argparse.Namespace) -> dict[str, object]:
    """LensState fields the user set on the command line (flags left at None are not set).

    Non-finite numbers are refused here, naming the flag: LensState's own range checks would call
    ``--focus inf`` a focus "<= 0"."""
    out: dict[str, object] = {}
    for flag, name in LENS_FLAG_FIELDS.items():
        value = getattr(args, flag, None)
        if value is None:
            continue
        if isinstance(value, float) and not math.isfinite(value):
            raise InputError(f"--{flag.replace('_', '-')} must be a finite number")
        out[name] = sensor_width_mm(str(value)) if flag == "sensor_width" else value
    if getattr(args, "no_breathing", None):
        out["focus_breathing"] = False
    return out
