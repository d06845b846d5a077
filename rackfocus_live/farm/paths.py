"""Where the farm and batch commands' outputs go: the codec's suffix and a container that holds
it, then the file-safety layer (``rackfocus_live.files``): an existing folder, never an input."""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from pathlib import Path

import av

from rackfocus_live.errors import InputError
from rackfocus_live.files import check_output
from rackfocus_live.media.writer import CODECS, output_path

#: FFmpeg muxer of each output suffix the export writes (as ``media.writer`` maps them).
CONTAINER_OF_SUFFIX = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska",
                       ".webm": "webm"}


def checked_output(output: str | os.PathLike[str], codec: str,
                   inputs: Mapping[str, str | os.PathLike[str] | None]) -> Path:
    """``output`` with the codec's default suffix when it has none, checked for writing.

    Args:
        inputs: what the shot reads, by role (clip, depth, pull, shot list).

    Raises:
        InputError: the folder is missing, the suffix is not a container that holds the codec,
            or the output is one of ``inputs`` (see ``files.check_output``).
    """
    path = output_path(output, codec)
    if not _container_holds(path.suffix, CODECS[codec].encoder):
        raise InputError(f"a {path.suffix} file cannot hold {codec}; use {CODECS[codec].suffix}",
                         path)
    check_output(path, inputs)
    return path


def _container_holds(suffix: str, encoder: str) -> bool:
    """Whether the container of ``suffix`` can store ``encoder``'s stream (asked of FFmpeg's
    muxer, in memory, the way the export's writer asks when it opens the file)."""
    with av.open(io.BytesIO(), mode="w", format=CONTAINER_OF_SUFFIX[suffix.lower()]) as probe:
        return encoder in probe.supported_codecs
