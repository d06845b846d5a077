"""Focus marks as a focus puller uses them: set a mark, jump to it, pull to it.

Marks are labelled A, B, C... and bound to the number keys 1..9 by the curve editor: a digit
jumps to the mark, Ctrl+digit sets it to the current focus, Shift+digit pulls to it from the
playhead. The actions here are pure; the UI only maps keys to them.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Literal

from rackfocus_live.timeline.easing import get_easing
from rackfocus_live.timeline.editing import pull_to_mark, set_mark
from rackfocus_live.timeline.keyframes import FocusTrack, Mark

MarkAction = Literal["set", "jump", "pull"]
LABELS: str = string.ascii_uppercase


def label_for_slot(slot: int) -> str:
    """Mark label of number key ``slot`` (1 -> "A" ... 9 -> "I")."""
    if not 1 <= slot <= 9:
        raise ValueError("mark slots are 1..9")
    return LABELS[slot - 1]


def next_free_label(marks: tuple[Mark, ...]) -> str | None:
    """The first unused label A..Z, or None when all are taken."""
    used = {m.label for m in marks}
    return next((c for c in LABELS if c not in used), None)


@dataclass(frozen=True, slots=True)
class MarkResult:
    """What a mark action produced.

    Attributes:
        track: the new track (the same object when the action does not edit it).
        focus_m: a focus to set live (jump), else None.
        message: one line for the status bar.
    """

    track: FocusTrack
    focus_m: float | None
    message: str


def apply_mark_action(
    track: FocusTrack,
    action: MarkAction,
    label: str,
    *,
    playhead_s: float,
    current_focus_m: float,
    pull_duration_s: float = 1.0,
    pull_easing: str = "ease-in-out",
) -> MarkResult:
    """Set, jump to or pull to mark ``label``.

    ``set`` stores the current focus under the label (keys linked to it follow); ``jump`` asks
    for the mark's focus live (no edit; while recording, the recorder picks it up); ``pull``
    keys a pull from the playhead that lands on the mark ``pull_duration_s`` later.
    """
    mark = track.mark(label)
    if action == "set":
        new = set_mark(track, label, current_focus_m)
        return MarkResult(new, None, f"mark {label} set to {current_focus_m:.2f} m")
    if mark is None:
        return MarkResult(track, None, f"no mark {label} yet (Ctrl+number sets it)")
    if action == "jump":
        return MarkResult(track, mark.focus_m, f"focus to {mark.title} ({mark.focus_m:.2f} m)")
    try:
        easing = get_easing(pull_easing)
    except (KeyError, ValueError):
        easing = get_easing("ease-in-out")
    new = pull_to_mark(track, playhead_s, label, pull_duration_s, easing,
                       current_focus_m=current_focus_m)
    return MarkResult(new, None, f"pull to {mark.title} over {pull_duration_s:g} s")
