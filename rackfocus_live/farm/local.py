"""Run a chunk plan on this machine: what a farm's Render and Join tasks each call."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from rackfocus_live.errors import InputError
from rackfocus_live.export import ExportProgress, ExportSettings
from rackfocus_live.farm.chunks import chunk_path, prepare_work_dir, render_chunk
from rackfocus_live.farm.join import join_chunks
from rackfocus_live.farm.plan import Chunk, shown_frames, source_pts
from rackfocus_live.gpu.context import GLUnavailableError, create_headless_context
from rackfocus_live.media.probe import probe_clip


def render_chunks(settings: ExportSettings, chunks: Sequence[Chunk], work_dir: Path,
                  on_progress: Callable[[Chunk, ExportProgress], None] | None = None) -> None:
    """Render ``chunks`` of ``settings`` into ``work_dir`` (created) on one GL context.

    Raises:
        InputError: no GL, or a chunk failed (its file is not left under the chunk's name).
    """
    info = probe_clip(settings.clip)
    all_pts = source_pts(info)
    prepare_work_dir(work_dir)
    try:
        ctx = create_headless_context()
    except GLUnavailableError as exc:
        raise InputError(str(exc)) from None
    try:
        for chunk in chunks:
            expected = len(shown_frames(info, all_pts, chunk.start, chunk.end))
            report = None if on_progress is None else _bind(on_progress, chunk)
            render_chunk(ctx, settings, chunk, work_dir, expected, report)
    finally:
        ctx.release()


def _bind(on_progress: Callable[[Chunk, ExportProgress], None],
          chunk: Chunk) -> Callable[[ExportProgress], None]:
    return lambda p: on_progress(chunk, p)


def join(settings: ExportSettings, chunks: Sequence[Chunk], work_dir: Path) -> Path:
    """Join the chunks of ``settings`` in ``work_dir`` into its output (with the clip's audio
    unless the export has none)."""
    info = probe_clip(settings.clip)
    files = [chunk_path(work_dir, c, settings) for c in chunks]
    return join_chunks(info, chunks, files, settings.output, codec=settings.codec,
                       crf=settings.crf, preset=settings.preset, audio=settings.audio)
