"""Where ``depth`` writes: the depth video and its sidecar, checked by the file-safety layer
(``rackfocus_live.files``: never the clip, an existing folder; the writers replace files
atomically and keep ``NAME.bak``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from rackfocus_live.errors import InputError
from rackfocus_live.files import check_output

DEPTH_SUFFIX = ".mkv"


@dataclass(frozen=True, slots=True)
class DepthOutputs:
    """The files one ``depth`` run leaves: the 16-bit disparity video and its JSON sidecar."""

    video: Path
    sidecar: Path


def default_depth_path(clip: Path) -> Path:
    """``shot.mp4`` -> ``shot_depth.mkv`` beside it."""
    return clip.with_name(f"{clip.stem}_depth{DEPTH_SUFFIX}")


def sidecar_path(video: Path) -> Path:
    """``shot_depth.mkv`` -> ``shot_depth.json``."""
    return video.with_suffix(".json")


def depth_output_paths(clip: Path, out: str | os.PathLike[str] | None) -> DepthOutputs:
    """The depth video and sidecar for ``clip``; ``out`` None means ``CLIP_depth.mkv``.

    Raises:
        InputError: not ``.mkv``, no such folder, a directory, or a path that is the clip itself.
    """
    video = default_depth_path(clip) if out is None else Path(out)
    if not video.suffix:
        video = video.with_name(video.name + DEPTH_SUFFIX)
    if video.suffix.lower() != DEPTH_SUFFIX:
        raise InputError("depth output must be a .mkv file (FFV1 16-bit grey)", video)
    sidecar = sidecar_path(video)
    video = check_output(video, {"clip": clip})
    sidecar = check_output(sidecar, {"clip": clip}, [video])
    return DepthOutputs(video=video, sidecar=sidecar)
