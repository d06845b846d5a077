"""The preview app: one window (``ui.window``), its main loop, and the actions it offers.

One frame: poll events, start the ImGui frame, draw the panel and transport (widgets change the
``UiState``), handle viewer input (``ui.input``: click-to-focus, pan, zoom, A/B divider,
shortcuts, drops), advance time (playhead, focus pulls, keyframe track), bring the playhead's frame
onto the GPU (``MediaSession``), advance a running export by a few milliseconds
(``ui.export_panel``), re-render depth of field only when something it depends on changed, draw
the image with overlays, draw the UI and the HUD, swap. Only this (main) thread touches GL; the
decoder and encoder threads hand over numpy planes and video frames.

``App.run()`` is the interactive loop. ``App.run_frames(n)`` and the action methods
(``click_focus``, ``open_media``, ``start_export``...) drive the same code headlessly for tests and
screenshots.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

# imgui_bundle first: it points pyGLFW at the glfw library it ships, so both share one glfw.
from imgui_bundle import imgui  # isort: skip
import glfw  # must come after imgui_bundle
import numpy as np
import numpy.typing as npt

from rackfocus_live.depth import DepthMapping
from rackfocus_live.errors import InputError
from rackfocus_live.gpu.context import collect_garbage, configure
from rackfocus_live.gpu.programs import ProgramCache
from rackfocus_live.lens import LensState
from rackfocus_live.lens_character import LensCharacter
from rackfocus_live.media.probe import clip_warnings
from rackfocus_live.media.sequence import ClipOptions
from rackfocus_live.settings import HighlightBoost
from rackfocus_live.timeline.keyframes import FocusTrack
from rackfocus_live.timeline.marks import MarkAction, apply_mark_action, label_for_slot
from rackfocus_live.timeline.pull import Pull
from rackfocus_live.ui import panel, timeline_view
from rackfocus_live.ui.adaptive import PreviewGovernor
from rackfocus_live.ui.clipstate import ClipState, load_clip_state, save_clip_state
from rackfocus_live.ui.depth_maker import DepthMakerController
from rackfocus_live.ui.export_panel import (
    BUDGET_PAUSED_S,
    BUDGET_PLAYING_S,
    ExportController,
    ExportSource,
)
from rackfocus_live.ui.files import sort_dropped
from rackfocus_live.ui.hud import FpsMeter, HudStats, draw_hud
from rackfocus_live.ui.input import InputHandler
from rackfocus_live.ui.layout import draw_windows, viewport
from rackfocus_live.ui.picture import Picture
from rackfocus_live.ui.probe import WidgetProbe
from rackfocus_live.ui.pulls import PullController, media_identity
from rackfocus_live.ui.recovery import PullAutosave, RecoveryOffer, find_recovery
from rackfocus_live.ui.session import MediaSession
from rackfocus_live.ui.settings_store import LensSettings, SettingsStore, UserSettings
from rackfocus_live.ui.state import CLICK_RADIUS_PX, Transport, UiState
from rackfocus_live.ui.track_panel import TrackController
from rackfocus_live.ui.window import (
    WindowError,
    close_window,
    create_gl_context,
    init_imgui,
    open_window,
    shutdown_imgui,
)

__all__ = ["App", "AppConfig", "WindowError"]


@dataclass
class AppConfig:
    """What to open and how.

    Attributes:
        clip, depth, keys: files to open at start (any may be None).
        mapping: depth convention for ``depth``.
        lens: the starting lens (None: the last one the user had, from settings).
        quality: quality preset (None: from settings).
        highlight: highlight boost (None: from settings).
        character: lens character (cat-eye, axial CA, aperture image); off by default.
        window_size: window size in screen units (None: from settings).
        clip_options: sequence rate, input colour space and EXR depth channel, for every clip
            opened in this run.
        view: OCIO (display, view) the picture is shown through (None: plain sRGB).
        settings_path: where user settings live (None: the user config dir); tests pass a temp.
        save_settings: write settings back on close.
        vsync: wait for the display's refresh on swap (off for headless test runs).
        title: window title.
        test_mode: record widget rectangles by label and fail on ImGui ID conflicts
            (``ui.probe``), so tests and benchmarks can drive the window (``ui.driver``).
        demo_clip: the bundled demo's clip, when it is what ``clip`` opens: its camera is never
            kept as the user's lens, and it gets no sidecar.
    """

    clip: Path | None = None
    depth: Path | None = None
    keys: Path | None = None
    mapping: DepthMapping = field(default_factory=DepthMapping)
    lens: LensState | None = None
    quality: str | None = None
    highlight: HighlightBoost | None = None
    character: LensCharacter = field(default_factory=LensCharacter)
    window_size: tuple[int, int] | None = None
    clip_options: ClipOptions = field(default_factory=ClipOptions)
    view: tuple[str, str] | None = None
    settings_path: Path | None = None
    save_settings: bool = True
    vsync: bool = True
    title: str = "rackfocus-live"
    test_mode: bool = False
    demo_clip: Path | None = None


class App:
    """The preview app. Create, then ``run()`` (or ``run_frames``), then ``close()``.

    Raises:
        WindowError: no display or no OpenGL 3.3 context.
    """

    def __init__(self, config: AppConfig) -> None:
        self.config = config
        self.store = SettingsStore(config.settings_path)
        self.user: UserSettings = self.store.load()
        self._synthetic_dt: float | None = None
        self._synthetic_now = 0.0
        self.state = UiState(transport=Transport(time_source=self._now))
        self._apply_settings()
        #: The lens a real clip without saved state starts with: the user's last one.
        self._default_lens = _lens_from_settings(self.user.lens, 2.0)
        self._clip_lens = self.state.lens
        self._entered_once = False
        self.input = InputHandler(self)
        self.exporter = ExportController()
        self.depth_maker = DepthMakerController()
        self.session: MediaSession | None = None
        self.pulls = PullController(self.state)
        self.tracking = TrackController()  # track-to-focus (ui/track_panel.py)
        # Crash safety: the pull (a take in progress too) is autosaved while it changes, and an
        # autosave left by a crash is offered back when its clip or pull is opened.
        self.autosave = PullAutosave(self.pulls)
        self.recovery: RecoveryOffer | None = None
        self.timeline_view: timeline_view.TimelineViewState | None = None
        self.panel_state = panel.PanelState()
        self.hud_visible = True
        self.fps = FpsMeter()
        self.clip_fps = FpsMeter()
        self.governor = PreviewGovernor()
        self._frame_start: float | None = None
        #: Inverse-depth histogram of the shown frame and its range (panel, overlay ramps).
        self.histogram: tuple[npt.NDArray[np.float32], float, float] | None = None
        self._closed = False
        self._open_window()
        try:
            self._open_gl()
        except BaseException:
            self._close_window()
            raise
        if config.clip is not None:
            self.open_media(config.clip, config.depth, config.mapping, keys=config.keys)
        elif config.keys is not None:
            self.open_keys(config.keys)

    # -- set-up ----------------------------------------------------------------------------------

    def _apply_settings(self) -> None:
        cfg, user = self.config, self.user
        focus = cfg.lens.focus_m if cfg.lens is not None else 2.0
        self.state.lens = cfg.lens or _lens_from_settings(user.lens, focus)
        self.state.quality = cfg.quality or user.quality
        self.state.highlight = cfg.highlight or _highlight(user)
        self.state.character = cfg.character
        self.state.pull_duration_s = user.pull_duration_s
        self.state.pull_easing = user.pull_easing
        self.state.mapping = cfg.mapping

    def _open_window(self) -> None:
        size = self.config.window_size or self.user.window_size
        self.window = open_window(size, self.config.title, vsync=self.config.vsync,
                                  on_drop=self.input.on_drop)

    def _open_gl(self) -> None:
        self.ctx = create_gl_context()
        configure(self.ctx)
        self.programs = ProgramCache(self.ctx)
        self.picture = Picture(self.ctx, self.programs, self.config.view)
        self._implot = init_imgui(self.window)
        # After ImGui's backend: the app sees keys first and hands ImGui those it needs.
        glfw.set_key_callback(self.window, self.input.on_key)
        self.probe: WidgetProbe | None = None
        if self.config.test_mode:
            self.probe = WidgetProbe()
            self.probe.install()

    # -- opening files ---------------------------------------------------------------------------

    def open_media(
        self, clip: str | Path, depth: str | Path | None, mapping: DepthMapping | None = None,
        *, keys: str | Path | None = None,
    ) -> bool:
        """Open a clip (and depth); on a bad file say why and keep what was open. Returns success.

        Another clip starts from its own saved state (``ui.clipstate``) or clean defaults; the
        clip it replaces keeps its state in its sidecar. Re-opening the same clip (another depth
        file or mapping) keeps the pull and the lens.
        """
        same_clip = self.session is not None and _same_file(self.session.clip_path, clip)
        saved = None if same_clip else self._read_clip_state(clip)
        if mapping is None and saved is not None:
            mapping = saved.pull.depth
        mapping = mapping or (self.state.mapping if same_clip else DepthMapping())
        notes: list[str] = []
        try:
            session = MediaSession(self.ctx, self.programs, clip, depth, mapping, warn=notes,
                                   conditioning=self.state.preview_conditioning,
                                   options=self.config.clip_options)
        except InputError as exc:
            self.state.say(str(exc))
            return False
        except (OSError, ValueError, RuntimeError) as exc:  # defensive: never a traceback
            self.state.say(f"{clip}: cannot open ({exc})")
            return False
        if self.session is not None:
            if not same_clip:
                self._store_clip_state()
            self.session.close()
        self.session = session
        self.tracking.reset()
        self.state.mapping = mapping
        info = session.info
        self.state.transport.reset(info.frame_count, info.fps)
        self.state.image_size = session.size
        self.state.viewer.set_fit()
        self.histogram = None
        self.state.message = None
        self.exporter.suggest_output(session.clip_path)
        self.picture.set_size(session.size, self.state.quality)
        notes.extend(clip_warnings(info))
        if notes:
            self.state.say(notes[-1], "warning")
        if not same_clip:
            self._enter_clip(saved, keys)
        elif keys is not None:
            self.open_keys(keys)
        return True

    # -- per-clip state --------------------------------------------------------------------------

    @property
    def showing_demo(self) -> bool:
        """Whether the open clip is the bundled demo (its camera is not the user's lens)."""
        return (self.config.demo_clip is not None and self.session is not None
                and _same_file(self.session.clip_path, self.config.demo_clip))

    def _read_clip_state(self, clip: str | Path) -> ClipState | None:
        if self.config.demo_clip is not None and _same_file(clip, self.config.demo_clip):
            return None
        try:
            return load_clip_state(clip, None)
        except InputError as exc:
            self.state.say(f"ignoring the clip's saved state: {exc}", "warning")
            return None

    def _enter_clip(self, saved: ClipState | None, keys: str | Path | None) -> None:
        """Start the just-opened clip from its saved state, or from clean defaults."""
        s = self.state
        self.pulls.clear()
        s.pull = None
        first = not self._entered_once
        self._entered_once = True
        if first and self.config.lens is not None:
            lens = self.config.lens  # given on the command line (or the demo's camera)
        elif saved is not None and saved.pull.lens is not None:
            lens = saved.pull.lens
        else:
            lens = self._default_lens  # the user's last lens on real footage
        s.lens = lens
        s.revision += 1
        self._clip_lens = lens
        if keys is not None:
            self.open_keys(keys)
        elif saved is not None:
            self.pulls.adopt(saved.pull.track)
            s.say(f"restored this clip's pull, marks and lens from {saved.path.name}", "info")
            if saved.warnings:
                s.say(saved.warnings[0], "warning")
            self._offer_recovery()
        else:
            self.pulls.reset_recorder()
            self._offer_recovery()

    def _store_clip_state(self) -> None:
        """Keep the state of the open clip in its sidecar, if the user changed anything."""
        session = self.session
        if session is None or self.showing_demo:
            return
        track = self.state.track
        touched = track is not None and (len(track.keys) > 0 or len(track.marks) > 0
                                         or len(track.samples) > 0)
        if not touched and self.state.lens == self._clip_lens:
            return
        pull = Pull(track if track is not None else FocusTrack(fps=session.info.fps),
                    media_identity(session.info), self.state.mapping, self.state.lens)
        try:
            save_clip_state(session.clip_path, pull)
        except InputError as exc:
            self.state.say(f"could not keep this clip's state: {exc}", "warning")

    def open_depth(self, depth: str | Path | None, mapping: DepthMapping | None = None) -> bool:
        """Re-open the current clip with another depth file or mapping."""
        if self.session is None:
            self.state.say("open a clip first")
            return False
        frame = self.state.transport.frame
        playing = self.state.transport.playing
        ok = self.open_media(self.session.clip_path, depth, mapping or self.state.mapping)
        if ok:
            self.state.seek(frame)
            self.state.transport.playing = playing
        return ok

    def open_keys(self, path: str | Path) -> bool:
        """Load a keyframe file; the pull then drives focus during playback."""
        ok = self.pulls.open(path, self.session.info if self.session else None)
        if ok:
            self._offer_recovery()
        return ok

    def save_keys(self, path: str | Path | None = None) -> bool:
        """Save the pull (to ``path``, the file it came from, or CLIP.pull.json)."""
        ok = self.pulls.save(self.session.info if self.session else None, path)
        if ok:
            self.autosave.saved()
            self.recovery = None
        return ok

    def _offer_recovery(self) -> None:
        """Look for an unsaved pull a crash left behind for what was just opened."""
        self.recovery = find_recovery(self.pulls, self.session.info if self.session else None)

    def recover(self) -> None:
        """Take the offered autosave as the current pull (unsaved until the user saves)."""
        if self.recovery is not None:
            self.recovery.accept(self.pulls)
            self.recovery = None

    def discard_recovery(self) -> None:
        """Decline the offered autosave and delete it."""
        if self.recovery is not None:
            self.recovery.discard()
            self.recovery = None

    def open_paths(self, paths: list[Path]) -> None:
        """Open dropped files (see ``files.sort_dropped``)."""
        d = sort_dropped(paths)
        if d.clip is not None:
            self.open_media(d.clip, d.depth, keys=d.keys)
        elif d.depth is not None:
            self.open_depth(d.depth)
        elif d.keys is not None:
            self.open_keys(d.keys)

    def toggle_record(self) -> None:
        """Arm or stop live recording of the focus (see ``PullController``)."""
        self.pulls.toggle_record()

    def mark_key(self, slot: int, action: MarkAction) -> None:
        """Focus mark ``slot`` (1..9 = A..I): jump the focus to it, key a pull to it from the
        playhead, or set it to the current focus (see ``timeline.marks``)."""
        s = self.state
        if self.pulls.editor is None:
            if action != "set":
                s.say(f"no mark {label_for_slot(slot)} yet (Ctrl+{slot} sets it)", "info")
                return
            self.pulls.ensure_editor()
        editor = self.pulls.editor
        assert editor is not None
        result = apply_mark_action(editor.track, action, label_for_slot(slot),
                                   playhead_s=s.transport.position_s,
                                   current_focus_m=s.focus_m,
                                   pull_duration_s=s.pull_duration_s, pull_easing=s.pull_easing)
        if result.track is not editor.track:
            editor.apply(f"{action} mark {label_for_slot(slot)}", result.track)
            self.pulls.sync()
        if result.focus_m is not None:
            s.set_focus(result.focus_m)
        s.say(result.message, "info")

    def toggle_hud(self) -> None:
        self.hud_visible = not self.hud_visible

    # -- export ----------------------------------------------------------------------------------

    def export_source(self) -> ExportSource | None:
        """What an export renders: the open clip and depth as the preview shows them (depth
        convention, lens, highlight boost, quality preset), following the pull if there is one
        (else at the current focus). None without a clip."""
        session = self.session
        if session is None:
            return None
        s = self.state
        return ExportSource(clip=session.clip_path, depth=session.depth_path,
                            mapping=session.mapping, lens=s.lens, highlight=s.highlight,
                            character=s.character, quality=s.quality, track=s.track,
                            info=session.info, conditioning=s.conditioning,
                            depth_channel=session.options.depth_channel,
                            view=self.config.view)

    def start_export(self, output: str | Path | None = None) -> bool:
        """Start exporting with the panel's options (to ``output`` if given); it then advances a
        little every frame while the preview stays live. Returns whether it started; if not,
        the reason is in ``exporter.message``."""
        if output is not None:
            self.exporter.options.output = str(output)
        return self.exporter.start(self.ctx, self.programs, self.export_source())

    def cancel_export(self) -> None:
        """Stop a running export (the partial file is removed unless keep-partial is set)."""
        self.exporter.cancel()

    # -- actions (the same paths the mouse and keys use) ------------------------------------------

    def click_focus(self, ix: float, iy: float, *, pull: bool = False) -> float | None:
        """Click-to-focus at image pixel (ix, iy) of the clip (row 0 at the top)."""
        if self.session is None:
            return None
        window = self.session.inverse_depth_window(ix, iy, CLICK_RADIUS_PX)
        if window.size == 0:
            return None
        return self.state.focus_from_window(window, pull=pull, now=self._now())

    def layout(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """(viewport size in framebuffer px, framebuffer px per window unit)."""
        return viewport(glfw.get_window_size(self.window),
                        glfw.get_framebuffer_size(self.window), self.timeline_shown())

    def image_rect(self) -> tuple[float, float, float, float]:
        """Where the image is drawn, in framebuffer px (x, y from the top-left, w, h)."""
        (vw, vh), _ = self.layout()
        r = self.state.viewer.image_rect((vw, vh), self.state.image_size)
        return r.x, r.y, r.w, r.h

    # -- the loop ----------------------------------------------------------------------------

    def run(self) -> int:
        """The interactive loop until the window is closed. Returns the exit code."""
        while not glfw.window_should_close(self.window):
            if self._idle():
                # Nothing moves: sleep until input (or a short timeout) instead of redrawing
                # at the display rate, so a paused preview costs no CPU or GPU.
                glfw.wait_events_timeout(0.25)
            self.frame()
        return 0

    def _idle(self) -> bool:
        s = self.session
        return (not self.state.transport.playing and self.state.pull is None
                and not self.input.pending and not self.exporter.busy
                and (s is None or s.current == self.state.transport.frame))

    def run_frames(self, n: int, *, dt: float | None = 1.0 / 24.0) -> None:
        """Run ``n`` frames; with ``dt`` time advances by exactly that per frame (deterministic
        playback for tests), with None it follows the wall clock."""
        if dt is not None and self._synthetic_dt is None:
            self._synthetic_now = time.perf_counter()  # continue from now: no jump in time
        self._synthetic_dt = dt
        for _ in range(n):
            self.frame()

    def wait_for_frame(self, index: int, timeout_s: float = 10.0) -> bool:
        """Run frames until clip frame ``index`` is in the textures (tests, screenshots)."""
        self.state.seek(index)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.frame(wait_s=0.05)
            if self.session is not None and self.session.current == index:
                self.frame()  # one more so the DOF result of that frame is on screen
                return True
        return False

    def _now(self) -> float:
        return self._synthetic_now if self._synthetic_dt is not None else time.perf_counter()

    def frame(self, *, wait_s: float = 0.0, capture: bool = False) -> npt.NDArray[np.uint8] | None:
        """One iteration of the loop; returns the window's pixels (top-down RGB) with capture."""
        glfw.poll_events()
        if self._synthetic_dt is not None:
            self._synthetic_now += self._synthetic_dt
        now = self._now()
        wall = time.perf_counter()
        self.fps.tick(wall)
        self._govern(wall)
        self.input.handle_drops()
        self.input.poll_dialog()
        ww, wh = glfw.get_window_size(self.window)
        fw, fh = glfw.get_framebuffer_size(self.window)

        imgui.backends.opengl3_new_frame()
        imgui.backends.glfw_new_frame()
        imgui.new_frame()
        events = draw_windows(self, ww, wh)
        self._handle_events(events)
        self.input.handle()
        if self.probe is not None:
            self.probe.end_frame()

        self.state.tick(now)
        self._update_media(wait_s)
        # Before the preview's own passes: they set up all the GL state they use afterwards.
        playing = self.state.transport.playing
        self.exporter.update(BUDGET_PLAYING_S if playing else BUDGET_PAUSED_S)
        made = self.depth_maker.update()
        if made is not None and self.session is not None:
            self.open_depth(made.video, made.mapping)
        self.picture.render(self.session, self.state)
        area, scale = self.layout()
        self.picture.draw((fw, fh), area, scale, self.session, self.state, self.histogram)
        self.tracking.frame(self)
        if self.hud_visible:
            draw_hud(self._hud_stats(), (10.0, 10.0))
        imgui.render()
        imgui.backends.opengl3_render_draw_data(imgui.get_draw_data())
        pixels = self._read_screen(fw, fh) if capture else None
        glfw.swap_buffers(self.window)
        collect_garbage(self.ctx)
        return pixels

    def _read_screen(self, fw: int, fh: int) -> npt.NDArray[np.uint8]:
        data = self.ctx.screen.read(viewport=(0, 0, fw, fh), components=3, alignment=1)
        return np.frombuffer(data, np.uint8).reshape(fh, fw, 3)[::-1].copy()

    def screenshot(self) -> npt.NDArray[np.uint8]:
        """Draw one frame and return the window's pixels (HxWx3, row 0 at the top)."""
        pixels = self.frame(capture=True)
        assert pixels is not None
        return pixels

    # -- per-frame pieces ------------------------------------------------------------------------

    def timeline_shown(self) -> bool:
        """Whether the curve editor is below the transport bar: always, when ImPlot is there
        (its space is reserved even without a pull, so the picture never jumps)."""
        return self._implot

    def _govern(self, wall: float) -> None:
        """Let the governor pick the preset for this frame from the last frame's duration."""
        frame_s = wall - self._frame_start if self._frame_start is not None else 0.0
        self._frame_start = wall
        s = self.state
        moving = (s.transport.playing or s.dragging_focus or s.pull is not None
                  or self.pulls.recording)
        s.adaptive_draft = self.governor.update(frame_s, moving)
        s.adaptive_reduced = self.governor.reduced

    def _handle_events(self, ev: panel.PanelEvents) -> None:
        if ev.open_clip:
            self.input.start_dialog("Open a clip", "clip")
        if ev.open_depth:
            self.input.start_dialog("Open the clip's depth", "depth")
        if ev.open_keys:
            self.input.start_dialog("Open a focus pull (JSON)", "keys")
        if ev.save_keys:
            self.save_keys()
        if ev.mapping is not None and self.session is not None:
            self.open_depth(self.session.depth_path, ev.mapping)
        if (self.session is not None
                and self.session.set_conditioning(self.state.preview_conditioning)):
            self.state.revision += 1  # re-render the shown frame with its depth re-conditioned
        if ev.toggle_record:
            self.toggle_record()
        if ev.scrub_frame is not None:
            self.state.seek(ev.scrub_frame)
        if ev.start_export:
            self.start_export()
        if ev.recover:
            self.recover()
        if ev.discard_recovery:
            self.discard_recovery()
        if ev.tolerance_px is not None:
            self.pulls.tolerance_px = ev.tolerance_px
            if self.pulls.recorder is not None:  # the take being recorded uses it too
                self.pulls.recorder.tolerance = self.pulls.tolerance()
        if ev.resimplify_px is not None:
            self.pulls.tolerance_px = ev.resimplify_px
            self.pulls.resimplify()
        if ev.make_depth and self.session is not None:
            self.depth_maker.start(self.session.clip_path)

    def _update_media(self, wait_s: float) -> None:
        session = self.session
        if session is None:
            return
        t = self.state.transport
        try:
            fresh = session.show(t.frame, playing=t.playing, timeout=wait_s)
        except InputError as exc:
            self.state.say(str(exc))
            t.playing = False
            return
        if fresh:
            self.clip_fps.tick(time.perf_counter())
            self.histogram = session.histogram()
            if t.playing:
                self.pulls.sample(t.frame_time_s, self.state.focus_m)
        self.autosave.tick(session.info, t.frame_time_s)

    def _hud_stats(self) -> HudStats:
        t = self.state.transport
        session = self.session
        return HudStats(
            render_fps=self.fps.fps,
            clip_fps=self.clip_fps.fps if t.playing else 0.0,
            nominal_fps=float(t.fps) * t.rate,
            dropped=t.dropped,
            queue_fill=session.queue_fill if session else 0.0,
            gpu_ms=self.picture.gpu_ms,
            quality=self.state.effective_quality,
            size=session.size if session else (0, 0),
        )

    # -- shutdown --------------------------------------------------------------------------------

    def close(self) -> None:
        """Join threads, save settings, release GL, close the window. Idempotent."""
        if self._closed:
            return
        self._closed = True
        on_demo = self.showing_demo
        try:
            try:
                # Unsaved pull edits (or a take in progress) go to the autosave, offered back at
                # the next start: closing never loses work.
                self.autosave.flush(self.session.info if self.session else None)
                self._store_clip_state()
                # The export renders with the shared shader cache, and its threads must be
                # joined (and its partial file removed) before the window goes away.
                self.exporter.close()
                self.depth_maker.close()  # cancels a depth job: its temp file is removed
                self.tracking.cancel()
            finally:
                if self.session is not None:
                    self.session.close()
                    self.session = None
        finally:
            self._save_settings(keep_lens=not on_demo)
            self.ctx.screen.use()  # nothing of ours may stay bound while it is released
            self.picture.release()
            self.programs.release()
            if self.probe is not None:
                self.probe.uninstall()
            shutdown_imgui(self._implot)
            collect_garbage(self.ctx)
            self.ctx.release()
            self._close_window()

    def _close_window(self) -> None:
        close_window(self.window)

    def _save_settings(self, *, keep_lens: bool = True) -> None:
        """Write the user's settings; ``keep_lens`` off: leave their lens as it was (the demo's
        camera is not the user's lens)."""
        if not self.config.save_settings:
            return
        u = self.user
        if keep_lens:
            u.lens = LensSettings.from_lens(self.state.lens)
        u.quality = self.state.quality
        u.pull_duration_s = self.state.pull_duration_s
        u.pull_easing = self.state.pull_easing
        u.highlight_threshold = self.state.highlight.threshold
        u.highlight_gain = self.state.highlight.gain
        try:
            w, h = glfw.get_window_size(self.window)
            if w >= 200 and h >= 200:
                u.window_size = (w, h)
        except Exception:  # a dead window must not stop shutdown
            pass
        if not self.store.save(u) and self.store.problem:
            print(f"rackfocus-live: {self.store.problem}", file=sys.stderr)

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _same_file(a: str | Path, b: str | Path) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False


def _lens_from_settings(lens: LensSettings, focus_m: float) -> LensState:
    try:
        return lens.to_lens(max(focus_m, lens.focal_length_mm * 1e-3 * 1.1))
    except InputError:
        return LensState()


def _highlight(user: UserSettings) -> HighlightBoost:
    try:
        return HighlightBoost(user.highlight_threshold, user.highlight_gain)
    except InputError:
        return HighlightBoost()
