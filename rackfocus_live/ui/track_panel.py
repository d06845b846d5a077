"""Track-to-focus in the app: pick a subject with a click, the focus follows it (issue 15).

The panel's "Track" section has a Track button that arms tracking (the next click on the picture
picks the subject instead of setting focus; alt-click picks one at any time). The subject is then
tracked forward and backward through the clip on a worker thread (``tracking.job``) while the
preview stays live, with a progress bar and Cancel. When it finishes, the subject's focus is
committed to the pull as one take through the recorder's path (``tracking.take``): the same
simplification, punch-in and undo as a recorded take. Clicking the subject again at another
frame adds an anchor: the track is corrected from there, and only those frames are re-committed.
Alt-shift-click on another subject racks to it: the new subject owns the frames from there on
only, the first keeps the frames before.

Over the picture, the tracked box of the shown frame is drawn (solid when tracked, dashed and
red where the subject is lost and the focus is held), also while tracking is running for frames
already done. Below the buttons a strip shows the whole clip: tracked frames green, lost frames
red, the playhead white; clicking the strip seeks there.

Main thread only; no GL here beyond ImGui draw lists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from imgui_bundle import imgui

from rackfocus_live.media.depthsource import DepthSource
from rackfocus_live.media.probe import MediaInfo
from rackfocus_live.timeline.keyframes import FocusTrack
from rackfocus_live.timeline.simplify import CocTolerance
from rackfocus_live.timeline.undo import TrackEditor
from rackfocus_live.tracking.job import TrackJob, TrackProgress
from rackfocus_live.tracking.session import Anchor, SubjectTrack
from rackfocus_live.tracking.take import commit_take
from rackfocus_live.tracking.tracker import Box, TrackStatus

if TYPE_CHECKING:
    from rackfocus_live.ui.app import App

TRACKED_RGBA = (0.35, 1.0, 0.45, 0.95)
LOST_RGBA = (1.0, 0.3, 0.25, 0.95)
NONE_RGBA = (0.35, 0.35, 0.38, 1.0)
STRIP_HEIGHT = 10.0
#: Image pixels -> window units (the app builds it from its viewer).
ToWindow = Callable[[float, float], tuple[float, float]]


@dataclass
class TrackEvents:
    """What the section's widgets asked for this frame."""

    toggle_arm: bool = False
    cancel: bool = False
    clear: bool = False
    seek_frame: int | None = None


