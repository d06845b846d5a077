"""Render a clip's rack focus to a video file, headless: the same decoder, renderer and focus
track as the preview, so the file matches the preview frame for frame.

Lens and depth flags override the pull's own lens and depth convention (from --keys); without a
pull, the defaults of `render` apply. Ctrl-C stops cleanly, removes the partial file (unless
--keep-partial) and exits with 130.
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, TextIO

from rackfocus_live.commands.colour_args import (
    add_colour_arguments,
    add_depth_channel_argument,
    colour_plan_from_args,
)
from rackfocus_live.commands.common import (
    DEPTH_FLAG_FIELDS,
    LENS_FLAG_FIELDS,
    add_depth_arguments,
    add_highlight_arguments,
    add_lens_arguments,
    add_lens_character_arguments,
    add_quality_argument,
    calibration_points,
    character_from_args,
    conditioning_from_args,
    highlight_from_args,
    lens_overrides,
)
from rackfocus_live.depth import DepthMapping
from rackfocus_live.errors import InputError
from rackfocus_live.lens import LensState

if TYPE_CHECKING:
    from rackfocus_live.calibrate import CalibrationPoint
    from rackfocus_live.export import ExportJob, ExportProgress, ExportSettings
    from rackfocus_live.media.probe import MediaInfo

PROG = "rackfocus-live export"
#: Seconds between progress lines when stderr is not a terminal (logs, CI).
_LOG_INTERVAL_S = 2.0


def add_arguments(parser: argparse.ArgumentParser, *, require_inputs: bool = True) -> None:
    """The export's flags; ``require_inputs=False`` leaves --depth and -o optional (commands
    that take a shot list instead check them themselves)."""
    from rackfocus_live.media.writer import CODECS, DEFAULT_PRESET

    parser.add_argument("clip", metavar="CLIP",
                        help="video clip, or an image sequence (plate.%%04d.exr, plate.####.dpx)")
    parser.add_argument("--depth", required=require_inputs, metavar="DEPTH",
                        help="depth video, image sequence pattern (depth_%%05d.png) or still; "
                             "'same' for a depth channel of the clip's own EXR files")
    parser.add_argument("--fps", default=None, metavar="RATE",
                        help="frame rate of an image-sequence clip (default 24)")
    parser.add_argument("--keys", metavar="PULL.json",
                        help="focus pull (keyframe file); or a constant --focus")
    parser.add_argument("-o", "--output", required=require_inputs, metavar="OUT",
                        help="output file (.mp4, .mov, .mkv); without a suffix the codec's "
                             "default is added (h264/hevc .mp4, prores .mov, ffv1 .mkv); "
                             "out.%%04d.exr writes a scene-linear EXR sequence")
    parser.add_argument("--exr-depth", action="store_true",
                        help="EXR output: add the depth in metres as a Z channel")
    parser.add_argument("--codec", choices=list(CODECS), default="h264",
                        help="h264 (default), hevc, prores (422 HQ, 10-bit), prores4444 "
                             "(4:4:4 10-bit master), dnxhr (HQX, 4:2:2 10-bit master) or ffv1 "
                             "(lossless)")
    parser.add_argument("--crf", type=int, default=None, metavar="N",
                        help="h264/hevc constant rate factor, lower is better (default 18/20)")
    parser.add_argument("--preset", default=DEFAULT_PRESET, metavar="NAME",
                        help=f"h264/hevc speed preset (default {DEFAULT_PRESET})")
    parser.add_argument("--range", dest="frame_range", metavar="START:END",
                        help="export frames START..END-1 (frame numbers, or seconds like 2.5s; "
                             "either side may be empty)")
    parser.add_argument("--no-audio", action="store_true", help="do not copy the clip's audio")
    parser.add_argument("--keep-partial", action="store_true",
                        help="on Ctrl-C keep what was encoded as OUT.partial.EXT (or "
                             "OUT.partial-2.EXT... when that exists: never over a file)")
    add_lens_arguments(parser, focus_required=False)
    add_depth_arguments(parser)
    add_quality_argument(parser)
    add_highlight_arguments(parser)
    add_lens_character_arguments(parser)
    add_depth_channel_argument(parser)
    add_colour_arguments(parser)
    # None = "not given": the pull's own lens and depth convention apply then.
    parser.set_defaults(no_breathing=None, **dict.fromkeys(LENS_FLAG_FIELDS),
                        **dict.fromkeys(DEPTH_FLAG_FIELDS))


def resolve_lens(args: argparse.Namespace, base: LensState | None) -> LensState:
    """``base`` (the pull's lens, or the defaults) with the lens flags that were given."""
    return dataclasses.replace(base or LensState(), **lens_overrides(args))  # type: ignore[arg-type]


def resolve_mapping(args: argparse.Namespace, base: DepthMapping | None) -> DepthMapping:
    """``base`` (the pull's depth convention, or metric) with the depth flags that were given."""
    out = {name: getattr(args, flag) for flag, name in DEPTH_FLAG_FIELDS.items()
           if getattr(args, flag, None) is not None}
    return dataclasses.replace(base or DepthMapping(), **out)  # type: ignore[arg-type]


def calibrated_for_clip(
    mapping: DepthMapping, depth: str, depth_channel: str | None, info: MediaInfo,
    points: list[CalibrationPoint], frame_range: tuple[int, int] | None, prog: str = PROG,
) -> DepthMapping:
    """The mapping solved from ``--calibrate`` points on the first exported frame's depth."""
    from rackfocus_live.calibrate import calibrate
    from rackfocus_live.media.sequence import open_clip_depth

    source = open_clip_depth(depth, depth_channel, mapping, info, warn=lambda _: None)
    reader = source.reader()
    try:
        inv = reader.read(frame_range[0] if frame_range else 0)
    finally:
        reader.close()
    solved = calibrate(mapping, inv, points, info.display_size)
    print(f"{prog}: calibrated {solved.kind} depth: near {solved.near:.3g} m, far "
          f"{solved.far:.3g} m", file=sys.stderr)
    return solved


def settings_from_args(args: argparse.Namespace, prog: str = PROG) -> ExportSettings:
    """The export the flags describe: clip probed, pull loaded (warnings printed under
    ``prog``), lens and depth flags applied over the pull's own; no GL, nothing written.

    Raises:
        InputError: anything wrong with the clip, the pull, the range or the flags.
    """
    from rackfocus_live.export import ExportSettings, parse_range, resolve_range
    from rackfocus_live.media.probe import clip_warnings
    from rackfocus_live.media.sequence import parse_fps, probe_media
    from rackfocus_live.timeline.keyfile import MediaIdentity, load_pull

    if args.keys is None and args.focus is None:
        raise InputError("say where to focus: --keys PULL.json (a focus pull) or --focus M "
                         "(a constant distance in metres)")
    if args.keys is not None and args.focus is not None:
        raise InputError("give either --keys PULL.json or a constant --focus M, not both")
    fps = parse_fps(args.fps) if args.fps is not None else None
    probed = probe_media(args.clip, fps=fps)
    if probed.plate is None and args.fps is not None:
        raise InputError("--fps applies to image sequences; a video keeps its own rate",
                         args.clip)
    colour = colour_plan_from_args(args, float_input=probed.scene_linear)
    if probed.plate is not None or colour.input_space is not None:
        # Plates, and video whose colour space was named: converted through OCIO.
        info = probe_media(args.clip, fps=fps, plan=colour)
    else:
        info = probed  # video keeps its own tags (YUV converted on the GPU)
    for warning in clip_warnings(info):
        print(f"{prog}: warning: {info.path}: {warning}", file=sys.stderr)
    track, pull_lens, pull_depth = None, None, None
    if args.keys is not None:
        first_file = info.plate.sequence.files[0] if info.plate is not None else info.path
        identity = MediaIdentity(name=info.path.name, size=first_file.stat().st_size,
                                 duration=info.duration, fps=info.fps,
                                 frame_count=info.frame_count)
        loaded = load_pull(args.keys, media=identity)
        for warning in loaded.warnings:
            print(f"{prog}: warning: {args.keys}: {warning}", file=sys.stderr)
        track, pull_lens, pull_depth = loaded.pull.track, loaded.pull.lens, loaded.pull.depth
    frame_range = None
    if args.frame_range is not None:
        frame_range = resolve_range(parse_range(args.frame_range), info)
    mapping = resolve_mapping(args, pull_depth)
    points = calibration_points(args)
    if points:
        mapping = calibrated_for_clip(mapping, args.depth, args.depth_channel, info, points,
                                      frame_range, prog)
    return ExportSettings(
        clip=info.path, depth=args.depth, output=Path(args.output),
        lens=resolve_lens(args, pull_lens), mapping=mapping,
        conditioning=conditioning_from_args(args),
        track=track, codec=args.codec, crf=args.crf, preset=args.preset,
        frame_range=frame_range, quality=args.quality,
        highlight=highlight_from_args(args), character=character_from_args(args),
        audio=not args.no_audio, keep_partial=args.keep_partial,
        pull_file=Path(args.keys) if args.keys is not None else None,
        fps=fps, colour=colour, depth_channel=args.depth_channel,
        exr_half=not args.exr_float32, exr_depth=args.exr_depth,
        exr_compression=args.exr_compression,
    )


def run(args: argparse.Namespace) -> int:
    from rackfocus_live.export import ExportJob

    settings = settings_from_args(args)

    from rackfocus_live.gpu.context import GLUnavailableError, create_headless_context

    try:
        ctx = create_headless_context()
    except GLUnavailableError as exc:
        raise InputError(str(exc)) from None
    bar = ProgressBar(sys.stderr)
    try:
        job = ExportJob(ctx, settings)
        with job, _cancel_on_sigint(job):
            final = job.run(bar.update)
    finally:
        bar.close()
        ctx.release()
    if final.state == "cancelled":
        if final.output:  # what the kept file holds, not what was in flight
            where = f"partial file kept ({final.encoded} frames): {final.output}"
        else:
            where = "partial file removed"
        print(f"{PROG}: interrupted after {final.encoded} of {final.total} frames; {where}",
              file=sys.stderr)
        return 130
    print(f"{PROG}: wrote {final.output} ({final.frames} frames, {final.elapsed_s:.1f} s, "
          f"{final.frames / max(final.elapsed_s, 1e-9):.1f} fps)", file=sys.stderr)
    return 0


class _cancel_on_sigint:  # noqa: N801 (used as a context manager, named like one)
    """First Ctrl-C cancels the job cleanly; a second one interrupts at once (KeyboardInterrupt,
    and the job's ``close`` still removes the partial file)."""

    def __init__(self, job: ExportJob) -> None:
        self.job = job
        self.previous: object = None

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        self.job.cancel()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def __enter__(self) -> _cancel_on_sigint:
        try:
            self.previous = signal.signal(signal.SIGINT, self._handler)
        except ValueError:  # not the main thread: leave signals alone
            self.previous = None
        return self

    def __exit__(self, *exc: object) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)  # type: ignore[arg-type]


