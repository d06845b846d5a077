"""Render one still with depth of field, headless (standalone EGL context)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt

from rackfocus_live.colour import holds_highlights
from rackfocus_live.commands.colour_args import (
    add_colour_arguments,
    add_depth_channel_argument,
    colour_plan_from_args,
)
from rackfocus_live.commands.common import (
    add_depth_arguments,
    add_highlight_arguments,
    add_lens_arguments,
    add_quality_argument,
    depth_mapping_from_args,
    highlight_from_args,
    lens_from_args,
)
from rackfocus_live.errors import InputError
from rackfocus_live.media.exr import is_exr, read_exr_depth, write_exr
from rackfocus_live.media.images import read_depth_raw, write_png
from rackfocus_live.media.plates import read_still_colour

#: Output suffixes and what each holds: display-encoded 8-bit, or scene-linear float.
OUTPUT_KINDS = {".png": "png", ".exr": "exr"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--image", required=True, metavar="IMG",
                        help="all-in-focus colour image (PNG, JPEG, TIFF, or a float EXR plate)")
    parser.add_argument("--depth", required=True, metavar="DEPTH",
                        help="depth image (EXR, PNG), or 'same' for a depth channel of the EXR")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.png|OUT.exr",
                        help="output: PNG (display view, 8-bit) or EXR (linear float, half "
                             "by default, values above 1.0 kept)")
    add_lens_arguments(parser, focus_required=True)
    add_depth_arguments(parser)
    add_depth_channel_argument(parser)
    add_quality_argument(parser)
    add_highlight_arguments(parser)
    add_colour_arguments(parser)


def output_target(output: str, inputs: list[str]) -> tuple[Path, str]:
    """The output path and its kind ('png' or 'exr'): refused when its folder is missing or it
    names one of the inputs. The one place this command decides where it may write."""
    out = Path(output)
    kind = OUTPUT_KINDS.get(out.suffix.lower())
    if kind is None:
        raise InputError("output must be a .png or .exr file", out)
    if not (out.parent if str(out.parent) else Path(".")).is_dir():
        raise InputError("output folder does not exist", out.parent)
    for src in inputs:
        if Path(src).exists() and out.exists() and out.resolve() == Path(src).resolve():
            raise InputError("output would overwrite an input", out)
    return out, kind


def run(args: argparse.Namespace) -> int:
    lens = lens_from_args(args)
    mapping = depth_mapping_from_args(args)
    highlight = highlight_from_args(args)
    same = args.depth == "same"
    out, kind = output_target(args.output, [args.image] + ([] if same else [args.depth]))

    rgb = read_still_colour(args.image)
    float_input = rgb.dtype.kind == "f"
    plan = colour_plan_from_args(args, float_input=float_input)
    depth_path = args.image if same else args.depth
    if same and not is_exr(args.image):
        raise InputError("--depth same needs an EXR image with a depth channel", args.image)
    raw: npt.NDArray[np.generic]
    if is_exr(depth_path):
        raw = read_exr_depth(depth_path, args.depth_channel)
    else:
        if args.depth_channel is not None:
            raise InputError("--depth-channel applies to EXR depth only", depth_path)
        raw = read_depth_raw(depth_path)
    inv_depth = mapping.to_inverse_depth(raw, source=depth_path)
    h, w = rgb.shape[:2]
    if raw.shape != (h, w):
        dh, dw = raw.shape
        note = "" if abs(dw / dh - w / h) < 0.01 else " (aspect ratio differs: stretched to fit)"
        print(f"rackfocus-live render: warning: {depth_path}: depth is {dw}x{dh}, image is "
              f"{w}x{h}; depth resampled to the image on the GPU{note}", file=sys.stderr)
    # Scene-linear path whenever colour is managed (float plates, a named input space, EXR out);
    # otherwise today's display-encoded path, byte for byte.
    managed = float_input or plan.input_space is not None or kind == "exr"
    colour = plan.to_working(rgb) if (float_input or plan.input_space is not None) else rgb

    from rackfocus_live.gpu.context import GLUnavailableError, create_headless_context
    from rackfocus_live.gpu.still import StillRenderer

    try:
        ctx = create_headless_context()
    except GLUnavailableError as exc:
        raise InputError(str(exc)) from None
    renderer = StillRenderer(ctx, quality=args.quality, linear_output=managed)
    try:
        true_light = float_input or (plan.input_space is not None
                                     and holds_highlights(plan.input_space))
        renderer.upload(colour, inv_depth, true_light=true_light)
        linear = renderer.render_linear(lens, highlight) if managed else None
        display = None if managed else renderer.render(lens, highlight)
    finally:
        renderer.release()
        ctx.release()
    if linear is not None and kind == "exr":
        write_exr(out, plan.from_working(linear), half=not args.exr_float32,
                  compression=args.exr_compression)
    elif linear is not None:
        write_png(out, plan.display_8bit(linear))
    elif display is not None:
        write_png(out, display)
    return 0
