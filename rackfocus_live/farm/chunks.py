"""Render one chunk of a shot with ``ExportJob``, so that only a complete chunk ever carries the
chunk's name.

The job writes to a unique temporary name in the work folder; the file is checked (one video
packet per frame the chunk must hold) and only then renamed to ``chunk_NNNNN.EXT``. A worker
that dies mid-chunk leaves at most a temporary file, which the join never looks at.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import av
import moderngl

from rackfocus_live.errors import InputError
from rackfocus_live.export import ExportJob, ExportProgress, ExportSettings
from rackfocus_live.farm.plan import CHUNK_SUFFIX, Chunk, chunk_codec

#: Marks a work folder as made for chunks, so that chunks are never written among other files.
WORK_DIR_MARKER = ".rackfocus-chunks"


def chunk_path(work_dir: Path, chunk: Chunk, settings: ExportSettings) -> Path:
    """The finished file of ``chunk``: ``chunk_00003_<tag>.mkv``, where the tag digests what the
    chunk's pixels depend on, so a chunk left from an export with other settings (another lens,
    pull, range or codec) is never joined into this one."""
    suffix = CHUNK_SUFFIX[chunk_codec(settings.codec)]
    return work_dir / f"chunk_{chunk.index:05d}_{_settings_tag(settings, chunk)}{suffix}"


def _settings_tag(settings: ExportSettings, chunk: Chunk) -> str:
    # Only what is the same on every worker: no paths (a farm maps them per machine).
    track = settings.track
    codec = chunk_codec(settings.codec)
    # The delivery encoder's settings shape the chunks only when the chunks are in its codec.
    encoder = (settings.crf, settings.preset) if codec == settings.codec else None
    parts = (settings.lens, settings.mapping, codec, encoder, settings.quality,
             settings.highlight, chunk.start, chunk.end,
             None if track is None else (repr(track), list(track.keys)),
             os.path.getsize(settings.clip))
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:10]


def prepare_work_dir(work_dir: Path) -> None:
    """Create the work folder, or check that an existing one is a chunk folder (or empty).

    Raises:
        InputError: it cannot be created, or it holds other files (chunks are never written
            among a user's files).
    """
    try:
        work_dir.mkdir(parents=True, exist_ok=True)
        marker = work_dir / WORK_DIR_MARKER
        if not marker.exists():
            if any(work_dir.iterdir()):
                raise InputError("the work folder holds other files; give an empty or new "
                                 "folder (--work-dir)", work_dir)
            marker.write_text("rackfocus-live farm chunks\n", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot use the work folder ({exc.strerror})", work_dir) from None


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
    final = chunk_path(work_dir, chunk, settings)
    codec = chunk_codec(settings.codec)
    # The export writes through the file-safety layer: a unique temporary file renamed to the
    # chunk's name only when complete, locked against a second worker rendering the same chunk.
    # A worker killed mid-chunk leaves no file under the chunk's name for the join to take.
    # condition_from: stabilised relative depth is a chain from the shot's first frame; each
    # chunk conditions (without rendering) the frames before it, so its depth is the single
    # export's and no join shows a jump in blur.
    shot_start = settings.frame_range[0] if settings.frame_range is not None else 0
    job_settings = dataclasses.replace(
        settings, output=final, frame_range=(chunk.start, chunk.end), audio=False,
        keep_partial=False, codec=codec,
        crf=settings.crf if codec == settings.codec else None, condition_from=shot_start)
    with contextlib.suppress(FileNotFoundError):
        final.unlink()  # an earlier attempt's chunk: re-rendered, not kept as a backup
    with ExportJob(ctx, job_settings) as job:
        result = job.run(on_progress)
    if result.state != "done":
        raise InputError(f"chunk {chunk.index} was {result.state}", final)
    written = count_video_packets(final)
    if written != expected_frames:
        final.unlink()
        raise InputError(f"chunk {chunk.index} has {written} frames, expected "
                         f"{expected_frames}", final)
    return final