@dataclass
class TrackController:
    """The subject being tracked for the open clip, and the job tracking it."""

    armed: bool = False
    job: TrackJob | None = None
    subject: SubjectTrack | None = None
    progress: TrackProgress | None = None
    message: str = ""
    #: Widget rectangles (x0, y0, x1, y1) by label from the last draw, for tests driving input.
    rects: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)
    #: Boxes of the running job, as its progress reports them (some frames may be missing).
    live: dict[int, tuple[Box, TrackStatus]] = field(default_factory=dict)
    _clip: Path | None = None

    @property
    def running(self) -> bool:
        return self.job is not None and self.job.running

    def toggle_arm(self) -> None:
        """Track mode on/off (the Track button, the T key): the next click picks the subject."""
        self.armed = not self.armed and not self.running

    def wants_click(self, alt: bool) -> bool:
        """Whether a click on the picture picks the subject (armed, or alt held)."""
        return self.armed or alt

    def reset(self) -> None:
        """A new clip was opened: forget the subject, stop a running job."""
        self.cancel()
        self.job = None
        self.subject = None
        self.progress = None
        self.armed = False
        self.message = ""
        self._clip = None

    def cancel(self) -> None:
        if self.job is not None and self.job.running:
            self.job.cancel()
            self.job.join(5.0)

    def start(self, info: MediaInfo, depth: DepthSource | None, frame: int,
              x: float, y: float, *, rack: bool = False) -> bool:
        """Track the subject at display pixel (x, y) of ``frame``; False (with a message) when
        it cannot start. A click on the same clip adds an anchor to the current subject; with
        ``rack`` it takes over only from ``frame`` on (a rack to another subject)."""
        if depth is None:
            self.message = "tracking needs depth: open the clip's depth first"
            return False
        if self.running:
            self.message = "tracking is running: wait or cancel"
            return False
        width, height = info.display_size
        if not (0 <= x < width and 0 <= y < height and 0 <= frame < info.frame_count):
            return False
        if self._clip != info.path or self.subject is None:
            self.subject = SubjectTrack(0, info.frame_count)
            self._clip = info.path
        anchor = Anchor(frame, x, y, backward=not rack)
        self.job = TrackJob(info, depth, self.subject, anchor).start()
        self.progress = None
        self.live = {}
        self.armed = False
        self.message = f"tracking from frame {frame}"
        return True

    def update(self) -> SubjectTrack | None:
        """Poll the job (once per UI frame); returns the subject once when a job has finished."""
        if self.job is None:
            return None
        self.progress = self.job.poll()
        state = self.progress.state
        if self.progress.latest is not None:
            frame, box, status = self.progress.latest
            self.live[frame] = (box, status)
        if state == "running":
            return None
        job, self.job = self.job, None
        self.live = {}
        if state == "done" and job.result is not None:
            self.subject = job.result
            spans = self.subject.lost_spans()
            lost = sum(b - a + 1 for a, b in spans)
            self.message = (f"tracked {len(self.subject.frames())} frames"
                            + (f", lost in {lost} (focus held)" if lost else ""))
            return self.subject
        self.message = "tracking cancelled" if state == "cancelled" else (
            self.progress.message or "tracking failed")
        return None

    def box_at(self, frame: int) -> tuple[Box, TrackStatus] | None:
        """The box to draw at ``frame``: while a job runs, what it has reported for that frame
        (else the previous result's); then the finished subject's."""
        if frame in self.live:
            return self.live[frame]
        return None if self.subject is None else self.subject.at(frame)

    # -- the app's hooks (main thread) -----------------------------------------------------------

    def click(self, app: App, ix: float, iy: float, *, rack: bool = False) -> bool:
        """Pick the subject at image pixel (ix, iy) of the shown frame (the Track mode's click,
        alt-click; alt-shift-click racks to it from this frame on)."""
        session = app.session
        if session is None:
            app.state.say("open a clip first")
            return False
        ok = self.start(session.info, session.depth_source, app.state.transport.frame, ix, iy,
                        rack=rack)
        app.state.say(self.message)
        return ok

    def panel(self, app: App) -> None:
        """The Track section of the side panel, and what its widgets ask for."""
        session = app.session
        count = session.info.frame_count if session is not None else 1
        has_depth = session is not None and session.depth_source is not None
        ev = self.draw_section(app.state.transport.frame, count, has_depth)
        if ev.toggle_arm:
            self.toggle_arm()
        if ev.cancel:
            self.cancel()
        if ev.clear:
            self.subject, self.live, self.message = None, {}, ""
        if ev.seek_frame is not None:
            app.state.seek(ev.seek_frame)

    def frame(self, app: App) -> None:
        """Once per UI frame, after the picture is drawn: pick up a finished job (commit its
        focus as a take) and draw the tracked box over the picture."""
        running = self.job is not None
        finished = self.update()
        if finished is not None:
            self._commit(app, finished)
        elif running and self.job is None:
            app.state.say(self.message)
        if app.session is None:
            return
        (vw, vh), (sx, sy) = app.layout()
        viewer, size = app.state.viewer, app.state.image_size

        def to_window(ix: float, iy: float) -> tuple[float, float]:
            px, py = viewer.to_viewport((vw, vh), size, ix, iy)
            return px / sx, py / sy

        self.draw_overlay(app.state.transport.frame, to_window)

    def _commit(self, app: App, subject: SubjectTrack) -> None:
        pulls, state = app.pulls, app.state
        if pulls.editor is None:
            pulls.editor = TrackEditor(FocusTrack(fps=state.transport.fps))
        if pulls.recorder is None:
            pulls.reset_recorder()  # the shot's tolerance (lens, width, depth range)
        assert pulls.recorder is not None
        editor, message = commit_subject(subject, pulls.editor, state.transport.fps,
                                         pulls.recorder.tolerance)
        state.set_track(editor.track)
        self.message = f"{self.message}; {message}"
        state.say(self.message)

    # -- drawing ---------------------------------------------------------------------------------

    def _rect(self, label: str) -> None:
        lo, hi = imgui.get_item_rect_min(), imgui.get_item_rect_max()
        self.rects[label] = (lo.x, lo.y, hi.x, hi.y)

    def draw_section(self, frame: int, frame_count: int, has_depth: bool) -> TrackEvents:
        """The panel's Track section (inside the panel window)."""
        ev = TrackEvents()
        if not imgui.collapsing_header("Track subject", imgui.TreeNodeFlags_.default_open):
            return ev
        if self.running:
            p = self.progress
            fraction = 0.0 if p is None else p.fraction
            done = "" if p is None else f"{p.done}/{p.total}"
            imgui.progress_bar(fraction, imgui.ImVec2(-80, 0), f"tracking {done}")
            self._rect("progress")
            imgui.same_line()
            ev.cancel = imgui.button("Cancel##track")
            self._rect("Cancel##track")
        else:
            imgui.begin_disabled(not has_depth)
            label = "Click the subject...##track" if self.armed else "Track##track"
            ev.toggle_arm = imgui.button(label)
            self._rect("Track##track")
            imgui.end_disabled()
            imgui.same_line()
            imgui.begin_disabled(self.subject is None)
            ev.clear = imgui.button("Clear##track")
            self._rect("Clear##track")
            imgui.end_disabled()
        if imgui.is_item_hovered() or not self.message:
            imgui.text_disabled("Track, then click the subject (or alt-click it)")
        if self.message:
            imgui.text_wrapped(self.message)
        ev.seek_frame = self._draw_strip(frame, frame_count)
        return ev

    def _draw_strip(self, frame: int, frame_count: int) -> int | None:
        """Per-frame status over the clip; returns a frame to seek to when clicked."""
        width = imgui.get_content_region_avail().x
        origin = imgui.get_cursor_screen_pos()
        clicked = imgui.invisible_button("##trackstrip", imgui.ImVec2(max(width, 1.0),
                                                                      STRIP_HEIGHT))
        self._rect("strip")
        n = max(frame_count, 1)
        draw = imgui.get_window_draw_list()
        x0, y0 = origin.x, origin.y
        y1 = y0 + STRIP_HEIGHT
        draw.add_rect_filled(imgui.ImVec2(x0, y0), imgui.ImVec2(x0 + width, y1),
                             _u32(NONE_RGBA))
        subject = self.subject
        if subject is not None:
            for a, b, status in _runs(subject):
                colour = TRACKED_RGBA if status == TrackStatus.TRACKED else LOST_RGBA
                draw.add_rect_filled(imgui.ImVec2(x0 + width * a / n, y0),
                                     imgui.ImVec2(x0 + width * (b + 1) / n, y1), _u32(colour))
        px = x0 + width * (frame + 0.5) / n
        draw.add_line(imgui.ImVec2(px, y0 - 2), imgui.ImVec2(px, y1 + 2),
                      _u32((1.0, 1.0, 1.0, 1.0)), 2.0)
        if clicked and width > 0:
            mx = imgui.get_io().mouse_pos.x
            return min(max(int((mx - x0) / width * n), 0), n - 1)
        return None

    def draw_overlay(self, frame: int, to_window: ToWindow) -> None:
        """The tracked box of ``frame`` over the picture (background draw list: under the
        panels, over the GL picture)."""
        found = self.box_at(frame)
        if found is None:
            return
        (x, y, w, h), status = found
        (ax, ay), (bx, by) = to_window(x, y), to_window(x + w, y + h)
        draw = imgui.get_background_draw_list()
        if status == TrackStatus.TRACKED:
            draw.add_rect(imgui.ImVec2(ax, ay), imgui.ImVec2(bx, by), _u32(TRACKED_RGBA),
                          rounding=0.0, thickness=2.0)
            return
        # Lost: dashed, red; the focus holds.
        colour = _u32(LOST_RGBA)
        for (sx, sy), (ex, ey) in (((ax, ay), (bx, ay)), ((bx, ay), (bx, by)),
                                   ((bx, by), (ax, by)), ((ax, by), (ax, ay))):
            steps = 8
            for i in range(0, steps, 2):
                t0, t1 = i / steps, (i + 1) / steps
                draw.add_line(imgui.ImVec2(sx + (ex - sx) * t0, sy + (ey - sy) * t0),
                              imgui.ImVec2(sx + (ex - sx) * t1, sy + (ey - sy) * t1),
                              colour, 2.0)


