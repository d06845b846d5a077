"""Open the preview window on a clip and its depth (the bundled demo when no clip is given).

Lens flags override the lens of your last session (or the demo's camera); anything not given
keeps it. Files are checked before the window opens: a bad clip, depth or pull is one error
line and exit code 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rackfocus_live.colour import DEFAULT_DISPLAY, DEFAULT_VIEW, check_view, plan_from_names
from rackfocus_live.commands.colour_args import add_depth_channel_argument
from rackfocus_live.commands.common import (
    LENS_FLAG_FIELDS,
    add_depth_arguments,
    add_lens_arguments,
    add_lens_character_arguments,
    add_quality_argument,
    character_from_args,
    depth_mapping_from_args,
    lens_overrides,
)
from rackfocus_live.depth import DepthMapping
from rackfocus_live.errors import InputError
from rackfocus_live.lens import LensState
from rackfocus_live.media.exr import is_exr
from rackfocus_live.media.sequence import ClipOptions, is_pattern, parse_fps

if TYPE_CHECKING:
    from rackfocus_live.ui.app import App



def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("clip", nargs="?", metavar="CLIP",
                        help="video clip or image sequence (plate.####.exr, at 24 fps) "
                             "(default: the bundled demo)")
    parser.add_argument("--depth", metavar="DEPTH",
                        help="depth video, image sequence pattern (depth_%%05d.png) or still, "
                             "or 'same' for the clip's EXR depth channel; "
                             "default: CLIP_depth.* next to the clip")
    parser.add_argument("--keys", metavar="PULL.json", help="focus pull (keyframe file) to play")
    parser.add_argument("--fps", default=None, metavar="RATE",
                        help="frame rate of an image-sequence clip (default 24)")
    add_depth_channel_argument(parser)
    parser.add_argument("--input-space", default=None, metavar="SPACE",
                        help="colour space of the clip (acescg, logc3, srgb, ... or an OCIO "
                             "name; default: linear Rec.709 for EXR, the video's own tags)")
    parser.add_argument("--display", default=None, metavar="NAME",
                        help="OCIO display the picture is shown on (default 'sRGB - Display')")
    parser.add_argument("--view", default=None, metavar="NAME",
                        help="OCIO view of the picture (default 'Un-tone-mapped': plain sRGB; "
                             "e.g. 'ACES 2.0 - SDR 100 nits (Rec.709)')")
    add_lens_arguments(parser, focus_required=False)
    add_depth_arguments(parser)
    add_quality_argument(parser)
    add_lens_character_arguments(parser)
    parser.add_argument("--window", metavar="WxH", help="window size, e.g. 1600x900")
    parser.add_argument("--no-save-settings", action="store_true",
                        help="do not remember this session's lens and window size")
    parser.add_argument("--screenshot", metavar="OUT.png",
                        help="draw the window once at --frame and save it as a PNG, then exit")
    parser.add_argument("--frame", type=int, default=0, metavar="N",
                        help="frame to show first (and to capture with --screenshot)")
    # None = "not given": the lens then comes from the last session or the demo's camera.
    parser.set_defaults(quality=None, no_breathing=None, **dict.fromkeys(LENS_FLAG_FIELDS))


def demo_dir() -> Path | None:
    """The bundled demo's folder: installed package data, or the repository's ``assets/``."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "assets", here.parent / "assets"):
        if (candidate / "demo.json").is_file():
            return candidate
    return None


@dataclasses.dataclass
class Demo:
    clip: Path
    depth: Path
    keys: Path | None
    lens: LensState
    mapping: DepthMapping


def load_demo() -> Demo:
    folder = demo_dir()
    if folder is None:
        raise InputError("the bundled demo is missing; generate it with "
                         "'python assets/make_demo.py' in the repository")
    meta_path = folder / "demo.json"
    try:
        meta = json.loads(meta_path.read_text())
        cam, dm, sug = meta["camera"], meta["depth_mapping"], meta["suggested_lens"]
        lens = LensState(
            focal_length_mm=float(cam["focal_length_mm"]), f_stop=float(sug["f_stop"]),
            sensor_width_mm=float(cam["sensor_width_mm"]), focus_m=float(sug["focus_m"]),
            focus_breathing=bool(cam["focus_breathing"]),
        )
        mapping = DepthMapping(kind=dm["kind"], scale=dm["scale"], near=dm["near"],
                               far=dm["far"])
        keys = folder / "demo_pull.json"
        return Demo(folder / meta["clip"], folder / meta["depth"],
                    keys if keys.is_file() else None, lens, mapping)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"bundled demo description is damaged ({exc})", meta_path) from None


