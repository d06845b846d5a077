"""Soak benchmark: a long simulated preview session, checked for growth that would end it.

Drives the app's window-free pieces the way the app's main loop does, on a headless EGL context:
``MediaSession`` (decoder thread, bounded queue, frame cache, PBO upload), ``DofRenderer``,
``UiState`` and ``PullController`` (focus drags at the draft preset, recording takes committed as
keys, playback following the recorded track) and ``PullAutosave`` (autosaving while recording).
Playback steps one frame per iteration and loops; at random it seeks (scrubbing, from the cache
or through a keyframe), drags the focus for a while, and starts or stops a take. The clip is
generated (H.264 with B-frames and a moving texture, half-resolution FFV1 depth).

Every ``--sample-every`` frames it records the resident memory (``/proc/self/statm``, after a
garbage collection and ``malloc_trim``, so it counts memory in use), the live GL
objects (moderngl textures, buffers, framebuffers, VAOs, programs, samplers not yet released),
the decoder's queue length, and the thread count (Python threads, and OS threads, which include
FFmpeg's and llvmpipe's). After a warm-up (the frame cache filled, every quality preset built)
it reports the memory slope in MB per 1000 frames (least squares), and the range of the others:
a leak shows as a positive slope or a count that grows.

    .venv/bin/python bench/soak.py [--minutes 30 | --frames N] [--size 320x180]
        [--clip-frames 240] [--seed 1] [--sample-every 100]

``run_soak`` is also what ``tests/test_soak.py`` runs, short.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import gc
import math
import os
import platform
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import moderngl
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import cpu_model, rss_mb  # noqa: E402
from rackfocus_live.gpu.context import (  # noqa: E402
    collect_garbage,
    create_headless_context,
    describe,
)
from rackfocus_live.gpu.dof import DofRenderer  # noqa: E402
from rackfocus_live.gpu.programs import ProgramCache  # noqa: E402
from rackfocus_live.media.decoder import THREAD_NAME_PREFIX  # noqa: E402
from rackfocus_live.ui.pulls import PullController  # noqa: E402
from rackfocus_live.ui.recovery import PullAutosave  # noqa: E402
from rackfocus_live.ui.session import QUEUE_SIZE, MediaSession  # noqa: E402
from rackfocus_live.ui.state import UiState  # noqa: E402
from tests import media_factory as mf  # noqa: E402

FPS = Fraction(24)
#: Per-frame chances of the random events.
P_SEEK = 0.01
P_DRAG = 0.015
P_RECORD_TOGGLE = 0.004
_GL_KINDS = (moderngl.Texture, moderngl.Buffer, moderngl.Framebuffer, moderngl.VertexArray,
             moderngl.Program, moderngl.Renderbuffer, moderngl.Sampler)


def _libc_trim() -> Callable[[], object]:
    """``malloc_trim(0)`` of glibc, or a no-op elsewhere."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return lambda: None
    return lambda: trim(0)


#: Returns the allocator's free memory to the system before each sample, so resident memory
#: counts what is in use (a leak) rather than what the allocator keeps for reuse, and earlier
#: work in the same process (a test suite) does not hide growth.
trim_heap = _libc_trim()


