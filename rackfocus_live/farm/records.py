"""Completion records of a batch: a shot counts as finished only if its record says so AND its
output is still the file the record describes.

The record of a shot is written (atomically, by the one coordinating process) only after its
export has finalised and renamed the output, so a crash at any point leaves either no record
(the shot runs again) or a record of a complete file. A record goes stale, and the shot runs
again, when the shot's definition or an input file changes, or the output is replaced or gone.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

from rackfocus_live.files import atomic_write

RECORD_VERSION = 1


def record_path(shot_list: Path) -> Path:
    """Where a shot list's completion records live: ``SHOTS.json`` -> ``SHOTS.done.json``."""
    return shot_list.with_name(f"{shot_list.stem}.done.json")


def fingerprint(argv: Sequence[str], inputs: Sequence[Path | str | None]) -> str:
    """A digest of a shot's definition and its input files (size and modification time)."""
    h = hashlib.sha256(json.dumps(list(argv)).encode())
    for item in inputs:
        if item is None:
            continue
        try:
            st = os.stat(item)
            h.update(f"{os.fspath(item)}:{st.st_size}:{st.st_mtime_ns};".encode())
        except OSError:  # a sequence pattern: its name is in argv already
            h.update(f"{os.fspath(item)}:-;".encode())
    return h.hexdigest()


class CompletionRecords:
    """The finished shots of one shot list, on disk."""

    def __init__(self, path: Path, *, ignore_existing: bool = False) -> None:
        self.path = path
        self._shots: dict[str, dict[str, object]] = {}
        if ignore_existing:  # --force: every shot runs; records are rewritten as shots finish
            return
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(doc, dict) and doc.get("version") == RECORD_VERSION:
                self._shots = dict(doc.get("shots", {}))
        except (OSError, ValueError):
            self._shots = {}  # no record yet, or unreadable: nothing counts as finished

    def finished(self, name: str, output: Path, digest: str) -> bool:
        """The shot's output is the complete file recorded for this definition."""
        rec = self._shots.get(name)
        if not isinstance(rec, dict):
            return False
        try:
            st = output.stat()
        except OSError:
            return False
        return (rec.get("output") == str(output.resolve()) and rec.get("fingerprint") == digest
                and rec.get("size") == st.st_size and rec.get("mtime_ns") == st.st_mtime_ns)

    def mark_finished(self, name: str, output: Path, digest: str) -> None:
        """Record the shot as finished (call only once ``output`` is final); saved at once."""
        st = output.stat()
        self._shots[name] = {"output": str(output.resolve()), "fingerprint": digest,
                             "size": st.st_size, "mtime_ns": st.st_mtime_ns}
        doc = {"version": RECORD_VERSION, "shots": self._shots}
        atomic_write(self.path, (json.dumps(doc, indent=2) + "\n").encode(), backup=False)
