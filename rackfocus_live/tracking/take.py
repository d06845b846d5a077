"""A tracked subject's focus as a take in the pull: the recorder's commit path, unchanged.

The per-frame focus is fed to a ``Recorder`` exactly as a live performance would be (one sample
per frame, at media time) and committed by ``disarm()``: the same simplification within the CoC
tolerance, the same punch-in that keeps the rest of the track, one undo step. Only the frames the
newest anchor owns are committed, so a correcting click replaces what was wrong and leaves edits
elsewhere alone.
"""

from __future__ import annotations

import math
from fractions import Fraction

from rackfocus_live.timeline.recorder import Recorder, Take
from rackfocus_live.timeline.simplify import CocTolerance
from rackfocus_live.timeline.undo import TrackEditor
from rackfocus_live.tracking.session import SubjectTrack


def commit_take(editor: TrackEditor, tolerance: CocTolerance, subject: SubjectTrack,
                fps: Fraction, *, anchor: int | None = None) -> Take | None:
    """Punch the subject's focus into ``editor``'s track as one take.

    Args:
        editor: owns the pull's track.
        tolerance: the simplification tolerance (lens, picture width).
        subject: the tracked subject.
        fps: the clip's frame rate (frame -> media time).
        anchor: commit only the frames this anchor owns (default: the newest anchor); -1 commits
            every tracked frame.

    Returns:
        The take, or None when no frame has a focus.
    """
    if not subject.anchors:
        return None
    k = len(subject.anchors) - 1 if anchor is None else anchor
    focus = subject.focus_m()
    frames = subject.frames()
    if k >= 0:
        frames = frames[subject.owner[frames - subject.start] == k]
    recorder = Recorder(editor, tolerance)
    recorder.arm()
    for frame in frames.tolist():
        value = float(focus[frame - subject.start])
        if math.isfinite(value):
            recorder.sample(editor.track.time_of(frame, fps), value)
    return recorder.disarm()
