"""Inspect a keyframe file and export it: CSV, a Blender script, After Effects keyframe text.

  rackfocus-live keys PULL.json --csv OUT.csv | --blender OUT.py | --ae OUT.txt | --info
  rackfocus-live keys PULL.json --from-csv IN.csv     (make PULL.json from a CSV)
"""

from __future__ import annotations

import argparse
import sys
from fractions import Fraction
from pathlib import Path

from rackfocus_live.errors import InputError
from rackfocus_live.files import atomic_write, check_output
from rackfocus_live.timeline import interop
from rackfocus_live.timeline.keyfile import LoadedPull, Pull, load_pull, save_pull
from rackfocus_live.timeline.keyframes import MAX_BAKE_FRAMES

#: The output name that means standard output (as in most command-line tools).
STDOUT = "-"


def _rational(text: str) -> Fraction:
    try:
        r = Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"not a frame rate: {text!r} (e.g. 24000/1001)") from None
    if not 0 < r <= 1000:
        raise argparse.ArgumentTypeError("frame rate must be > 0 and <= 1000")
    return r


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pull", metavar="PULL.json", help="keyframe file")
    out = parser.add_argument_group("exports (any combination)")
    out.add_argument("--csv", metavar="OUT.csv",
                     help="per-frame frame,time,focus_m,f_stop ('-': standard output, for each "
                          "of these three outputs)")
    out.add_argument("--blender", metavar="OUT.py",
                     help="Blender script keying the active camera's focus distance and f-stop")
    out.add_argument("--ae", metavar="OUT.txt",
                     help="After Effects keyframe text for a camera's Focus Distance (paste it)")
    out.add_argument("--info", action="store_true",
                     help="print a summary (the default when no export is given)")
    out.add_argument("--from-csv", metavar="IN.csv",
                     help="create PULL.json from a CSV (frame/time, focus_m, f_stop) instead")
    opt = parser.add_argument_group("options")
    opt.add_argument("--frames", type=int, metavar="N",
                     help="frames to export (default: the clip's, else up to the last key)")
    opt.add_argument("--fps", type=_rational, metavar="RATE",
                     help="frame rate, e.g. 24000/1001 (default: the file's; with --from-csv, "
                          "the clip's of an existing PULL.json)")
    opt.add_argument("--blender-frame-start", type=int, default=1, metavar="N",
                     help="Blender frame of the clip's first frame (default 1)")
    opt.add_argument("--blender-camera", metavar="NAME",
                     help="camera object to key (default: the scene camera)")
    opt.add_argument("--ae-size", default="1920x1080", metavar="WxH",
                     help="After Effects comp size (default 1920x1080)")
    opt.add_argument("--ae-px-per-m", type=float, metavar="K",
                     help="AE pixels per metre (default: comp width / sensor width, i.e. "
                          "camera Zoom / focal length; see docs/formats.md)")


def run(args: argparse.Namespace) -> int:
    if args.from_csv:
        check_output(args.pull, {"CSV": args.from_csv})
        return _from_csv(args)
    # Every output is checked before anything is written: none may be the pull, or another.
    outputs = [o for o in (args.csv, args.blender, args.ae) if o is not None]
    if outputs.count(STDOUT) > 1:
        raise InputError("only one of --csv, --blender and --ae can go to standard output (-)")
    files = [o for o in outputs if o != STDOUT]
    for i, out in enumerate(files):
        check_output(out, {"keyframe file": args.pull}, files[:i])
    loaded = load_pull(args.pull)
    for warning in loaded.warnings:
        print(f"rackfocus-live keys: warning: {args.pull}: {warning}", file=sys.stderr)
    pull = loaded.pull
    track = pull.track
    if not track.keys:
        raise InputError("has no keys to export", args.pull)
    fps = args.fps or (pull.media.fps if pull.media else track.fps)
    frames = args.frames
    if frames is None:
        frames = pull.media.frame_count if pull.media else track.frame_count_hint()
        if frames > MAX_BAKE_FRAMES:
            raise InputError(
                f"the pull spans {frames} frames (its last key is at {track.end_s:g} s) and "
                f"names no clip; exports take at most {MAX_BAKE_FRAMES} frames: give --frames",
                args.pull)
    if not 0 < frames <= MAX_BAKE_FRAMES:
        raise InputError(f"--frames must be between 1 and {MAX_BAKE_FRAMES}")
    if args.csv:
        _emit(args.csv, interop.csv_text(track, frames, fps))
    if args.blender:
        source = "standard output" if args.blender == STDOUT else args.blender
        _emit(args.blender, interop.blender_script(
            track, frames, fps, source=source, frame_start=args.blender_frame_start,
            camera=args.blender_camera))
    if args.ae:
        width, height = _size(args.ae_size)
        _emit(args.ae, interop.ae_keyframe_text(
            track, frames, fps, width=width, height=height,
            pixels_per_metre=args.ae_px_per_m, lens=pull.lens))
    if args.info or not outputs:
        # Beside an output on standard output, the summary goes to the error stream.
        print(summary(args.pull, loaded, frames, fps),
              file=sys.stderr if STDOUT in outputs else sys.stdout)
    return 0