def _window_size(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise InputError(f"--window must look like 1600x900, got '{text}'") from None
    if not (200 <= w <= 16384 and 200 <= h <= 16384):
        raise InputError("--window sizes must be within 200..16384")
    return w, h


def run(args: argparse.Namespace) -> int:
    from rackfocus_live.media.probe import clip_warnings
    from rackfocus_live.media.sequence import open_clip_depth, probe_media
    from rackfocus_live.timeline.keyfile import load_pull

    overrides = lens_overrides(args)
    window = _window_size(args.window)
    depth: Path | None  # the demo brings its depth; a clip may have none beside it
    if args.clip is None:
        demo = load_demo()
        clip, depth, keys = demo.clip, demo.depth, demo.keys
        mapping = demo.mapping
        base_lens: LensState | None = demo.lens
        if args.depth is not None:
            raise InputError("--depth needs a CLIP (the demo brings its own depth)")
        if args.keys is not None:
            keys = Path(args.keys)
    else:
        from rackfocus_live.ui.files import sibling_depth

        clip = Path(args.clip)
        depth = Path(args.depth) if args.depth else sibling_depth(clip)
        if args.depth == "same":
            depth = Path("same")  # the clip's own EXR depth channel (Z, depth.Z, ...)
        keys = Path(args.keys) if args.keys else None
        mapping = depth_mapping_from_args(args)
        base_lens = None
    # Check everything before a window appears (one line and exit 2 for a bad file).
    options = clip_options_from_args(args, clip)
    view = check_view(args.display or DEFAULT_DISPLAY, args.view or DEFAULT_VIEW)
    info = probe_media(clip, fps=options.fps, plan=options.colour)
    for warning in clip_warnings(info):
        print(f"rackfocus-live: warning: {info.path}: {warning}", file=sys.stderr)
    if depth is not None:
        open_clip_depth(depth, options.depth_channel, mapping, info)
    else:
        print(f"rackfocus-live: warning: {clip}: no depth given (--depth); everything is at "
              "infinity until you open one", file=sys.stderr)
    if keys is not None:
        load_pull(keys)

    from rackfocus_live.ui.app import App, AppConfig, WindowError
    from rackfocus_live.ui.settings_store import SettingsStore

    lens = base_lens
    if overrides:
        if lens is None:
            # Start from the last session's lens so a single flag changes only that field.
            from rackfocus_live.ui.app import _lens_from_settings

            last = SettingsStore().load()
            lens = _lens_from_settings(last.lens, 2.0)
        lens = dataclasses.replace(lens, **overrides)  # type: ignore[arg-type]
    config = AppConfig(clip=clip, depth=depth, keys=keys, mapping=mapping, lens=lens,
                       demo_clip=clip if args.clip is None else None,
                       quality=args.quality, window_size=window, clip_options=options,
                       view=view, character=character_from_args(args),
                       # A scripted screenshot must not change the user's preferences.
                       save_settings=not (args.no_save_settings or args.screenshot))
    try:
        app = App(config)
    except WindowError as exc:
        raise InputError(str(exc)) from None
    try:
        if args.frame:
            app.state.seek(args.frame)
        if args.screenshot:
            return _screenshot(app, args.frame, Path(args.screenshot))
        return app.run()
    finally:
        app.close()


def clip_options_from_args(args: argparse.Namespace, clip: Path) -> ClipOptions:
    """Rate, colour plan and depth channel from the flags (validated: one line on a bad one)."""
    fps = parse_fps(args.fps) if args.fps is not None else None
    colour = None
    if args.input_space is not None:
        colour = plan_from_names(args.input_space, None, None, None)
    if fps is not None and not (is_pattern(clip) or is_exr(clip)):
        raise InputError("--fps applies to image sequences; a video keeps its own rate", clip)
    return ClipOptions(fps=fps, colour=colour, depth_channel=args.depth_channel)


def _screenshot(app: App, frame: int, out: Path) -> int:
    from rackfocus_live.media.images import write_png

    if out.suffix.lower() != ".png":
        raise InputError("--screenshot must name a .png file", out)
    if not app.wait_for_frame(frame, timeout_s=30.0):
        raise InputError(f"frame {frame} could not be shown", app.config.clip)
    app.hud_visible = False  # live timings mean nothing on a still
    app.run_frames(2, dt=0.0)  # let the pull's focus settle on that frame
    write_png(out, app.screenshot())
    return 0
