"""The focus pull of a preview session: load, save, edit (undoable) and record live.

Ties the timeline modules (``keyfile``, ``undo.TrackEditor``, ``recorder.Recorder``) to the
``UiState``: the state follows the editor's track, and recording samples the focus shown at each
frame's media time. No window or GL here.
"""

from __future__ import annotations

from pathlib import Path

from rackfocus_live.errors import InputError
from rackfocus_live.media.probe import MediaInfo
from rackfocus_live.timeline.keyfile import MediaIdentity, Pull, load_pull, save_pull
from rackfocus_live.timeline.keyframes import FocusTrack
from rackfocus_live.timeline.recorder import Recorder, resimplify
from rackfocus_live.timeline.simplify import DEFAULT_TOLERANCE_PX, CocTolerance
from rackfocus_live.timeline.undo import TrackEditor
from rackfocus_live.ui.state import UiState


def media_identity(info: MediaInfo | None) -> MediaIdentity | None:
    """The identity a keyframe file records for the clip (None without a clip)."""
    if info is None:
        return None
    try:
        # A plate's identity is sized by its first frame (the pattern is no file).
        first = info.plate.sequence.files[0] if info.plate is not None else info.path
        size = first.stat().st_size
    except OSError:
        size = 0
    return MediaIdentity(info.path.name, size, info.duration, info.fps, info.frame_count)


class PullController:
    """The pull being played, edited and recorded; messages go to ``state.say``."""

    def __init__(self, state: UiState) -> None:
        self.state = state
        self.editor: TrackEditor | None = None
        self.recorder: Recorder | None = None
        self.path: Path | None = None
        #: Simplification tolerance (CoC px) for takes and for re-simplifying the raw samples.
        self.tolerance_px = DEFAULT_TOLERANCE_PX

    @property
    def recording(self) -> bool:
        return self.recorder is not None and self.recorder.armed

    def open(self, path: str | Path, info: MediaInfo | None) -> bool:
        """Load a keyframe file; the pull then drives focus during playback."""
        try:
            loaded = load_pull(path, media_identity(info))
        except InputError as exc:
            self.state.say(str(exc))
            return False
        self.editor = TrackEditor(loaded.pull.track)
        self.path = Path(path)
        self.state.set_track(self.editor.track)
        self.reset_recorder()
        if loaded.warnings:
            self.state.say(loaded.warnings[0], "warning")
        return True

    def save(self, info: MediaInfo | None, path: str | Path | None = None) -> bool:
        """Save the pull (to ``path``, the file it came from, or CLIP.pull.json)."""
        if self.editor is None:
            self.state.say("no pull to save")
            return False
        target = Path(path) if path is not None else self.path
        if target is None:
            target = info.path.with_suffix(".pull.json") if info else Path("pull.json")
        pull = Pull(self.editor.track, media_identity(info), self.state.mapping, self.state.lens)
        try:
            save_pull(target, pull)
        except InputError as exc:
            self.state.say(str(exc))
            return False
        self.path = target
        self.state.say(f"saved {target}", "ok")
        return True

    def sync(self) -> None:
        """Pick up edits made through the editor (curve editor, undo)."""
        if self.editor is not None and self.state.track is not self.editor.track:
            self.state.track = self.editor.track
            self.state.revision += 1

    def tolerance(self) -> CocTolerance:
        """The simplification tolerance for the current lens, image width and depth range."""
        m = self.state.mapping
        near = max(m.near, self.state.lens.focal_length_m * 2)
        return CocTolerance(self.state.lens, max(self.state.image_size[0], 1),
                            self.tolerance_px, depth_range_m=(near, max(m.far, near * 2)))

    def reset_recorder(self) -> None:
        """A recorder for the current lens and depth range (the simplification tolerance)."""
        if self.editor is None:
            return
        if self.recorder is not None and self.recorder.armed:
            self.recorder.disarm()
        t = self.state.transport
        duration = t.duration_s if t.frame_count > 0 else None
        self.recorder = Recorder(self.editor, self.tolerance(), duration)

    def resimplify(self) -> None:
        """Fit the pull's raw recorded samples again with ``tolerance_px`` (one undo step)."""
        if self.editor is None or len(self.editor.track.samples) == 0:
            self.state.say("no recorded take to simplify", "warning")
            return
        new, n = resimplify(self.editor.track, self.tolerance())
        self.editor.apply("re-simplify", new)
        self.sync()
        self.state.say(f"re-simplified the recorded takes: {n} keys at "
                       f"{self.tolerance_px:g} px", "ok")

    def clear(self) -> None:
        """No pull (a clip opened with no state of its own)."""
        if self.recorder is not None and self.recorder.armed:
            self.recorder.cancel()
        self.editor, self.recorder, self.path = None, None, None
        self.state.track = None
        self.state.follow_track = False
        self.state.revision += 1

    def adopt(self, track: FocusTrack) -> None:
        """Make ``track`` the pull (restored clip state; "Save pull" still asks CLIP.pull.json).
        """
        self.editor = TrackEditor(track)
        self.path = None
        self.state.set_track(self.editor.track)
        self.reset_recorder()

    def ensure_editor(self) -> None:
        """An empty pull at the clip's frame rate when there is none yet (to record or mark)."""
        if self.editor is None:
            self.editor = TrackEditor(FocusTrack(fps=self.state.transport.fps))
            self.state.track = self.editor.track

    def toggle_record(self) -> None:
        """Arm recording (the live focus is sampled at every shown frame while playing) or stop
        and commit the take as keys (one undo step)."""
        self.ensure_editor()
        assert self.editor is not None
        if self.recorder is not None and self.recorder.armed:
            # The take runs to the playhead: the user stopped here, not at the last shown frame.
            take = self.recorder.stop(self.state.transport.frame_time_s)
            self.recorder.disarm()
            if take is not None:
                self.state.say(take.describe(), "ok")
            self.state.set_track(self.editor.track)
        else:
            self.reset_recorder()
            assert self.recorder is not None
            self.recorder.arm()
            self.state.follow_track = False
            self.state.say("recording: play and pull focus (R stops)", "info")

    def sample(self, time_s: float, focus_m: float) -> None:
        """Record the focus shown at media time ``time_s`` (while armed and playing)."""
        if self.recorder is None or not self.recorder.armed:
            return
        self.recorder.sample(time_s, focus_m)
