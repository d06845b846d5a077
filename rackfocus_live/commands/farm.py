"""Chunked export for render farms: a shot cut into frame ranges rendered independently and
joined without re-encoding (FFV1 or ProRes chunks; for h264/hevc, lossless FFV1 chunks encoded
once by the join), the audio copied once from the clip.

Modes (the export's flags throughout):

* ``--bundle DIR``: write an Open Job Description job bundle (``DIR/template.yaml``) with a
  Render step (one task per chunk) and a Join step; CLIP may be a shot list (``.json``), giving
  one bundle per shot in ``DIR/SHOT``. Run it with ``openjd run`` or submit it with
  ``deadline bundle submit DIR``.
* ``--render-chunk K``: render chunk K into the work folder (what a Render task runs).
* ``--join``: join the chunks into OUT with the clip's audio (what the Join task runs).
* none of these: render every chunk here, then join.

Every mode computes the same chunk plan from the clip, ``--range`` and ``--chunk-frames``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from rackfocus_live.commands import export as export_command
from rackfocus_live.commands.shotlist import (
    export_parser,
    prepare,
    prepare_shot_list,
)
from rackfocus_live.errors import InputError
from rackfocus_live.export import ExportProgress, ExportSettings
from rackfocus_live.farm.bundle import FarmShot, write_bundle
from rackfocus_live.farm.plan import Chunk, joins_by_remux, plan_chunks

PROG = "rackfocus-live farm"
#: Flags whose values are files: job parameters in a bundle, not literal arguments.
_PATH_DESTS = {"clip", "depth", "keys", "output"}
DEFAULT_CHUNK_FRAMES = 48


def add_arguments(parser: argparse.ArgumentParser) -> None:
    export_command.add_arguments(parser, require_inputs=False)
    g = parser.add_argument_group("farm")
    g.add_argument("--chunk-frames", type=int, default=DEFAULT_CHUNK_FRAMES, metavar="N",
                   help=f"frames per chunk (default {DEFAULT_CHUNK_FRAMES})")
    g.add_argument("--work-dir", metavar="DIR",
                   help="shared folder for the chunks (default: OUT's folder/OUT_NAME.chunks)")
    g.add_argument("--require-gpu", action="store_true",
                   help="with --bundle: Render tasks ask for a worker with a GPU "
                        "(amount.worker.gpu >= 1); the Join runs on any worker")
    mode = g.add_mutually_exclusive_group()
    mode.add_argument("--bundle", metavar="DIR",
                      help="write an Open Job Description job bundle instead of rendering")
    mode.add_argument("--render-chunk", type=int, metavar="K", help="render chunk K only")
    mode.add_argument("--join", action="store_true", help="join the rendered chunks into OUT")


def run(args: argparse.Namespace) -> int:
    if args.clip.lower().endswith(".json"):
        if args.bundle is None:
            raise InputError("a shot list needs --bundle DIR (or use: rackfocus-live batch)")
        return _bundle_shot_list(args)
    if args.depth is None or args.output is None:
        raise InputError("--depth DEPTH and -o OUT are required")
    settings = prepare(args)
    work_dir = _work_dir(args, settings)
    chunks = _plan(settings, args.chunk_frames)
    if args.bundle is not None:
        path = write_bundle(Path(args.bundle), _farm_shot(args, settings, work_dir, chunks))
        print(f"{PROG}: wrote {path} ({len(chunks)} chunks)", file=sys.stderr)
        return 0
    from rackfocus_live.farm import local

    if args.render_chunk is not None:
        if not 0 <= args.render_chunk < len(chunks):
            raise InputError(f"--render-chunk {args.render_chunk}: this shot has chunks "
                             f"0..{len(chunks) - 1}")
        _render(settings, [chunks[args.render_chunk]], work_dir)
        return 0
    if not args.join:
        _render(settings, chunks, work_dir)
    out = local.join(settings, chunks, work_dir)
    print(f"{PROG}: wrote {out} ({len(chunks)} chunks joined)", file=sys.stderr)
    return 0


def _render(settings: ExportSettings, chunks: list[Chunk], work_dir: Path) -> None:
    from rackfocus_live.farm import local

    bar = export_command.ProgressBar(sys.stderr)
    total = sum(c.frames for c in chunks)
    before = {c.index: sum(d.frames for d in chunks if d.index < c.index) for c in chunks}

    def overall(chunk: Chunk, p: ExportProgress) -> None:
        # One bar for all the chunks rendered here; the ETA scales the chunk's own rate.
        frames = before[chunk.index] + p.frames
        eta = None if p.fps <= 0 else (total - frames) / p.fps
        last = chunk.index == chunks[-1].index
        state = p.state if last or p.state != "done" else "running"
        bar.update(dataclasses.replace(p, frames=frames, total=total, eta_s=eta, state=state))

    try:
        local.render_chunks(settings, chunks, work_dir, overall)
    finally:
        bar.close()
    names = ", ".join(str(c.index) for c in chunks)
    print(f"{PROG}: rendered chunk{'s' if len(chunks) > 1 else ''} {names} into {work_dir}",
          file=sys.stderr)


def _plan(settings: ExportSettings, chunk_frames: int) -> list[Chunk]:
    from rackfocus_live.media.probe import probe_clip

    info = probe_clip(settings.clip)
    start, end = settings.frame_range or (0, info.frame_count)
    return plan_chunks(start, min(end, info.frame_count), chunk_frames)


def _work_dir(args: argparse.Namespace, settings: ExportSettings) -> Path:
    if getattr(args, "work_dir", None) is not None:
        return Path(args.work_dir)
    return settings.output.with_name(settings.output.name + ".chunks")


def _farm_shot(args: argparse.Namespace, settings: ExportSettings, work_dir: Path,
               chunks: list[Chunk], name: str | None = None) -> FarmShot:
    return FarmShot(
        name=name or f"rackfocus {settings.output.stem}",
        clip=settings.clip.resolve(),
        depth=str(Path(str(settings.depth)).resolve()),
        keys=None if args.keys is None else Path(args.keys).resolve(),
        output=settings.output.resolve(),
        work_dir=work_dir.resolve(),
        export_flags=tuple(export_flags(args)),
        chunk_frames=args.chunk_frames,
        chunk_count=len(chunks),
        remux=joins_by_remux(settings.codec),
        gpu=bool(getattr(args, "require_gpu", False)),
    )


def export_flags(args: argparse.Namespace) -> list[str]:
    """The export flags ``args`` sets to other than their defaults, as arguments (files
    excluded: they are job parameters)."""
    parser = export_parser()
    out: list[str] = []
    for action in parser._actions:  # argparse has no public list of its options
        if not action.option_strings or action.dest in _PATH_DESTS:
            continue
        value = getattr(args, action.dest, None)
        if value is None or value == parser.get_default(action.dest):
            continue
        flag = next(o for o in action.option_strings if o.startswith("--"))
        if isinstance(value, bool):
            out += [flag] if value else []
        else:
            out += [flag, str(value)]
    return out


def _bundle_shot_list(args: argparse.Namespace) -> int:
    root = Path(args.bundle)
    shots = prepare_shot_list(args.clip)
    jobs = []
    for shot in shots:
        chunks = _plan(shot.settings, args.chunk_frames)
        shot.args.chunk_frames = args.chunk_frames
        shot.args.require_gpu = args.require_gpu
        work_dir = _work_dir(shot.args, shot.settings)
        jobs.append((shot.name, _farm_shot(shot.args, shot.settings, work_dir, chunks,
                                           name=f"rackfocus {shot.name}")))
    for name, job in jobs:
        write_bundle(root / name, job)
    print(f"{PROG}: wrote {len(jobs)} job bundles in {root}", file=sys.stderr)
    return 0
