"""Per-clip state: a clip's pull, marks, lens and depth convention live in a sidecar next to it.

``CLIP.rackfocus.json`` (for ``CLIP.mp4``) is a keyframe file (``timeline.keyfile``: keys,
marks, the raw recorded takes, the lens, the depth convention and the clip's identity), written
atomically with the previous version kept as ``.bak``. The app writes it when it leaves a clip
(another clip opened, the window closed) if the user changed anything there, and reads it when
the clip is opened again, as an editor reopens a project: opening a clip starts from that clip's
own state, or from clean defaults, never from another clip's.

A sidecar made for another clip of the same name stem (``shot.mov`` beside ``shot.mp4``) is not
used: it names the clip it belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rackfocus_live.errors import InputError
from rackfocus_live.timeline.keyfile import load_pull, save_pull
from rackfocus_live.timeline.pull import MediaIdentity, Pull

#: What the sidecar's name adds to the clip's stem.
SIDECAR_SUFFIX = ".rackfocus.json"


def sidecar_path(clip: str | Path) -> Path:
    """Where the state of ``clip`` is kept (one small function: the safety layer may route it)."""
    return Path(clip).with_suffix(SIDECAR_SUFFIX)


@dataclass
class ClipState:
    """A clip's saved state (the sidecar's pull) and what the user should hear about it."""

    pull: Pull
    path: Path
    warnings: list[str] = field(default_factory=list)


def load_clip_state(clip: str | Path, media: MediaIdentity | None) -> ClipState | None:
    """The saved state of ``clip``; None when there is none (or it belongs to another clip).

    Raises:
        InputError: the sidecar exists but cannot be read (one line naming it).
    """
    path = sidecar_path(clip)
    if not path.is_file():
        return None
    loaded = load_pull(path, media)
    saved_for = loaded.pull.media
    if saved_for is not None and saved_for.name != Path(clip).name:
        return None
    return ClipState(loaded.pull, path, list(loaded.warnings))


def save_clip_state(clip: str | Path, pull: Pull) -> Path:
    """Write the sidecar of ``clip`` (atomic; the previous one kept as a backup).

    Raises:
        InputError: it cannot be written (read-only folder, full disk...).
    """
    path = sidecar_path(clip)
    if path.resolve() == Path(clip).resolve():  # never over the clip itself
        raise InputError("the clip state would overwrite the clip", path)
    save_pull(path, pull)
    return path
