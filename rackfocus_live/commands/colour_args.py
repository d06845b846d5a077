"""Flags for colour management and float plates (OCIO spaces, display view, EXR depth channel),
shared by render and export, and their conversion to a ``ColourPlan``."""

from __future__ import annotations

import argparse

from rackfocus_live.colour import (
    DEFAULT_DISPLAY,
    DEFAULT_VIEW,
    SHORT_NAMES,
    ColourPlan,
    plan_from_names,
)
from rackfocus_live.media.exr import DEPTH_CHANNELS, EXR_COMPRESSIONS


def add_colour_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("colour (OpenColorIO studio config)")
    short = ", ".join(SHORT_NAMES)
    g.add_argument("--input-space", default=None, metavar="SPACE",
                   help="colour space of the clip or image: " + short + ", or any OCIO name. "
                        "Default: linear Rec.709 for EXR, the file's own tags for video, sRGB "
                        "for other images")
    g.add_argument("--output-space", default=None, metavar="SPACE",
                   help="colour space of EXR output (default: the input space for EXR plates, "
                        "linear Rec.709 otherwise)")
    g.add_argument("--display", default=None, metavar="NAME",
                   help=f"OCIO display for PNG and video output (default {DEFAULT_DISPLAY!r})")
    g.add_argument("--view", default=None, metavar="NAME",
                   help=f"OCIO view for PNG and video output (default {DEFAULT_VIEW!r}: plain "
                        "sRGB; e.g. 'ACES 2.0 - SDR 100 nits (Rec.709)' for the ACES look)")
    g.add_argument("--exr-float32", action="store_true",
                   help="write 32-bit float EXR colour (default: half float)")
    g.add_argument("--exr-compression", choices=list(EXR_COMPRESSIONS), default="zip",
                   help="EXR compression: zip (default, lossless), piz (lossless, faster to "
                        "write, smaller on grain), dwaa (lossy), none")


def add_depth_channel_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--depth-channel", default=None, metavar="NAME",
                        help="EXR channel holding depth (default: the first of "
                             f"{', '.join(DEPTH_CHANNELS)}); with --depth same it is read from "
                             "the clip's own EXR files")


def colour_plan_from_args(args: argparse.Namespace, *, float_input: bool) -> ColourPlan:
    """The plan the flags describe. Float (EXR) input defaults to linear Rec.709, and its EXR
    output to the input's own space, so a plate goes back out in the space it came in."""
    input_space = args.input_space or ("linear" if float_input else None)
    plan = plan_from_names(input_space, args.output_space, args.display, args.view)
    if plan.output_space is None and float_input:
        plan = ColourPlan(plan.input_space, plan.input_space, plan.display, plan.view)
    return plan