def commit_subject(subject: SubjectTrack, editor: TrackEditor | None, fps: Fraction,
                   tolerance: CocTolerance) -> tuple[TrackEditor, str]:
    """Commit the newest anchor's frames as a take; returns the editor (made if there was no
    pull yet) and a message for the user."""
    if editor is None:
        editor = TrackEditor(FocusTrack(fps=fps))
    take = commit_take(editor, tolerance, subject, fps)
    if take is None:
        return editor, "the subject could not be measured"
    return editor, (f"focus follows the subject: {len(take.keys)} keys "
                    f"({take.start_s:.2f}-{take.end_s:.2f} s)")


def _runs(subject: SubjectTrack) -> list[tuple[int, int, int]]:
    """(first, last, status) runs of tracked or lost frames."""
    out: list[tuple[int, int, int]] = []
    for i in subject.frames().tolist():
        status = int(subject.status[i - subject.start])
        status = TrackStatus.TRACKED if status == TrackStatus.TRACKED else TrackStatus.HIDDEN
        if out and out[-1][1] == i - 1 and out[-1][2] == status:
            out[-1] = (out[-1][0], i, status)
        else:
            out.append((i, i, status))
    return out


def _u32(rgba: tuple[float, float, float, float]) -> int:
    return imgui.get_color_u32(imgui.ImVec4(*rgba))
