"""Choosing files inside the app: native open dialogs (polled, never blocking the loop) and
sorting files dropped on the window into clip, depth and pull."""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

_IMAGE_EXTS = {".png", ".exr", ".tif", ".tiff", ".jpg", ".jpeg", ".pfm", ".bmp"}
_FILTERS = {
    "clip": ["Video", "*.mp4 *.mov *.mkv *.webm *.avi *.m4v *.mxf", "All files", "*"],
    "depth": ["Depth", "*.mkv *.mp4 *.mov *.png *.exr *.tif *.tiff", "All files", "*"],
    "keys": ["Focus pull", "*.json", "All files", "*"],
}


def dialogs_available() -> bool:
    """Whether native file dialogs can open: on Linux they run a helper program."""
    return not sys.platform.startswith("linux") or any(
        shutil.which(t) for t in ("zenity", "kdialog", "qarma", "matedialog"))


class OpenDialog:
    """A native open-file dialog (imgui-bundle's portable-file-dialogs), polled each frame.

    Raises:
        RuntimeError: no dialog program on this Linux machine (zenity, kdialog...), with a hint.
    """

    def __init__(self, title: str, role: str, start_dir: str) -> None:
        if not dialogs_available():
            raise RuntimeError("no file dialog program (install zenity); drop files on the "
                               "window instead")
        from imgui_bundle import portable_file_dialogs as pfd

        self.role = role
        self._dialog = pfd.open_file(title, start_dir, _FILTERS[role])

    def poll(self) -> str | None:
        """None while open; the chosen path, or "" when cancelled."""
        if not self._dialog.ready(0):
            return None
        chosen = self._dialog.result()
        return chosen[0] if chosen else ""


class SaveDialog:
    """A native save-file dialog, polled each frame (the dialog asks before overwriting).

    Args:
        title: window title.
        default_path: the file name (and folder) it starts with.
        filters: pairs of label and patterns, as ``["Video", "*.mp4 *.mov", ...]``.

    Raises:
        RuntimeError: no dialog program on this Linux machine; type the path instead.
    """

    def __init__(self, title: str, default_path: str, filters: list[str]) -> None:
        if not dialogs_available():
            raise RuntimeError("no file dialog program (install zenity); type the output path")
        from imgui_bundle import portable_file_dialogs as pfd

        self._dialog = pfd.save_file(title, default_path, filters)

    def poll(self) -> str | None:
        """None while open; the chosen path, or "" when cancelled."""
        if not self._dialog.ready(0):
            return None
        return self._dialog.result() or ""

    def kill(self) -> None:
        """Close the dialog without an answer (the app is closing)."""
        self._dialog.kill()


@dataclass(frozen=True)
class Dropped:
    """What a drop means: a clip (with its depth), a depth for the open clip, and/or a pull."""

    clip: Path | None = None
    depth: Path | None = None
    keys: Path | None = None


def looks_like_depth(path: Path) -> bool:
    return "depth" in path.stem.lower() or path.suffix.lower() in _IMAGE_EXTS


def sibling_depth(clip: Path) -> Path | None:
    """CLIP_depth.* (or CLIP.depth.*, CLIP-depth.*) next to a clip, if there is one."""
    for sep in ("_depth", ".depth", "-depth"):
        for ext in (".mkv", ".mp4", ".mov", ".exr", ".png"):
            candidate = clip.with_name(f"{clip.stem}{sep}{ext}")
            if candidate.is_file():
                return candidate
    return None


def sort_dropped(paths: list[Path]) -> Dropped:
    """A .json is a pull; a name with "depth" in it, or an image, is depth; anything else is a
    clip, whose depth is the dropped depth or one found next to it."""
    keys = next((p for p in paths if p.suffix.lower() == ".json"), None)
    media = [p for p in paths if p.suffix.lower() != ".json"]
    depth = next((p for p in media if looks_like_depth(p)), None)
    clip = next((p for p in media if not looks_like_depth(p)), None)
    if clip is not None and depth is None:
        depth = sibling_depth(clip)
    return Dropped(clip, depth, keys)