def os_threads() -> int:
    """Threads of this process as the kernel sees them (FFmpeg's and the GL driver's too)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 0


def live_gl_objects(ctx: moderngl.Context) -> int:
    """moderngl objects of ``ctx`` that are alive (created and not released)."""
    return sum(1 for o in gc.get_objects() if isinstance(o, _GL_KINDS) and o.ctx is ctx
               and type(o.mglo).__name__ != "InvalidObject")


@dataclass
class Sample:
    frame: int
    rss_mb: float
    gl_objects: int
    queue: int
    threads: int
    os_threads: int


@dataclass
class SoakReport:
    """What a soak run measured; ``slope_mb_per_1000`` and the ``*_range`` values are taken
    over the samples after the warm-up."""

    frames: int
    seconds: float
    size: tuple[int, int]
    clip_frames: int
    samples: list[Sample]
    warmup_frames: int
    events: dict[str, int] = field(default_factory=dict)
    renderer: str = ""

    @property
    def steady(self) -> list[Sample]:
        return [s for s in self.samples if s.frame >= self.warmup_frames]

    @property
    def slope_mb_per_1000(self) -> float:
        """Resident memory slope after the warm-up, MB per 1000 frames."""
        return _slope(self.steady)

    @property
    def late_slope_mb_per_1000(self) -> float:
        """The same over the second half of the run after the warm-up: an allocator that is
        still settling flattens out here, a leak does not."""
        s = self.steady
        return _slope(s[len(s) // 2:])

    def span(self, name: str) -> tuple[int, int]:
        values = [getattr(x, name) for x in self.steady]
        return (min(values), max(values)) if values else (0, 0)

    @property
    def queue_max(self) -> int:
        return max((s.queue for s in self.samples), default=0)

    def lines(self) -> list[str]:
        s = self.steady
        rss = [x.rss_mb for x in s] or [0.0]
        gl, th, ot = self.span("gl_objects"), self.span("threads"), self.span("os_threads")
        ev = ", ".join(f"{k} {v}" for k, v in self.events.items())
        return [
            f"renderer: {self.renderer}",
            f"clip: {self.size[0]}x{self.size[1]}, {self.clip_frames} frames at {FPS} fps, "
            f"H.264 + FFV1 depth at half resolution",
            f"frames: {self.frames} in {self.seconds:.0f} s ({self.frames / self.seconds:.1f} fps),"
            f" warm-up {self.warmup_frames} frames; events: {ev}",
            f"resident memory after warm-up: {rss[0]:.1f} -> {rss[-1]:.1f} MB (max {max(rss):.1f})"
            f", slope {self.slope_mb_per_1000:+.3f} MB per 1000 frames (second half "
            f"{self.late_slope_mb_per_1000:+.3f})",
            f"live GL objects after warm-up: {gl[0]}..{gl[1]}",
            f"decoder queue: at most {self.queue_max} of {QUEUE_SIZE} packets",
            f"threads after warm-up: Python {th[0]}..{th[1]}, OS {ot[0]}..{ot[1]}",
        ]


def _slope(samples: list[Sample]) -> float:
    if len(samples) < 3:
        return 0.0
    xs = np.array([x.frame for x in samples], np.float64)
    ys = np.array([x.rss_mb for x in samples], np.float64)
    return float(np.polyfit(xs, ys, 1)[0] * 1000)


def make_media(folder: Path, size: tuple[int, int], frames: int) -> tuple[Path, Path]:
    clip = mf.make_clip(folder / "soak.mp4", frames=frames, size=size, fps=FPS, gop=24,
                        bframes=2, texture=8)
    depth = mf.make_depth_video(folder / "soak_depth.mkv", frames=frames, fps=FPS,
                                size=(max(size[0] // 2, 2), max(size[1] // 2, 2)))
    return clip, depth


def run_soak(
    *,
    frames: int | None = None,
    seconds: float | None = None,
    size: tuple[int, int] = (320, 180),
    clip_frames: int = 240,
    seed: int = 1,
    sample_every: int = 100,
    ctx: moderngl.Context | None = None,
    folder: Path | None = None,
) -> SoakReport:
    """Run the simulated session for ``frames`` frames or ``seconds`` of wall time.

    Args:
        ctx: a GL context to use (tests pass theirs); None creates a headless one.
        folder: where the clip and the autosave go; None uses a temporary folder.
    """
    if (frames is None) == (seconds is None):
        raise ValueError("give frames or seconds")
    own_ctx = ctx is None
    if ctx is None:
        ctx = create_headless_context()
    tmp = None
    if folder is None:
        tmp = tempfile.TemporaryDirectory(prefix="rackfocus-soak-")
        folder = Path(tmp.name)
    try:
        clip, depth = make_media(folder, size, clip_frames)
        return _simulate(ctx, clip, depth, frames, seconds, size, clip_frames, seed,
                         sample_every)
    finally:
        if tmp is not None:
            tmp.cleanup()
        if own_ctx:
            ctx.release()


def _simulate(ctx: moderngl.Context, clip: Path, depth: Path, frames: int | None,
              seconds: float | None, size: tuple[int, int], clip_frames: int, seed: int,
              sample_every: int) -> SoakReport:
    rng = random.Random(seed)
    programs = ProgramCache(ctx)
    session = MediaSession(ctx, programs, clip, depth, mf.DEPTH_MAPPING)
    dof = DofRenderer(ctx, programs, session.size, "default", timer_query=False)
    state = UiState()
    info = session.info
    state.transport.reset(info.frame_count, info.fps)
    state.image_size = session.size
    pulls = PullController(state)
    autosave = PullAutosave(pulls)
    events = {"seeks": 0, "drags": 0, "takes": 0, "autosaves": 0, "shown": 0}
    samples: list[Sample] = []
    n = info.frame_count
    frame, drag_left, drag_target = 0, 0, 2.0
    # Warm-up: two passes over the clip (the frame cache is full after the first) and at least
    # a fifth of the run, so one-off allocations (presets, caches, arenas) are behind us.
    warmup = 2 * n if frames is None else max(2 * n, frames // 5)
    t0 = time.perf_counter()
    i = 0
    try:
        while (frames is not None and i < frames) or (
                seconds is not None and time.perf_counter() - t0 < seconds):
            playing = True
            r = rng.random()
            if r < P_SEEK:
                frame = rng.randrange(n)
                playing = False  # a scrub: the session seeks
                events["seeks"] += 1
            elif r < P_SEEK + P_DRAG and drag_left == 0:
                drag_left = rng.randint(12, 48)
                drag_target = math.exp(rng.uniform(math.log(0.5), math.log(20.0)))
                state.begin_focus_drag()
                events["drags"] += 1
            elif r < P_SEEK + P_DRAG + P_RECORD_TOGGLE:
                was = pulls.recording
                pulls.toggle_record()
                events["takes"] += int(was)
            if drag_left:
                focus = state.focus_m + (drag_target - state.focus_m) * 0.2
                state.set_focus(focus)
                drag_left -= 1
                if drag_left == 0:
                    state.end_focus_drag()
            elif state.follow_track and state.track is not None and state.track.keys:
                state.lens = state.track.lens_at(frame / float(info.fps), state.lens)
            if session.show(frame, playing=playing, timeout=2.0):
                events["shown"] += 1
                if pulls.recording:
                    pulls.sample(frame / float(info.fps), state.focus_m)
            events["autosaves"] += autosave.tick(info, frame / float(info.fps))
            quality = state.effective_quality
            if dof.quality != quality:
                dof.set_quality(quality)
            dof.render(session.color, session.depth, state.lens, color_is_srgb=False,
                       highlight=state.highlight)
            ctx.finish()
            collect_garbage(ctx)
            if i % sample_every == 0:
                gc.collect()
                trim_heap()
                samples.append(Sample(i, rss_mb(), live_gl_objects(ctx), session.decoder.queued,
                                      threading.active_count(), os_threads()))
            frame = (frame + 1) % n
            i += 1
    finally:
        session.close()
        dof.release()
        programs.release()
        collect_garbage(ctx)
    elapsed = time.perf_counter() - t0
    leaked = [t.name for t in threading.enumerate() if t.name.startswith(THREAD_NAME_PREFIX)]
    if leaked:
        raise RuntimeError(f"decoder threads left after close: {leaked}")
    return SoakReport(i, elapsed, size, clip_frames, samples, min(warmup, i), events,
                      describe(ctx))


def _size(text: str) -> tuple[int, int]:
    w, h = (int(v) for v in text.lower().split("x"))
    return w, h


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    g = parser.add_mutually_exclusive_group()
    g.add_argument("--minutes", type=float, default=30.0, help="wall-clock length (default 30)")
    g.add_argument("--frames", type=int, help="number of frames instead of a duration")
    parser.add_argument("--size", type=_size, default=(320, 180), metavar="WxH")
    parser.add_argument("--clip-frames", type=int, default=240)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sample-every", type=int, default=100)
    args = parser.parse_args(argv)
    report = run_soak(frames=args.frames,
                      seconds=None if args.frames else args.minutes * 60.0,
                      size=args.size, clip_frames=args.clip_frames, seed=args.seed,
                      sample_every=args.sample_every)
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores; Python {platform.python_version()}")
    for line in report.lines():
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
