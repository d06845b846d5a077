"""The keyframe file: versioned JSON, validated on load, saved atomically with a backup.

Schema ``rackfocus-live/keys`` version 1 (docs/formats.md has the full description)::

    {"schema": "rackfocus-live/keys", "version": 1, "generator": "rackfocus-live 0.1.0",
     "media": {"name", "size", "duration", "fps": "24000/1001", "frame_count"} | null,
     "depth": {"kind", "scale", "near", "far"} | null,
     "lens": {LensState fields} | null,
     "track": {"fps": "24000/1001", "space": "inverse" | "linear"},
     "marks": [{"label", "name", "focus_m"}],
     "keys": [{"time", "frame", "focus_m", "f_stop", "easing", "mark"}],
     "samples": {"time": [...], "focus_m": [...], "f_stop": [...] | null},
     "baked": {"fps", "frame_count", "focus_m": [...], "f_stop": [...] | null} | null}

Keys are the source of truth; ``baked`` is for other tools and round-trips (a file with baked
values and no keys loads as one linear key per frame). A key's ``time`` wins over its ``frame``
(either may be omitted). Non-finite numbers are written as strings ("inf") so the file is strict
JSON. Loading reports the first problem as ``FIELD.PATH: problem`` naming the file; a newer
version is refused before anything else is read.

The data types are in ``pull.py``, validation in ``keyfile_decode.py``. Saving is atomic and
keeps the previous file as ``NAME.bak`` (``rackfocus_live.files``). An ``Autosaver``
writes ``NAME.autosave.json`` at most every 2 s while there are changes; ``find_autosave`` offers
it for recovery when it is newer than NAME.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rackfocus_live import __version__
from rackfocus_live.files import atomic_write, backup_path, read_bytes_capped
from rackfocus_live.timeline.jsonread import JsonReader
from rackfocus_live.timeline.keyfile_decode import SCHEMA, VERSION, Decoder
from rackfocus_live.timeline.keyframes import MAX_BAKE_FRAMES
from rackfocus_live.timeline.pull import LoadedPull, MediaIdentity, Pull

__all__ = [
    "SCHEMA",
    "VERSION",
    "Autosaver",
    "LoadedPull",
    "MediaIdentity",
    "Pull",
    "autosave_path",
    "backup_path",
    "dumps_pull",
    "encode_pull",
    "find_autosave",
    "load_pull",
    "parse_pull",
    "recover_autosave",
    "save_pull",
]



# -- encoding ------------------------------------------------------------------------------------


def _num(x: float) -> float | str:
    return x if math.isfinite(x) else ("inf" if x > 0 else "-inf")


def _opt_list(values: Any) -> list[float | None]:
    return [None if math.isnan(v) else float(v) for v in values]


def encode_pull(pull: Pull, *, include_baked: bool = True) -> dict[str, Any]:
    """The JSON object for ``pull`` (see the module docstring)."""
    track = pull.track
    media = pull.media
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "version": VERSION,
        "generator": f"rackfocus-live {__version__}",
        "media": None if media is None else {
            "name": media.name, "size": media.size, "duration": media.duration,
            "fps": str(media.fps), "frame_count": media.frame_count,
        },
        "depth": None if pull.depth is None else {
            "kind": pull.depth.kind, "scale": pull.depth.scale,
            "near": pull.depth.near, "far": _num(pull.depth.far),
        },
        "lens": None if pull.lens is None else asdict(pull.lens),
        "track": {"fps": str(track.fps), "space": track.space},
        "marks": [{"label": m.label, "name": m.name, "focus_m": m.focus_m} for m in track.marks],
        "keys": [
            {"time": k.time, "frame": track.frame_of(k.time), "focus_m": k.focus_m,
             "f_stop": k.f_stop, "easing": k.easing.to_json(), "mark": k.mark}
            for k in track.keys
        ],
        "samples": {
            "time": track.samples.time.tolist(),
            "focus_m": track.samples.focus_m.tolist(),
            "f_stop": _opt_list(track.samples.f_stop) if track.samples.has_f_stop else None,
        },
        "baked": None,
    }
    fps = media.fps if media else track.fps
    count = media.frame_count if media else track.frame_count_hint()
    # A span too long to bake (keys hours past a clip-less pull's start) is left unbaked: keys
    # are the source of truth and ``baked`` is optional, so saving stays bounded.
    if include_baked and track.keys and count <= MAX_BAKE_FRAMES:
        stops = track.bake_f_stop(count, fps)
        doc["baked"] = {
            "fps": str(fps), "frame_count": count, "focus_m": track.bake(count, fps).tolist(),
            "f_stop": None if stops is None else stops.tolist(),
        }
    return doc


def dumps_pull(pull: Pull, *, include_baked: bool = True) -> bytes:
    """The file's bytes: strict JSON, UTF-8, one top-level field (and one key or mark) per line
    so files diff well and long number arrays stay on one line."""
    doc = encode_pull(pull, include_baked=include_baked)

    def compact(value: Any) -> str:
        return json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(", ", ": "))

    lines = []
    for name, value in doc.items():
        if name in ("keys", "marks") and value:
            items = ",\n".join(f"  {compact(v)}" for v in value)
            lines.append(f' "{name}": [\n{items}\n ]')
        else:
            lines.append(f' "{name}": {compact(value)}')
    return ("{\n" + ",\n".join(lines) + "\n}\n").encode("utf-8")


def save_pull(path: str | os.PathLike[str], pull: Pull, *, backup: bool = True) -> None:
    """Save ``pull`` to ``path`` atomically, keeping the previous file as ``NAME.bak``.

    Raises:
        InputError: when the file cannot be written.
    """
    atomic_write(path, dumps_pull(pull), backup=backup)


# -- loading -------------------------------------------------------------------------------------


def load_pull(path: str | os.PathLike[str], media: MediaIdentity | None = None) -> LoadedPull:
    """Read and validate a keyframe file.

    Args:
        path: the file.
        media: the clip it is being used with; a mismatch loads with a warning, keys kept at
            their times in seconds and the track moved to the clip's frame rate.

    Raises:
        InputError: naming the file and the exact field for anything invalid.
    """
    p = Path(path)
    return parse_pull(read_bytes_capped(p, "a keyframe file"), p, media)


def parse_pull(
    data: bytes | str, source: str | os.PathLike[str] | None = None,
    media: MediaIdentity | None = None,
) -> LoadedPull:
    """Validate the bytes of a keyframe file (see ``load_pull``)."""
    r = JsonReader(source)
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        r.fail("", f"not a keyframe file (not UTF-8 text at byte {exc.start})")
    if not text.strip():
        r.fail("", "file is empty (not valid JSON)")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        r.fail("", f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})")
    except RecursionError:
        r.fail("", "not a keyframe file (nested too deeply)")
    except ValueError as exc:  # e.g. an integer beyond Python's digit limit
        r.fail("", f"not valid JSON ({exc})")
    return Decoder(r, media).pull(doc)


# -- autosave ------------------------------------------------------------------------------------


def autosave_path(path: str | os.PathLike[str]) -> Path:
    """Where the autosave of ``path`` goes: ``pull.json`` -> ``pull.autosave.json``."""
    p = Path(path)
    stem = p.name[: -len(".json")] if p.name.endswith(".json") else p.name
    return p.with_name(f"{stem}.autosave.json")


def find_autosave(path: str | os.PathLike[str]) -> Path | None:
    """The autosave of ``path`` if it is worth offering: it exists and is newer than ``path``
    (or ``path`` does not exist, i.e. the session crashed before the first save)."""
    auto = autosave_path(path)
    try:
        auto_mtime = auto.stat().st_mtime_ns
    except OSError:
        return None
    try:
        main_mtime = Path(path).stat().st_mtime_ns
    except OSError:
        return auto
    return auto if auto_mtime > main_mtime else None


def recover_autosave(
    path: str | os.PathLike[str], media: MediaIdentity | None = None
) -> LoadedPull:
    """Load the autosave of ``path`` (validated like any keyframe file).

    Raises:
        InputError: if there is none, or it is invalid.
    """
    return load_pull(autosave_path(path), media)


class Autosaver:
    """Saves a pull to ``NAME.autosave.json`` at most every ``interval_s`` seconds, when changed.

    Call ``maybe_save`` every frame (cheap when nothing is due); while recording, pass the
    recorder's ``live_track()`` (built only when ``due()``) so a crash loses at most the last
    interval. The autosave skips
    the baked values (derivable from the keys) to keep it cheap, and keeps no ``.bak``.

    Args:
        path: the keyframe file the autosave belongs to.
        interval_s: the least time between two autosaves.
        clock: monotonic seconds (injectable for tests).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        interval_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = Path(path)
        self.path = autosave_path(path)
        self.interval_s = interval_s
        self._clock = clock
        self._last_time = -math.inf
        self._last: Pull | None = None

    def due(self) -> bool:
        """Whether the interval has passed: check this before building an expensive pull
        (``Recorder.live_track()``) every frame."""
        return self._clock() - self._last_time >= self.interval_s

    def maybe_save(self, pull: Pull) -> bool:
        """Autosave ``pull`` if it changed and the interval has passed; True if it saved.

        Tracks are immutable, so "changed" is a cheap identity check on the pull's parts.
        """
        if not self.due() or self._unchanged(pull):
            return False
        self.save_now(pull)
        return True

    def save_now(self, pull: Pull) -> None:
        """Autosave immediately."""
        atomic_write(self.path, dumps_pull(pull, include_baked=False), backup=False)
        self._last_time = self._clock()
        self._last = pull

    def find(self) -> Path | None:
        """The autosave, if it is worth offering for recovery (see ``find_autosave``)."""
        return find_autosave(self.source)

    def recover(self, media: MediaIdentity | None = None) -> LoadedPull:
        """Load the autosave (see ``recover_autosave``)."""
        return recover_autosave(self.source, media)

    def discard(self) -> None:
        """Remove the autosave (after a real save, or when the user declines recovery)."""
        with suppress(FileNotFoundError):
            os.unlink(self.path)
        self._last = None

    def _unchanged(self, pull: Pull) -> bool:
        last = self._last
        return last is not None and all(
            getattr(pull, f) is getattr(last, f) for f in ("track", "media", "depth", "lens")
        )
