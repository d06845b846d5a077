"""Flags shared by several commands (lens, depth, quality) and their conversion to models."""

from __future__ import annotations

import argparse
import math

from rackfocus_live.calibrate import CalibrationPoint, parse_point
from rackfocus_live.depth import DEFAULT_FAR_M, DEFAULT_NEAR_M, DEPTH_KINDS, DepthMapping
from rackfocus_live.depthcond import DepthConditioning
from rackfocus_live.errors import InputError
from rackfocus_live.lens import LensState, sensor_width_mm
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


def add_lens_arguments(parser: argparse.ArgumentParser, *, focus_required: bool) -> None:
    g = parser.add_argument_group("lens")
    g.add_argument("--focal-length", type=float, default=50.0, metavar="MM",
                   help="focal length in mm (default 50)")
    g.add_argument("--sensor-width", default="36", metavar="MM|PRESET",
                   help="sensor width in mm or a preset: full-frame, super35, aps-c, "
                        "micro-four-thirds, 1-inch (default 36)")
    g.add_argument("--f-stop", type=float, default=2.8, metavar="N", help="f-number (default 2.8)")
    g.add_argument("--focus", type=float, required=focus_required, default=None, metavar="M",
                   help="focus distance in metres")
    g.add_argument("--blades", type=int, default=0, metavar="N",
                   help="aperture blades; 0 = circular (default)")
    g.add_argument("--blade-rotation", type=float, default=0.0, metavar="DEG",
                   help="rotation of the blade polygon in degrees")
    g.add_argument("--squeeze", type=float, default=1.0, metavar="X",
                   help="anamorphic squeeze (1 = spherical; 1.33, 1.5, 2 for anamorphic)")
    g.add_argument("--no-breathing", action="store_true",
                   help="keep the pinhole field of view when focusing (CG cameras such as "
                        "Cycles); default is the textbook thin lens of real footage")


def add_depth_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("depth")
    g.add_argument("--depth-kind", choices=DEPTH_KINDS, default="metric",
                   help="metric (distance), disparity (inverse depth, near = bright, from depth "
                        "models) or normalized (0 = near, 1 = far)")
    g.add_argument("--depth-scale", type=float, default=None, metavar="S",
                   help="metres per unit for metric depth (default: 1 for float files, 0.001 "
                        "for 16-bit PNG in mm; TUM data: 0.0002)")
    g.add_argument("--near", type=float, default=None, metavar="M",
                   help=f"metres at the near end of relative depth (default {DEFAULT_NEAR_M:g})")
    g.add_argument("--far", type=float, default=None, metavar="M",
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
    g.add_argument("--highlight-threshold", type=float, default=DEFAULT_HIGHLIGHT_THRESHOLD,
                   metavar="T", help="display level above which clipped highlights are expanded")
    g.add_argument("--highlight-gain", type=float, default=DEFAULT_HIGHLIGHT_GAIN, metavar="G",
                   help="extra linear gain at full clip (0 disables)")


def highlight_from_args(args: argparse.Namespace) -> HighlightBoost:
    return HighlightBoost(args.highlight_threshold, args.highlight_gain)


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
