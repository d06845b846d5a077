"""Crash safety of a pull: autosave while it changes, and the offer to get it back after a crash.

Window-free (no glfw, no GL), so it is tested directly. Two parts:

* :class:`PullAutosave` writes ``NAME.autosave.json`` next to the pull's keyframe file (the file it
  was loaded from, else ``CLIP.pull.json``, where ``PullController.save`` puts it) whenever the
  pull has changed and ``interval_s`` has passed, in wall time *or* in media time. While a take is
  being recorded it writes the take as it stands (``Recorder.live_track()``: one key per raw
  sample), so a crash, a kill or a power cut loses at most the last interval of the performance:
  1.5 s of media time by default, inside the 2 s the app promises. Media time counts too because
  playback can run faster than real time. Saves are atomic (``rackfocus_live.files``), so a
  kill during an autosave leaves the previous autosave whole. A failed autosave (disk full) is
  said once in the panel and retried an interval later; the take stays in memory.
* :func:`find_recovery` looks for an autosave newer than its keyframe file when a clip (or a
  pull) is opened and returns a :class:`RecoveryOffer`: one line to show, ``accept`` to load it
  as the current pull (not yet saved: saving writes the keyframe file), ``discard`` to delete it.

Hooks the app calls (each one line)::

    offer = find_recovery(self.pulls, info)          # after open_media / open_keys: show it
    self.autosave.tick(info, t.frame_time_s)         # every frame, after pulls.sample(...)
    self.autosave.saved()                            # after a successful save_keys()
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from rackfocus_live.errors import InputError
from rackfocus_live.media.probe import MediaInfo
from rackfocus_live.timeline.keyfile import (
    Autosaver,
    LoadedPull,
    Pull,
    autosave_path,
    find_autosave,
    load_pull,
)
from rackfocus_live.timeline.undo import TrackEditor
from rackfocus_live.ui.pulls import PullController, media_identity

#: Seconds (wall or media) between autosaves of a changing pull: what a crash can lose at most.
AUTOSAVE_INTERVAL_S = 1.5


def pull_path(pulls: PullController, info: MediaInfo | None) -> Path:
    """The keyframe file the pull belongs to: the one it came from, else where ``save`` puts a
    new one (``CLIP.pull.json``, or ``pull.json`` without a clip)."""
    if pulls.path is not None:
        return pulls.path
    return info.path.with_suffix(".pull.json") if info is not None else Path("pull.json")


class PullAutosave:
    """Autosaves the pull of a ``PullController``; see the module docstring.

    Args:
        pulls: the pull being edited and recorded.
        interval_s: the least wall or media time between two autosaves.
        clock: monotonic wall seconds (injectable for tests).
    """

    def __init__(
        self,
        pulls: PullController,
        *,
        interval_s: float = AUTOSAVE_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pulls = pulls
        self.interval_s = interval_s
        self._clock = clock
        self._saver: Autosaver | None = None
        self._editor: TrackEditor | None = None
        self._baseline: Hashable = None  # fingerprint of what is on disk (or was autosaved)
        self._last_wall = -math.inf
        self._last_media: float | None = None
        self._failed: str | None = None
        #: Autosaves written so far (tests, the HUD).
        self.saves = 0

    @property
    def path(self) -> Path | None:
        """The autosave file currently written to, if any."""
        return None if self._saver is None else self._saver.path

    def tick(self, info: MediaInfo | None, media_time_s: float | None = None) -> bool:
        """Call once per frame: autosave when the pull changed and the interval has passed.

        Cheap when nothing is due (no track is built). Never raises: a failed write is said once
        in the panel and retried one interval later.

        Args:
            info: the open clip (for the default file name and the pull's clip identity).
            media_time_s: the media time of the frame shown (counts towards the interval).

        Returns:
            True when an autosave was written.
        """
        pulls = self.pulls
        editor = pulls.editor
        if editor is None:
            return False
        if editor is not self._editor:
            # A pull just loaded, recovered or created: what it holds is on disk (or empty).
            self._editor = editor
            self._baseline = self._fingerprint()
            self._last_wall = self._clock()
            self._last_media = media_time_s
        if not self._due(media_time_s):
            return False
        fingerprint = self._fingerprint()
        if fingerprint == self._baseline:
            return False
        path = pull_path(pulls, info)
        if self._saver is None or self._saver.source != path:
            self._saver = Autosaver(path, interval_s=self.interval_s, clock=self._clock)
        recorder = pulls.recorder
        track = recorder.live_track() if recorder is not None and recorder.recording \
            else editor.track
        state = pulls.state
        pull = Pull(track, media_identity(info), state.mapping, state.lens)
        self._last_wall = self._clock()
        self._last_media = media_time_s
        try:
            self._saver.save_now(pull)
        except InputError as exc:
            message = f"autosave failed, will retry: {exc}"
            if message != self._failed:  # once per distinct problem, not every interval
                state.say(message)
                self._failed = message
            return False
        if self._failed is not None:
            state.say(f"autosave works again: {self._saver.path}", "ok")
            self._failed = None
        self._baseline = fingerprint
        self.saves += 1
        return True

    def flush(self, info: MediaInfo | None) -> bool:
        """Autosave now if the pull changed, whatever the interval (on close: unsaved work is
        offered back at the next start instead of being lost)."""
        self._last_wall = -math.inf
        return self.tick(info)

    def saved(self) -> None:
        """The pull was just saved to its keyframe file: the autosave is no longer needed."""
        if self._saver is not None:
            self._saver.discard()
        self._editor = self.pulls.editor
        self._baseline = self._fingerprint()

    def _due(self, media_time_s: float | None) -> bool:
        if self._clock() - self._last_wall >= self.interval_s:
            return True
        if media_time_s is None or self._last_media is None:
            return False
        # Either direction: a loop back to the start is a change worth saving too.
        return abs(media_time_s - self._last_media) >= self.interval_s

    def _fingerprint(self) -> Hashable:
        """What identifies the pull's content: every edit bumps the editor's revision, and a
        take in progress is identified by its sample count and last sample (built only when an
        autosave is due). The lens is left out on purpose: dragging the focus without recording
        changes the lens, not the pull."""
        pulls = self.pulls
        editor = pulls.editor
        take: tuple[int, float, float] | None = None
        recorder = pulls.recorder
        if recorder is not None and recorder.recording:
            samples = recorder.pending_samples()
            take = (len(samples), float(samples.time[-1]), float(samples.focus_m[-1]))
        return (id(editor), None if editor is None else editor.revision, take)


@dataclass(frozen=True, slots=True)
class RecoveryOffer:
    """An autosave worth offering back.

    Attributes:
        pull_path: the keyframe file it belongs to (where accepting and then saving writes).
        autosave: the autosave file.
        loaded: its validated content (with warnings, e.g. made for another clip).
        saved_at: when it was written (seconds since the epoch).
    """

    pull_path: Path
    autosave: Path
    loaded: LoadedPull
    saved_at: float

    def describe(self) -> str:
        """One line for the panel: what would come back, and from when."""
        track = self.loaded.pull.track
        when = datetime.fromtimestamp(self.saved_at).strftime("%Y-%m-%d %H:%M:%S")
        parts = [f"{len(track.keys)} keys"]
        if len(track.samples):
            t = track.samples.time
            parts.append(f"{len(track.samples)} recorded samples, {float(t[0]):.2f}-"
                         f"{float(t[-1]):.2f} s")
        elif track.keys:
            parts.append(f"{track.keys[0].time:.2f}-{track.keys[-1].time:.2f} s")
        return (f"{self.pull_path.name}: unsaved pull from {when} found ({', '.join(parts)}); "
                "recover it or discard it")

    def accept(self, pulls: PullController) -> None:
        """Make the autosaved pull the current one (one undo history from here). The autosave
        stays until the pull is saved, so a second crash still finds it."""
        editor = TrackEditor(self.loaded.pull.track)
        pulls.editor = editor
        pulls.path = self.pull_path
        pulls.state.set_track(editor.track)
        pulls.reset_recorder()
        note = f"; {self.loaded.warnings[0]}" if self.loaded.warnings else ""
        pulls.state.say(f"recovered the unsaved pull of {self.pull_path.name}; save it to keep "
                        f"it{note}", "warning")

    def discard(self) -> None:
        """Delete the autosave (the user declined)."""
        self.autosave.unlink(missing_ok=True)


def find_recovery(pulls: PullController, info: MediaInfo | None) -> RecoveryOffer | None:
    """The autosave of the pull's keyframe file if it is newer than that file (or the file was
    never saved); None otherwise. A damaged autosave is said in the panel and not offered."""
    path = pull_path(pulls, info)
    auto = find_autosave(path)
    if auto is None:
        return None
    try:
        loaded = load_pull(auto, media_identity(info))
        saved_at = auto.stat().st_mtime
    except InputError as exc:
        pulls.state.say(f"ignoring a damaged autosave: {exc}", "warning")
        return None
    except OSError:
        return None  # removed meanwhile
    return RecoveryOffer(path, autosave_path(path), loaded, saved_at)
