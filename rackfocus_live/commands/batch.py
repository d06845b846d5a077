"""Export every shot of a shot list (``docs/farm.md``) with N worker processes.

Every shot is checked first (clip, depth, pull, range, output); one refused shot stops the batch
before any work, with a report naming each refused shot and its file (exit 2). A shot whose
completion record matches its finished output is skipped, so a batch stopped by a crash or
Ctrl-C picks up where it was; --force runs every shot again. Exit 1 if a shot failed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import TextIO

from rackfocus_live.commands.shotlist import PreparedShot, prepare_shot_list
from rackfocus_live.errors import InputError
from rackfocus_live.farm.batch import BatchShot, BatchStatus, run_batch
from rackfocus_live.farm.records import CompletionRecords, fingerprint, record_path

PROG = "rackfocus-live batch"
_LOG_INTERVAL_S = 2.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("shots", metavar="SHOTS.json", help="the shot list")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), metavar="N",
                        help="worker processes, each with its own GL context (default: 2, or "
                             "1 on a one-core machine)")
    parser.add_argument("--force", action="store_true",
                        help="run every shot, even those recorded as finished")


def run(args: argparse.Namespace) -> int:
    from rackfocus_live.media.probe import probe_clip

    if args.workers < 1:
        raise InputError("--workers must be >= 1")
    shot_list = Path(args.shots)
    prepared = prepare_shot_list(shot_list)
    shots = []
    for p in prepared:
        info = probe_clip(p.settings.clip)
        start, end = p.settings.frame_range or (0, info.frame_count)
        shots.append(BatchShot(p.name, p.settings, _digest(p), min(end, info.frame_count) - start))
    records = CompletionRecords(record_path(shot_list), ignore_existing=args.force)
    display = BatchDisplay(sys.stderr)
    status = run_batch(shots, records, args.workers, display.update)
    display.close(status)
    for name in status.skipped:
        print(f"{PROG}: {name}: already finished, skipped", file=sys.stderr)
    for name, problem in status.failed.items():
        print(f"{PROG}: {name}: failed: {problem}", file=sys.stderr)
    print(f"{PROG}: {len(status.done)} exported, {len(status.skipped)} skipped, "
          f"{len(status.failed)} failed ({time.monotonic() - status.started:.1f} s)",
          file=sys.stderr)
    return 1 if status.failed else 0


def _digest(shot: PreparedShot) -> str:
    s = shot.settings
    return fingerprint(shot.argv, [s.clip, s.depth, shot.args.keys])


class BatchDisplay:
    """One progress line for the whole batch: a terminal redraws it, a log gets one every few
    seconds."""

    WIDTH = 24

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self._last = 0.0
        self._drawn = False

    def update(self, status: BatchStatus) -> None:
        line = self.format(status)
        if self.tty:
            self.stream.write("\r" + line + "\x1b[K")
            self._drawn = True
        else:
            now = time.monotonic()
            if now - self._last < _LOG_INTERVAL_S:
                return
            self._last = now
            self.stream.write(line + "\n")
        self.stream.flush()

    @classmethod
    def format(cls, s: BatchStatus) -> str:
        fraction = s.frames / s.total_frames if s.total_frames else 1.0
        filled = round(cls.WIDTH * min(1.0, fraction))
        elapsed = time.monotonic() - s.started
        fps = s.frames / elapsed if elapsed > 0 else 0.0
        eta = f"{(s.total_frames - s.frames) / fps:.0f} s" if fps > 0 else "--"
        running = ", ".join(f"{p.name} {p.frames}/{p.total}" for p in s.running.values())
        return (f"[{'#' * filled}{'.' * (cls.WIDTH - filled)}] "
                f"{len(s.done) + len(s.skipped)}/{s.total_shots} shots  "
                f"{s.frames}/{s.total_frames} frames  {fps:.1f} fps  ETA {eta}"
                + (f"  running: {running}" if running else "")
                + (f"  failed: {len(s.failed)}" if s.failed else ""))

    def close(self, status: BatchStatus) -> None:
        if self.tty and self._drawn:
            self.stream.write("\n")
        elif status.done or status.failed:
            self.stream.write(self.format(status) + "\n")
        self.stream.flush()
