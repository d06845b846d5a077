"""The one place the farm and batch commands decide where an output goes (the lead's file-safety
layer takes over here): the codec's suffix, an existing folder, never one of the inputs, and a
unique temporary name beside it to write to until the file is complete."""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Iterable
from pathlib import Path

import av

from rackfocus_live.errors import InputError
from rackfocus_live.media.writer import CODECS, output_path

#: FFmpeg muxer of each output suffix the export writes (as ``media.writer`` maps them).
CONTAINER_OF_SUFFIX = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska",
                       ".webm": "webm"}


def checked_output(output: str | os.PathLike[str], codec: str,
                   inputs: Iterable[str | os.PathLike[str] | None]) -> Path:
    """``output`` with the codec's default suffix when it has none, in an existing folder.

    Raises:
        InputError: the folder is missing, the suffix is not a container we write, or the
            output is one of ``inputs`` (clip, depth, pull, shot list).
    """
    path = output_path(output, codec)
    if not _container_holds(path.suffix, CODECS[codec].encoder):
        raise InputError(f"a {path.suffix} file cannot hold {codec}; use {CODECS[codec].suffix}",
                         path)
    target = path.resolve()
    for item in inputs:
        if item is not None and Path(item).resolve() == target:
            raise InputError("output would overwrite an input", path)
    return path


def _container_holds(suffix: str, encoder: str) -> bool:
    """Whether the container of ``suffix`` can store ``encoder``'s stream (asked of FFmpeg's
    muxer, in memory, the way the export's writer asks when it opens the file)."""
    with av.open(io.BytesIO(), mode="w", format=CONTAINER_OF_SUFFIX[suffix.lower()]) as probe:
        return encoder in probe.supported_codecs


def temp_beside(final: Path, tag: str) -> Path:
    """A unique hidden name next to ``final`` (same folder, so the final rename is atomic),
    keeping the container suffix: ``shot.mkv`` -> ``.shot.joining-3f2a....mkv``; it never
    matches the pattern of a finished file."""
    return final.with_name(f".{final.stem}.{tag}-{uuid.uuid4().hex[:12]}{final.suffix}")
