"""Track a subject and write a pull whose focus follows it.

  rackfocus-live track CLIP --depth DEPTH --frame N --at X,Y -o PULL.json [--range A:B]

Click-to-track without the window: the subject under pixel (X, Y) of frame N (display pixels,
origin top left) is followed forward and backward through the clip (or --range) by its texture
and its depth; its distance per frame becomes the pull's focus, simplified to keys within the CoC
tolerance like a recorded take. Frames where the subject is lost (hidden, out of the picture)
hold the last focus and are listed. Lens flags set the pull's lens (and the tolerance); depth
flags as for export.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from rackfocus_live.commands.common import (
    add_depth_arguments,
    add_lens_arguments,
    depth_mapping_from_args,
    lens_from_args,
)
from rackfocus_live.errors import InputError
from rackfocus_live.files import check_output

PROG = "rackfocus-live track"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("clip", metavar="CLIP", help="video clip")
    parser.add_argument("--depth", required=True, metavar="DEPTH",
                        help="depth video, image sequence pattern (depth_%%05d.png) or still")
    parser.add_argument("--frame", required=True, type=int, metavar="N",
                        help="frame where the subject is picked (0-based)")
    parser.add_argument("--at", required=True, metavar="X,Y",
                        help="the subject's pixel in that frame (display pixels, origin top left)")
    parser.add_argument("-o", "--output", required=True, metavar="PULL.json",
                        help="keyframe file to write (an existing one is kept as PULL.json.bak)")
    parser.add_argument("--range", dest="frame_range", metavar="START:END",
                        help="track frames START..END-1 only (frame numbers, or seconds like 2.5s)")
    parser.add_argument("--tolerance", type=float, default=0.5, metavar="PX",
                        help="largest CoC difference (px) between the keys and the tracked focus "
                             "(default 0.5)")
    add_lens_arguments(parser, focus_required=False)
    add_depth_arguments(parser)


def parse_point(text: str) -> tuple[float, float]:
    try:
        x, y = (float(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"--at must look like X,Y (pixels), got '{text}'") from None
    if not (math.isfinite(x) and math.isfinite(y)):
        raise InputError("--at must be finite pixel coordinates")
    return x, y


@dataclass(frozen=True, slots=True)
class _Bar:
    """The fields ``commands.export.ProgressBar`` draws."""

    frames: int
    total: int
    elapsed_s: float
    state: str = "running"

    @property
    def fraction(self) -> float:
        return 1.0 if self.total <= 0 else self.frames / self.total

    @property
    def fps(self) -> float:
        return self.frames / max(self.elapsed_s, 1e-9)

    @property
    def eta_s(self) -> float | None:
        if self.frames <= 0:
            return None
        return (self.total - self.frames) / max(self.fps, 1e-9)


def run(args: argparse.Namespace) -> int:
    from rackfocus_live.commands.export import ProgressBar
    from rackfocus_live.export import parse_range, resolve_range
    from rackfocus_live.media.depthsource import SequenceDepth, open_depth
    from rackfocus_live.media.probe import probe_clip
    from rackfocus_live.timeline.keyfile import MediaIdentity, Pull, save_pull
    from rackfocus_live.timeline.keyframes import FocusTrack
    from rackfocus_live.timeline.simplify import CocTolerance
    from rackfocus_live.timeline.undo import TrackEditor
    from rackfocus_live.tracking.job import run_tracking
    from rackfocus_live.tracking.session import Anchor, SubjectTrack
    from rackfocus_live.tracking.take import commit_take

    x, y = parse_point(args.at)
    if not args.tolerance > 0:
        raise InputError("--tolerance must be > 0")
    lens = lens_from_args(args)
    mapping = depth_mapping_from_args(args)
    info = probe_clip(args.clip)
    width, height = info.display_size
    if not (0 <= x < width and 0 <= y < height):
        raise InputError(f"--at {args.at} is outside the picture ({width}x{height})", info.path)
    start, stop = 0, info.frame_count
    if args.frame_range is not None:
        start, stop = resolve_range(parse_range(args.frame_range), info)
        if not 0 <= start < info.frame_count or stop <= start:
            raise InputError(f"--range {args.frame_range} selects no frame of the clip "
                             f"(frames 0..{info.frame_count - 1})")
        stop = min(stop, info.frame_count)
    if not start <= args.frame < stop:
        raise InputError(f"--frame {args.frame} is outside the tracked frames "
                         f"{start}..{stop - 1}", info.path)
    depth = open_depth(args.depth, mapping, info)
    inputs: dict[str, Path | None] = {"clip": info.path, "depth": depth.path}
    if isinstance(depth, SequenceDepth):
        inputs.update({f"depth image {f.name}": f for f in depth.files})
    out = check_output(args.output, inputs)

    bar = ProgressBar(sys.stderr)
    t0 = time.monotonic()

    def show(done: int, total: int, state: str = "running") -> None:
        # _Bar has the fields of the export's progress that the bar draws.
        bar.update(_Bar(done, total, time.monotonic() - t0, state))  # type: ignore[arg-type]

    try:
        subject = run_tracking(info, depth, SubjectTrack(start, stop),
                               Anchor(args.frame, x, y), progress=show)
        elapsed = time.monotonic() - t0
        show(stop - start, stop - start, "done")
    finally:
        bar.close()

    editor = TrackEditor(FocusTrack(fps=info.fps))
    near = max(mapping.near, lens.focal_length_m * 2)
    tolerance = CocTolerance(lens, width, args.tolerance,
                             depth_range_m=(near, max(mapping.far, near * 2)))
    take = commit_take(editor, tolerance, subject, info.fps)
    if take is None:
        raise InputError("the subject could not be measured in any frame", info.path)
    media = MediaIdentity(name=info.path.name, size=info.path.stat().st_size,
                          duration=info.duration, fps=info.fps, frame_count=info.frame_count)
    save_pull(out, Pull(editor.track, media=media, depth=mapping, lens=lens))
    spans = subject.lost_spans()
    lost = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in spans) or "none"
    print(f"{PROG}: wrote {out}: {len(take.keys)} keys over frames {start}..{stop - 1} "
          f"({stop - start} frames in {elapsed:.1f} s); subject lost (focus held) at frames: "
          f"{lost}", file=sys.stderr)
    return 0
