"""Render one chunk of a shot with ``ExportJob``, so that only a complete chunk ever carries the
chunk's name.

The job writes to a unique temporary name in the work folder; the file is checked (one video
packet per frame the chunk must hold) and only then renamed to ``chunk_NNNNN.EXT``. A worker
that dies mid-chunk leaves at most a temporary file, which the join never looks at.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

import av
import moderngl

from rackfocus_live.errors import InputError
from rackfocus_live.export import ExportJob, ExportProgress, ExportSettings
from rackfocus_live.farm.paths import temp_beside
from rackfocus_live.farm.plan import CHUNK_SUFFIX, Chunk, chunk_codec


def chunk_path(work_dir: Path, chunk: Chunk, codec: str) -> Path:
    """The finished file of ``chunk`` of an export in ``codec``."""
    return work_dir / f"chunk_{chunk.index:05d}{CHUNK_SUFFIX[chunk_codec(codec)]}"


def count_video_packets(path: Path) -> int:
    """Video packets in ``path`` (intra-only codecs: one per frame); -1 if unreadable."""
    try:
        with av.open(os.fspath(path)) as container:
            stream = container.streams.video[0]
            return sum(1 for p in container.demux(stream) if p.size)
    except (av.FFmpegError, OSError, IndexError):
        return -1


def render_chunk(
    ctx: moderngl.Context,
    settings: ExportSettings,
    chunk: Chunk,
    work_dir: Path,
    expected_frames: int,
    on_progress: Callable[[ExportProgress], None] | None = None,
) -> Path:
    """Render ``chunk`` of ``settings`` (video only, in its chunk codec) into ``work_dir``;
    returns the chunk file.

    Raises:
        InputError: the export failed, was cancelled or wrote the wrong number of frames; no
            chunk file is left then.
    """
    final = chunk_path(work_dir, chunk, settings.codec)
    temp = temp_beside(final, "rendering")
    codec = chunk_codec(settings.codec)
    job_settings = dataclasses.replace(
        settings, output=temp, frame_range=(chunk.start, chunk.end), audio=False,
        keep_partial=False, codec=codec,
        crf=settings.crf if codec == settings.codec else None)
    try:
        with ExportJob(ctx, job_settings) as job:
            result = job.run(on_progress)
        if result.state != "done":
            raise InputError(f"chunk {chunk.index} was {result.state}", final)
        written = count_video_packets(temp)
        if written != expected_frames:
            raise InputError(f"chunk {chunk.index} has {written} frames, expected "
                             f"{expected_frames}", final)
        os.replace(temp, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
    return final
