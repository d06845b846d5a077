"""Render one still with depth of field, headless (standalone EGL context)."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--image", required=True, metavar="IMG", help="all-in-focus colour image")
    parser.add_argument("--depth", required=True, metavar="DEPTH", help="depth image (EXR, PNG)")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.png", help="output PNG")
    add_lens_arguments(parser, focus_required=False)
    parser.add_argument("--focus-at", metavar="X,Y",
                        help="focus on the image pixel X,Y (from the top-left corner) as "
                        "click-to-focus does: the median depth around it; instead of --focus")
    add_depth_arguments(parser)
    add_quality_argument(parser)
    add_highlight_arguments(parser)
    add_lens_character_arguments(parser)


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


def run(args: argparse.Namespace) -> int:
    from rackfocus_live.media.images import image_size, read_depth_raw, read_rgb, write_png

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
    if Path(args.output).suffix.lower() != ".png":
        raise InputError("output must be a .png file", args.output)
    out = check_output(args.output, {"image": args.image, "depth": args.depth})

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
        check_frame_size(ctx, image_size(args.image), args.image)
        check_frame_size(ctx, image_size(args.depth), args.depth)
        rgb = read_rgb(args.image)
        raw = read_depth_raw(args.depth)
        for warning in depth_warnings(raw, mapping):
            print(f"rackfocus-live render: warning: {args.depth}: {warning}", file=sys.stderr)
        inv_depth = mapping.to_inverse_depth(raw, source=args.depth)
        h, w = rgb.shape[:2]
        if points:
            mapping = calibrate(mapping, inv_depth, points, (w, h))
            inv_depth = mapping.to_inverse_depth(raw, source=args.depth)
            print(f"rackfocus-live render: calibrated {mapping.kind} depth: near "
                  f"{mapping.near:.3g} m, far {mapping.far:.3g} m", file=sys.stderr)
        if point is not None:
            if not (0 <= point[0] < w and 0 <= point[1] < h):
                raise InputError(f"--focus-at {args.focus_at} is outside the {w}x{h} image",
                                 args.image)
            focus = focus_at_pixel(np.asarray(inv_depth), point[0], point[1], (w, h))
            if focus is None:
                raise InputError(f"no valid depth around pixel {args.focus_at}", args.depth)
            lens = lens.with_focus(max(focus, lens.focal_length_m * 1.01))
            print(f"rackfocus-live render: focus at {args.focus_at}: {focus:.3f} m",
                  file=sys.stderr)
        if raw.shape != (h, w):
            dh, dw = raw.shape
            stretched = abs(dw / dh - w / h) >= 0.01
            note = " (aspect ratio differs: stretched to fit)" if stretched else ""
            print(f"rackfocus-live render: warning: {args.depth}: depth is {dw}x{dh}, image is "
                  f"{w}x{h}; depth resampled to the image on the GPU{note}", file=sys.stderr)
        renderer = StillRenderer(ctx, quality=args.quality, conditioning=conditioning)
        try:
            renderer.upload(rgb, inv_depth)
            result = renderer.render(lens, highlight, character)
        finally:
            renderer.release()
    finally:
        ctx.release()
    write_png(out, result)
    return 0
