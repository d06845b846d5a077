"""Where ``depth`` writes: the one function that decides output paths, and the final rename.

The lead routes this through the shared file-safety layer (``rackfocus_live/files.py``) at
merge time; until then the rules live here: never alias the clip, the folder must exist, an
existing output is kept as ``NAME.bak`` when replaced, work in progress goes to a unique temp
name in the output's folder (same filesystem, so the final rename is atomic).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from rackfocus_live.errors import InputError
from rackfocus_live.timeline.atomic import backup_path

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
    folder = video.parent if str(video.parent) else Path(".")
    if not folder.is_dir():
        raise InputError("output folder does not exist", folder)
    if video.is_dir():
        raise InputError("is a directory, expected an output file name", video)
    sidecar = sidecar_path(video)
    for path in (video, sidecar):
        if _same_file(path, clip):
            raise InputError("output would overwrite the clip itself", path)
    return DepthOutputs(video=video, sidecar=sidecar)


def _same_file(a: Path, b: Path) -> bool:
    if a.exists() and b.exists():
        return os.path.samefile(a, b)
    return os.path.abspath(a) == os.path.abspath(b)


def temp_output(final: Path) -> Path:
    """A new, unique, empty file beside ``final`` to write into (``.NAME.XXXX.partial.mkv``)."""
    # Not mkstemp: its 0600 mode would stick to the published file; O_EXCL keeps names unique
    # and the umask decides the mode, as for any file the user makes.
    for _ in range(100):
        temp = final.with_name(f".{final.stem}.{secrets.token_hex(4)}.partial{final.suffix}")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        except OSError as exc:
            raise InputError(f"cannot write here ({exc.strerror or exc})", final.parent) from None
        os.close(fd)
        return temp
    raise InputError("cannot find a free temp file name", final.parent)


def publish(temp: Path, final: Path) -> None:
    """Rename the finished ``temp`` to ``final``; an existing ``final`` is kept as NAME.bak
    (a hard link, or a copy where links are impossible; ``final`` itself never disappears)."""
    if final.is_file():
        bak = backup_path(final)
        with contextlib.suppress(FileNotFoundError):
            bak.unlink()
        try:
            os.link(final, bak)
        except OSError:
            shutil.copyfile(final, bak)
    os.replace(temp, final)