class ProgressBar:
    """Frames, fps and ETA on one self-overwriting line (a terminal), or a line every few
    seconds (a log)."""

    WIDTH = 28

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self._last_log = 0.0
        self._drawn = False

    def update(self, p: ExportProgress) -> None:
        line = self.format(p)
        if self.tty:
            self.stream.write("\r" + line + "\x1b[K")
            self._drawn = True
        else:
            now = time.monotonic()
            final = p.state in ("done", "cancelled", "failed")
            if now - self._last_log < _LOG_INTERVAL_S and not final:
                return
            self._last_log = now
            self.stream.write(line + "\n")
        self.stream.flush()

    @classmethod
    def format(cls, p: ExportProgress) -> str:
        filled = round(cls.WIDTH * p.fraction)
        bar = "#" * filled + "." * (cls.WIDTH - filled)
        eta = "--:--" if p.eta_s is None else _clock(p.eta_s)
        state = "" if p.state == "running" else f"  {p.state}"
        return (f"[{bar}] {p.frames}/{p.total} frames  {p.fps:5.1f} fps  "
                f"ETA {eta}  elapsed {_clock(p.elapsed_s)}{state}")

    def close(self) -> None:
        if self.tty and self._drawn:
            self.stream.write("\n")
            self.stream.flush()


def _clock(seconds: float) -> str:
    s = max(0, round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