def _emit(out: str, text: str) -> None:
    """``text`` to the file ``out`` (atomically, the old one kept as a backup), or to standard
    output for ``-``."""
    if out == STDOUT:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        atomic_write(out, text.encode("utf-8"))


def _from_csv(args: argparse.Namespace) -> int:
    """PULL.json from a CSV. When PULL.json exists (made for a clip), the CSV's frames count at
    that clip's frame rate (not 24) and the file keeps its clip, lens and depth convention; the
    previous version is kept as a backup."""
    existing: Pull | None = None
    if Path(args.pull).exists():
        existing = load_pull(args.pull).pull
    fps = args.fps
    source = "--fps"
    if fps is None and existing is not None:
        fps = existing.media.fps if existing.media else existing.track.fps
        source = f"the clip of {Path(args.pull).name}" if existing.media else Path(args.pull).name
    track = interop.import_csv(args.from_csv, fps=fps)
    if fps is None:
        source = "the CSV's default"
    if existing is not None:
        pull = Pull(track, existing.media, existing.depth, existing.lens)
    else:
        pull = Pull(track)
    save_pull(args.pull, pull)
    print(f"{args.pull}: {len(track.keys)} keys from {args.from_csv} at {track.fps} fps "
          f"(from {source})")
    return 0


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise InputError(f"--ae-size must look like 1920x1080, got {text!r}") from None
    if not (0 < w <= 65536 and 0 < h <= 65536):
        raise InputError("--ae-size must be positive")
    return w, h


def summary(name: str, loaded: LoadedPull, frames: int, fps: Fraction) -> str:
    """A human-readable description of a loaded pull."""
    pull = loaded.pull
    track = pull.track
    lines = [f"{name}: rackfocus-live keys, {len(track.keys)} keys, "
             f"{'inverse-distance' if track.space == 'inverse' else 'linear'} interpolation"]
    if pull.media:
        m = pull.media
        lines.append(f"clip: {m.name} ({m.frame_count} frames at {m.fps} fps, "
                     f"{m.duration:.3f} s, {m.size} bytes)")
    if pull.lens:
        ln = pull.lens
        lines.append(f"lens: {ln.focal_length_mm:g} mm f/{ln.f_stop:g}, "
                     f"sensor {ln.sensor_width_mm:g} mm")
    if pull.depth:
        lines.append(f"depth: {pull.depth.kind}")
    lines.append(f"export: {frames} frames at {fps} fps; {len(track.samples)} recorded samples")
    for mark in track.marks:
        lines.append(f"mark {mark.title}: {mark.focus_m:.3f} m")
    for k in track.keys:
        stop = "" if k.f_stop is None else f"  f/{k.f_stop:g}"
        link = "" if k.mark is None else f"  [{k.mark}]"
        lines.append(f"  {k.time:9.3f} s  frame {track.frame_of(k.time, fps):6d}  "
                     f"{k.focus_m:8.3f} m{stop}  {k.easing.label}{link}")
    return "\n".join(lines)
