"""Undo/redo for track edits: a snapshot stack of immutable FocusTracks.

Tracks are immutable and share their keys, so a snapshot costs a pointer; no command classes and
no inverse operations to get wrong. A drag that produces an edit every frame is merged into one
undo step by passing the same ``merge`` id until ``seal()`` (the mouse is released).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass

from rackfocus_live.timeline.keyframes import FocusTrack


@dataclass(frozen=True, slots=True)
class _Step:
    label: str
    before: FocusTrack
    after: FocusTrack


class TrackEditor:
    """Holds the current track and its edit history.

    Args:
        track: the starting track (not undoable past this point).
        limit: the most undo steps kept; the oldest are dropped.
    """

    def __init__(self, track: FocusTrack, *, limit: int = 500) -> None:
        self._track = track
        self._undo: list[_Step] = []
        self._redo: list[_Step] = []
        self._limit = limit
        self._merge: Hashable | None = None
        self._revision = 0

    @property
    def track(self) -> FocusTrack:
        """The current track; read it every frame, never keep it across edits."""
        return self._track

    @property
    def revision(self) -> int:
        """Incremented by every change (edit, undo, redo); cheap "is it dirty" checks."""
        return self._revision

    def apply(
        self,
        label: str,
        edit: FocusTrack | Callable[[FocusTrack], FocusTrack],
        *,
        merge: Hashable | None = None,
    ) -> bool:
        """Make ``edit`` the current track as one undo step.

        Args:
            label: what the step is called in the UI ("move key", "record").
            edit: the new track, or a function of the current track returning it.
            merge: an id for continuous edits (a drag); consecutive edits with the same id,
                until ``seal()``, form a single undo step.

        Returns:
            False when the edit changed nothing (no step is recorded).
        """
        new = edit(self._track) if callable(edit) else edit
        if new == self._track:
            return False
        if merge is not None and merge == self._merge and self._undo:
            last = self._undo[-1]
            self._undo[-1] = _Step(last.label, last.before, new)
        else:
            self._undo.append(_Step(label, self._track, new))
            del self._undo[: -self._limit]
        self._merge = merge
        self._redo.clear()
        self._set(new)
        return True

    def seal(self) -> None:
        """End the current merged edit (call when a drag ends)."""
        self._merge = None

    def undo(self) -> str | None:
        """Undo one step; returns its label, or None if there is nothing to undo."""
        self._merge = None
        if not self._undo:
            return None
        step = self._undo.pop()
        self._redo.append(step)
        self._set(step.before)
        return step.label

    def redo(self) -> str | None:
        """Redo one step; returns its label, or None if there is nothing to redo."""
        self._merge = None
        if not self._redo:
            return None
        step = self._redo.pop()
        self._undo.append(step)
        self._set(step.after)
        return step.label

    @property
    def undo_label(self) -> str | None:
        return self._undo[-1].label if self._undo else None

    @property
    def redo_label(self) -> str | None:
        return self._redo[-1].label if self._redo else None

    def reset(self, track: FocusTrack) -> None:
        """Start over from ``track`` with an empty history (after loading a file)."""
        self._undo.clear()
        self._redo.clear()
        self._merge = None
        self._set(track)

    def _set(self, track: FocusTrack) -> None:
        self._track = track
        self._revision += 1
