"""Render one still with depth of field, headless (standalone EGL context)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rackfocus_live.commands.common import (
    add_depth_arguments,
    add_highlight_arguments,
    add_lens_arguments,
    add_quality_argument,
    calibration_points,
    conditioning_from_args,
    depth_mapping_from_args,
    highlight_from_args,
    lens_from_args,
)
from rackfocus_live.errors import InputError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--image", required=True, metavar="IMG", help="all-in-focus colour image")
    parser.add_argument("--depth", required=True, metavar="DEPTH", help="depth image (EXR, PNG)")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.png", help="output PNG")
    add_lens_arguments(parser, focus_required=True)
    add_depth_arguments(parser)
    add_quality_argument(parser)
    add_highlight_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from rackfocus_live.media.images import read_depth_raw, read_rgb, write_png

    lens = lens_from_args(args)
    mapping = depth_mapping_from_args(args)
    highlight = highlight_from_args(args)
    out = Path(args.output)
    if out.suffix.lower() != ".png":
        raise InputError("output must be a .png file", out)
    if not (out.parent if str(out.parent) else Path(".")).is_dir():
        raise InputError("output folder does not exist", out.parent)

    from rackfocus_live.calibrate import calibrate
    from rackfocus_live.depthcheck import depth_warnings

    conditioning = conditioning_from_args(args)
    points = calibration_points(args)
    rgb = read_rgb(args.image)
    raw = read_depth_raw(args.depth)
    for warning in depth_warnings(raw, mapping):
        print(f"rackfocus-live render: warning: {args.depth}: {warning}", file=sys.stderr)
    inv_depth = mapping.to_inverse_depth(raw, source=args.depth)
    h, w = rgb.shape[:2]
    if points:
        mapping = calibrate(mapping, inv_depth, points, (w, h))
        inv_depth = mapping.to_inverse_depth(raw, source=args.depth)
        print(f"rackfocus-live render: calibrated {mapping.kind} depth: near {mapping.near:.3g} m, "
              f"far {mapping.far:.3g} m", file=sys.stderr)
    if raw.shape != (h, w):
        dh, dw = raw.shape
        note = "" if abs(dw / dh - w / h) < 0.01 else " (aspect ratio differs: stretched to fit)"
        print(f"rackfocus-live render: warning: {args.depth}: depth is {dw}x{dh}, image is "
              f"{w}x{h}; depth resampled to the image on the GPU{note}", file=sys.stderr)

    from rackfocus_live.gpu.context import GLUnavailableError, create_headless_context
    from rackfocus_live.gpu.still import StillRenderer

    try:
        ctx = create_headless_context()
    except GLUnavailableError as exc:
        raise InputError(str(exc)) from None
    renderer = StillRenderer(ctx, quality=args.quality, conditioning=conditioning)
    try:
        renderer.upload(rgb, inv_depth)
        result = renderer.render(lens, highlight)
    finally:
        renderer.release()
        ctx.release()
    write_png(out, result)
    return 0
