"""Run many exports on this machine with N worker processes, each with its own GL context.

The coordinating process never touches GL: it hands each worker one shot at a time
(``concurrent.futures`` over ``spawn``ed processes, so no GL or decoder thread is ever forked),
gathers the workers' progress from one queue into one display, and writes a shot's completion
record once the worker reports the output finalised. A worker that dies takes only its own shot
down: that shot has no record, and the next run does it again.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import moderngl

from rackfocus_live.errors import InputError
from rackfocus_live.export import ExportJob, ExportProgress, ExportSettings
from rackfocus_live.farm.records import CompletionRecords
from rackfocus_live.gpu.context import GLUnavailableError, create_headless_context

#: Seconds between progress messages from a worker.
_REPORT_S = 0.25


@dataclass(frozen=True, slots=True)
class BatchShot:
    """One export of a batch: its name, what to export and the digest of its definition."""

    name: str
    settings: ExportSettings
    digest: str
    frames: int


@dataclass(frozen=True, slots=True)
class ShotProgress:
    """A worker's report: frames of a shot done so far (state as ``ExportProgress``)."""

    name: str
    frames: int
    total: int
    state: str


@dataclass
class BatchStatus:
    """What the display shows: every shot's latest progress and the outcome so far."""

    total_shots: int
    skipped: list[str] = field(default_factory=list)
    done: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    running: dict[str, ShotProgress] = field(default_factory=dict)
    total_frames: int = 0  # of the shots to run (not the skipped ones)
    frames_done: int = 0  # of the shots finished
    started: float = field(default_factory=time.monotonic)

    @property
    def frames(self) -> int:
        """Frames rendered so far, finished shots and running ones."""
        return self.frames_done + sum(p.frames for p in self.running.values())


# -- worker process -----------------------------------------------------------------------------

# The worker's GL context, made by the pool's initializer in each worker process (never in the
# coordinating process); one per process, as GL contexts belong to a thread.
_worker_ctx: moderngl.Context | None = None
_worker_queue: multiprocessing.Queue[ShotProgress] | None = None


def _init_worker(progress: multiprocessing.Queue[ShotProgress], cores: int) -> None:
    global _worker_ctx, _worker_queue
    _worker_queue = progress
    # Software GL (Mesa llvmpipe) starts one rasteriser thread per core in every context: with
    # N workers that is N times too many, and they preempt each other. Each worker gets its
    # share (read when the context is made; no effect on a GPU driver; a user's value wins).
    os.environ.setdefault("LP_NUM_THREADS", str(cores))
    try:
        _worker_ctx = create_headless_context()
    except GLUnavailableError:
        _worker_ctx = None  # reported per shot, where the message reaches the user


def _run_shot(name: str, settings: ExportSettings) -> Path:
    """Export one shot in a worker; returns the finished output."""
    if _worker_ctx is None:
        raise InputError("no OpenGL context in the worker (EGL unavailable)")
    last = 0.0

    def report(p: ExportProgress) -> None:
        nonlocal last
        now = time.monotonic()
        if _worker_queue is not None and (now - last >= _REPORT_S or p.state != "running"):
            last = now
            _worker_queue.put(ShotProgress(name, p.frames, p.total, p.state))

    with ExportJob(_worker_ctx, settings) as job:
        final = job.run(report)
    if final.state != "done" or final.output is None:
        raise InputError(f"export {final.state}", settings.output)
    return final.output


# -- coordinating process ------------------------------------------------------------------------


def run_batch(
    shots: Sequence[BatchShot],
    records: CompletionRecords,
    workers: int,
    on_status: Callable[[BatchStatus], None] | None = None,
) -> BatchStatus:
    """Export every shot not already finished with ``workers`` processes; blocks.

    Returns:
        The final status: shots skipped, done and failed (with their one-line reasons).
    """
    status = BatchStatus(total_shots=len(shots))
    todo = []
    for shot in shots:
        if records.finished(shot.name, shot.settings.output, shot.digest):
            status.skipped.append(shot.name)
        else:
            todo.append(shot)
    status.total_frames = sum(s.frames for s in todo)
    if not todo:
        return status
    context = multiprocessing.get_context("spawn")
    progress: multiprocessing.Queue[ShotProgress] = context.Queue()
    by_future: dict[Future[Path], BatchShot] = {}
    count = max(1, min(workers, len(todo)))
    cores = max(1, (os.cpu_count() or 1) // count)
    pool = ProcessPoolExecutor(max_workers=count, mp_context=context,
                               initializer=_init_worker, initargs=(progress, cores))
    try:
        for shot in todo:
            by_future[pool.submit(_run_shot, shot.name, shot.settings)] = shot
        pending = set(by_future)
        while pending:
            finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            _drain(progress, status)
            for future in finished:
                _settle(future, by_future[future], records, status)
            if on_status is not None:
                on_status(status)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        progress.close()
    return status


def _drain(progress: multiprocessing.Queue[ShotProgress], status: BatchStatus) -> None:
    while True:
        try:
            p = progress.get_nowait()
        except queue.Empty:
            return
        if p.name not in status.done and p.name not in status.failed:
            status.running[p.name] = p


def _settle(future: Future[Path], shot: BatchShot, records: CompletionRecords,
            status: BatchStatus) -> None:
    status.running.pop(shot.name, None)
    try:
        output = future.result()
    except InputError as exc:
        status.failed[shot.name] = str(exc)
        return
    except BrokenProcessPool:
        # One dead worker breaks the pool: every shot not finished by then lands here.
        status.failed[shot.name] = ("a worker process died before this shot finished (no "
                                    "record: the next run does it)")
        return
    except Exception as exc:  # a worker's unexpected error: one line, the batch goes on
        status.failed[shot.name] = f"{type(exc).__name__}: {exc}"
        return
    records.mark_finished(shot.name, output, shot.digest)
    status.done.append(shot.name)
    status.frames_done += shot.frames
