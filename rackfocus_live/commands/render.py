"""Render one still with depth of field, headless (standalone EGL context)."""

from __future__ import annotations

import argparse
import math
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
    add_lens_character_arguments,
    add_quality_argument,
    calibration_points,
    character_from_args,
    conditioning_from_args,
    depth_mapping_from_args,
    highlight_from_args,
    lens_from_args,
)
from rackfocus_live.depth import focus_at_pixel
from rackfocus_live.errors import InputError
from rackfocus_live.files import check_output
from rackfocus_live.media.exr import exr_size, is_exr, read_exr_depth, write_exr
from rackfocus_live.media.images import image_size, read_depth_raw, write_png
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
    add_lens_arguments(parser, focus_required=False)
    parser.add_argument("--focus-at", metavar="X,Y",
                        help="focus on the image pixel X,Y (from the top-left corner) as "
                        "click-to-focus does: the median depth around it; instead of --focus")
    add_depth_arguments(parser)
    add_depth_channel_argument(parser)
    add_quality_argument(parser)
    add_highlight_arguments(parser)
    add_lens_character_arguments(parser)
    add_colour_arguments(parser)


def parse_point(text: str) -> tuple[float, float]:
    """``X,Y`` (pixels) for --focus-at."""
    try:
        x, y = (float(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"--focus-at must look like 320,180 (pixels from the top-left), got "
                         f"'{text}'") from None
    if not (math.isfinite(x) and math.isfinite(y)):
        raise InputError(f"--focus-at must be finite pixel coordinates, got '{text}'")
    return x, y


def output_target(output: str, image: str, depth: str | None) -> tuple[Path, str]:
    """The output path and its kind ('png' or 'exr'), checked by the file-safety layer: never
    the image or the depth (also through a link). The one place this command decides where it
    may write."""
    kind = OUTPUT_KINDS.get(Path(output).suffix.lower())
    if kind is None:
        raise InputError("output must be a .png or .exr file", output)
    return check_output(output, {"image": image, "depth": depth}), kind


def still_size(path: str) -> tuple[int, int]:
    """(width, height) from the header, EXR or any image FFmpeg reads."""
    return exr_size(path) if is_exr(path) else image_size(path)


def read_depth_samples(path: str, channel: str | None) -> npt.NDArray[np.generic]:
    if is_exr(path):
        return read_exr_depth(path, channel)
    if channel is not None:
        raise InputError("--depth-channel applies to EXR depth only", path)
    return read_depth_raw(path)


def run(args: argparse.Namespace) -> int:
    if (args.focus is None) == (args.focus_at is None):
        raise InputError("say where to focus: --focus M (metres) or --focus-at X,Y (a pixel), "
                         "one of the two")
    point = parse_point(args.focus_at) if args.focus_at is not None else None
    lens = lens_from_args(args)  # with --focus-at, focused once the depth there is known
    mapping = depth_mapping_from_args(args)
    highlight = highlight_from_args(args)
    character = character_from_args(args)
    conditioning = conditioning_from_args(args)
    points = calibration_points(args)
    same = args.depth == "same"
    if same and not is_exr(args.image):
        raise InputError("--depth same needs an EXR image with a depth channel", args.image)
    depth_path = args.image if same else args.depth
    out, kind = output_target(args.output, args.image, None if same else args.depth)

    from rackfocus_live.calibrate import calibrate
    from rackfocus_live.depthcheck import depth_warnings
    from rackfocus_live.gpu.context import (
        GLUnavailableError,
        check_frame_size,
        create_headless_context,
    )
    from rackfocus_live.gpu.still import StillRenderer

    try:
        ctx = create_headless_context()
    except GLUnavailableError as exc:
        raise InputError(str(exc)) from None
    try:
        # Sizes from the headers first: a frame the GPU cannot take is refused before decoding.
        check_frame_size(ctx, still_size(args.image), args.image)
        if not same:
            check_frame_size(ctx, still_size(depth_path), depth_path)
        rgb = read_still_colour(args.image)
        float_input = rgb.dtype.kind == "f"
        plan = colour_plan_from_args(args, float_input=float_input)
        raw = read_depth_samples(depth_path, args.depth_channel)
        for warning in depth_warnings(raw, mapping):
            print(f"rackfocus-live render: warning: {depth_path}: {warning}", file=sys.stderr)
        inv_depth = mapping.to_inverse_depth(raw, source=depth_path)
        h, w = rgb.shape[:2]
        if points:
            mapping = calibrate(mapping, inv_depth, points, (w, h))
            inv_depth = mapping.to_inverse_depth(raw, source=depth_path)
            print(f"rackfocus-live render: calibrated {mapping.kind} depth: near "
                  f"{mapping.near:.3g} m, far {mapping.far:.3g} m", file=sys.stderr)
        if point is not None:
            if not (0 <= point[0] < w and 0 <= point[1] < h):
                raise InputError(f"--focus-at {args.focus_at} is outside the {w}x{h} image",
                                 args.image)
            focus = focus_at_pixel(np.asarray(inv_depth), point[0], point[1], (w, h))
            if focus is None:
                raise InputError(f"no valid depth around pixel {args.focus_at}", depth_path)
            lens = lens.with_focus(max(focus, lens.focal_length_m * 1.01))
            print(f"rackfocus-live render: focus at {args.focus_at}: {focus:.3f} m",
                  file=sys.stderr)
        if raw.shape != (h, w):
            dh, dw = raw.shape
            stretched = abs(dw / dh - w / h) >= 0.01
            note = " (aspect ratio differs: stretched to fit)" if stretched else ""
            print(f"rackfocus-live render: warning: {depth_path}: depth is {dw}x{dh}, image is "
                  f"{w}x{h}; depth resampled to the image on the GPU{note}", file=sys.stderr)
        # Scene-linear path whenever colour is managed (float plates, a named input space, EXR
        # out); otherwise the display-encoded path, byte for byte.
        managed = float_input or plan.input_space is not None or kind == "exr"
        colour = plan.to_working(rgb) if (float_input or plan.input_space is not None) else rgb
        renderer = StillRenderer(ctx, quality=args.quality, conditioning=conditioning,
                                 linear_output=managed)
        try:
            true_light = float_input or (plan.input_space is not None
                                         and holds_highlights(plan.input_space))
            renderer.upload(colour, inv_depth, true_light=true_light)
            linear = renderer.render_linear(lens, highlight, character) if managed else None
            display = None if managed else renderer.render(lens, highlight, character)
        finally:
            renderer.release()
    finally:
        ctx.release()
    if linear is not None and kind == "exr":
        write_exr(out, plan.from_working(linear), half=not args.exr_float32,
                  compression=args.exr_compression)
    elif linear is not None:
        write_png(out, plan.display_8bit(linear))
    elif display is not None:
        write_png(out, display)
    return 0
