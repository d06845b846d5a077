"""The preview window: glfw + moderngl + Dear ImGui (imgui-bundle's native backends), main loop.

One frame: poll events, start the ImGui frame, draw the panel and transport (widgets change the
``UiState``), handle viewer input (click-to-focus, pan, zoom, A/B divider, shortcuts), advance
time (playhead, focus pulls, keyframe track), bring the playhead's frame onto the GPU
(``MediaSession``), re-render depth of field only when something it depends on changed, draw the
image with overlays, draw the UI and the HUD, swap. Only this (main) thread touches GL; the decoder
thread hands over numpy planes.

``App.run()`` is the interactive loop. ``App.run_frames(n)`` and the action methods
(``click_focus``, ``open_media``...) drive the same code headlessly for tests and screenshots.
"""

from __future__ import annotations

import ctypes
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

# imgui_bundle first: it points pyGLFW at the glfw library it ships, so both share one glfw.
from imgui_bundle import imgui  # isort: skip
import glfw  # must come after imgui_bundle
import moderngl
import numpy as np
import numpy.typing as npt

from rackfocus_live.depth import DepthMapping
from rackfocus_live.errors import InputError
from rackfocus_live.gpu.context import REQUIRED_GL_VERSION, collect_garbage, configure
from rackfocus_live.gpu.dof import DofRenderer
from rackfocus_live.gpu.overlays import OverlayParams, ViewerPass
from rackfocus_live.gpu.programs import ProgramCache, ShaderError
from rackfocus_live.lens import LensState
from rackfocus_live.settings import HighlightBoost
from rackfocus_live.ui import panel, timeline_view
from rackfocus_live.ui.files import OpenDialog, sibling_depth, sort_dropped
from rackfocus_live.ui.hud import FpsMeter, HudStats, draw_hud
from rackfocus_live.ui.pulls import PullController
from rackfocus_live.ui.session import MediaSession
from rackfocus_live.ui.settings_store import LensSettings, SettingsStore, UserSettings
from rackfocus_live.ui.state import CLICK_RADIUS_PX, Transport, UiState

#: Panel width and bottom bar height in window units (screen coordinates).
PANEL_WIDTH = 360.0
TRANSPORT_HEIGHT = 62.0
TIMELINE_HEIGHT = 230.0
#: CoC diameter (px) the focus-plane overlay counts as in focus.
IN_FOCUS_PX = 2.0


class WindowError(RuntimeError):
    """No window could be opened (no display, no OpenGL 3.3)."""


@dataclass
class AppConfig:
    """What to open and how.

    Attributes:
        clip, depth, keys: files to open at start (any may be None).
        mapping: depth convention for ``depth``.
        lens: the starting lens (None: the last one the user had, from settings).
        quality: quality preset (None: from settings).
        highlight: highlight boost (None: from settings).
        window_size: window size in screen units (None: from settings).
        settings_path: where user settings live (None: the user config dir); tests pass a temp.
        save_settings: write settings back on close.
        vsync: wait for the display's refresh on swap (off for headless test runs).
        title: window title.
    """

    clip: Path | None = None
    depth: Path | None = None
    keys: Path | None = None
    mapping: DepthMapping = field(default_factory=DepthMapping)
    lens: LensState | None = None
    quality: str | None = None
    highlight: HighlightBoost | None = None
    window_size: tuple[int, int] | None = None
    settings_path: Path | None = None
    save_settings: bool = True
    vsync: bool = True
    title: str = "rackfocus-live"


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
        self._dropped_paths: list[str] = []
        self._dialog: OpenDialog | None = None
        self.session: MediaSession | None = None
        self.dof: DofRenderer | None = None
        self.pulls = PullController(self.state)
        self.timeline_view: timeline_view.TimelineViewState | None = None
        self.panel_state = panel.PanelState()
        self.hud_visible = True
        self.fps = FpsMeter()
        self.clip_fps = FpsMeter()
        self._rendered_key: tuple[object, ...] | None = None
        self._histogram: tuple[npt.NDArray[np.float32], float, float] | None = None
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
        self.state.pull_duration_s = user.pull_duration_s
        self.state.pull_easing = user.pull_easing
        self.state.mapping = cfg.mapping

    def _open_window(self) -> None:
        # glfw reports errors through a callback (pyGLFW turns them into warnings by default);
        # keep the last one for our own one-line error instead.
        errors: list[str] = []

        def on_error(code: int, description: bytes | str) -> None:
            text = description.decode(errors="replace") if isinstance(description, bytes) \
                else str(description)
            errors.append(text)

        glfw.ERROR_REPORTING = "ignore"
        glfw.set_error_callback(on_error)
        if not glfw.init():
            reason = errors[-1] if errors else "no display?"
            raise WindowError(f"cannot open a window ({reason}); on a headless machine run "
                              "under Xvfb, or use the render/export commands")
        glfw.window_hint(glfw.CONTEXT_VERSION_MAJOR, 3)
        glfw.window_hint(glfw.CONTEXT_VERSION_MINOR, 3)
        glfw.window_hint(glfw.OPENGL_PROFILE, glfw.OPENGL_CORE_PROFILE)
        glfw.window_hint(glfw.OPENGL_FORWARD_COMPAT, True)
        glfw.window_hint(glfw.RESIZABLE, True)
        glfw.window_hint(glfw.SCALE_TO_MONITOR, True)  # HiDPI on Windows/X11
        w, h = self.config.window_size or self.user.window_size
        self.window = glfw.create_window(int(w), int(h), self.config.title, None, None)
        if not self.window:
            glfw.terminate()
            reason = errors[-1] if errors else "driver too old?"
            raise WindowError(f"cannot open an OpenGL 3.3 core window ({reason})")
        glfw.make_context_current(self.window)
        glfw.swap_interval(1 if self.config.vsync else 0)
        glfw.set_drop_callback(self.window, self._on_drop)

    def _open_gl(self) -> None:
        try:
            self.ctx = moderngl.create_context(require=REQUIRED_GL_VERSION)
        except Exception as exc:  # moderngl raises plain Exception
            raise WindowError(f"no OpenGL 3.3 context in the window: {exc}") from None
        configure(self.ctx)
        self.programs = ProgramCache(self.ctx)
        self.viewer_pass = ViewerPass(self.programs)
        imgui.create_context()
        io = imgui.get_io()
        io.set_ini_filename(None)  # layout is fixed; never litter the working directory
        imgui.style_colors_dark()
        address = ctypes.cast(self.window, ctypes.c_void_p).value
        if address is None:
            raise WindowError("glfw returned no window handle")
        imgui.backends.glfw_init_for_opengl(address, True)
        imgui.backends.opengl3_init("#version 330")
        try:
            from imgui_bundle import implot

            implot.create_context()
            self._implot = True
        except ImportError:  # pragma: no cover - implot ships with imgui-bundle
            self._implot = False

    # -- opening files ---------------------------------------------------------------------------

    def open_media(
        self, clip: str | Path, depth: str | Path | None, mapping: DepthMapping | None = None,
        *, keys: str | Path | None = None,
    ) -> bool:
        """Open a clip (and depth); on a bad file say why and keep what was open. Returns success.
        """
        mapping = mapping or self.state.mapping
        notes: list[str] = []
        try:
            session = MediaSession(self.ctx, self.programs, clip, depth, mapping, warn=notes)
        except InputError as exc:
            self.state.say(str(exc))
            return False
        except (OSError, ValueError, RuntimeError) as exc:  # defensive: never a traceback
            self.state.say(f"{clip}: cannot open ({exc})")
            return False
        if self.session is not None:
            self.session.close()
        self.session = session
        self.state.mapping = mapping
        info = session.info
        self.state.transport.reset(info.frame_count, info.fps)
        self.state.image_size = session.size
        self.state.viewer.set_fit()
        self._rendered_key = None
        self._histogram = None
        self.state.message = notes[-1] if notes else None
        if self.dof is None:
            self.dof = DofRenderer(self.ctx, self.programs, session.size, self.state.quality)
        else:
            self.dof.resize(session.size)
        if keys is not None:
            self.open_keys(keys)
        else:
            self.pulls.reset_recorder()
        return True

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
        return self.pulls.open(path, self.session.info if self.session else None)

    def save_keys(self, path: str | Path | None = None) -> bool:
        """Save the pull (to ``path``, the file it came from, or CLIP.pull.json)."""
        return self.pulls.save(self.session.info if self.session else None, path)

    def toggle_record(self) -> None:
        """Arm or stop live recording of the focus (see ``PullController``)."""
        self.pulls.toggle_record()

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
        ww, wh = glfw.get_window_size(self.window)
        fw, fh = glfw.get_framebuffer_size(self.window)
        sx = fw / ww if ww else 1.0
        sy = fh / wh if wh else 1.0
        bottom = TRANSPORT_HEIGHT + (TIMELINE_HEIGHT if self._timeline_shown() else 0.0)
        vw = max(ww - PANEL_WIDTH, 1.0) * sx
        vh = max(wh - bottom, 1.0) * sy
        return (vw, vh), (sx, sy)

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
                and self._dialog is None and not self._dropped_paths
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
        self.fps.tick(time.perf_counter())
        self._handle_drops()
        self._poll_dialog()
        ww, wh = glfw.get_window_size(self.window)
        fw, fh = glfw.get_framebuffer_size(self.window)

        imgui.backends.opengl3_new_frame()
        imgui.backends.glfw_new_frame()
        imgui.new_frame()
        events = self._draw_ui(ww, wh)
        self._handle_events(events)
        self._handle_viewer_input()
        self._handle_keys()

        self.state.tick(now)
        self._update_media(wait_s)
        self._render_dof()
        self._draw_image(fw, fh)
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

    def _timeline_shown(self) -> bool:
        return self.pulls.editor is not None and self._implot

    def _draw_ui(self, ww: int, wh: int) -> panel.PanelEvents:
        flags = (imgui.WindowFlags_.no_move | imgui.WindowFlags_.no_resize
                 | imgui.WindowFlags_.no_collapse | imgui.WindowFlags_.no_saved_settings)
        info = panel.PanelInfo(
            clip_name=self.session.clip_path.name if self.session else "",
            depth_name=self.session.depth_path.name if self.session and self.session.depth_path
            else "",
            keys_name=self.pulls.path.name if self.pulls.path else "",
            histogram=self._histogram,
            recording=self.pulls.recording,
            has_clip=self.session is not None,
        )
        imgui.set_next_window_pos(imgui.ImVec2(ww - PANEL_WIDTH, 0))
        imgui.set_next_window_size(imgui.ImVec2(PANEL_WIDTH, wh))
        imgui.begin("rackfocus-live", None, flags)
        events = panel.draw_panel(self.state, info, self.panel_state)
        imgui.end()
        bottom = TRANSPORT_HEIGHT + (TIMELINE_HEIGHT if self._timeline_shown() else 0.0)
        imgui.set_next_window_pos(imgui.ImVec2(0, wh - bottom))
        imgui.set_next_window_size(imgui.ImVec2(ww - PANEL_WIDTH, bottom))
        imgui.begin("transport", None, flags | imgui.WindowFlags_.no_title_bar)
        transport = panel.draw_transport(self.state, info)
        if self._timeline_shown():
            self._draw_timeline()
        imgui.end()
        events.toggle_record = transport.toggle_record
        events.scrub_frame = transport.scrub_frame
        events.scrub_end = transport.scrub_end
        return events

    def _draw_timeline(self) -> None:
        editor = self.pulls.editor
        assert editor is not None
        if self.timeline_view is None:
            self.timeline_view = timeline_view.TimelineViewState()
        ev = timeline_view.draw_timeline(
            self.timeline_view, editor, self.state.transport.position_s,
            self.state.transport.duration_s, self.state.focus_m, height=TIMELINE_HEIGHT - 40,
        )
        self.pulls.sync()
        if ev.seek_s is not None:
            self.state.transport.seek_time(ev.seek_s)
        if ev.focus_m is not None:
            self.state.set_focus(ev.focus_m)

    def _handle_events(self, ev: panel.PanelEvents) -> None:
        if ev.open_clip:
            self._start_dialog("Open a clip", "clip")
        if ev.open_depth:
            self._start_dialog("Open the clip's depth", "depth")
        if ev.open_keys:
            self._start_dialog("Open a focus pull (JSON)", "keys")
        if ev.save_keys:
            self.save_keys()
        if ev.mapping is not None and self.session is not None:
            self.open_depth(self.session.depth_path, ev.mapping)
        if ev.toggle_record:
            self.toggle_record()
        if ev.scrub_frame is not None:
            self.state.seek(ev.scrub_frame)

    def _handle_viewer_input(self) -> None:
        io = imgui.get_io()
        (vw, vh), (sx, sy) = self.layout()
        mx, my = io.mouse_pos.x * sx, io.mouse_pos.y * sy
        viewer = self.state.viewer
        size = self.state.image_size
        inside = 0 <= mx < vw and 0 <= my < vh and math.isfinite(mx)
        if viewer.dragging_divider:
            if imgui.is_mouse_down(imgui.MouseButton_.left):
                viewer.drag_divider((vw, vh), mx)
            else:
                viewer.end_divider_drag()
            return
        if io.want_capture_mouse or not inside:
            return
        clicked = imgui.is_mouse_clicked(imgui.MouseButton_.left)
        if clicked and not viewer.begin_divider_drag((vw, vh), mx):
            point = viewer.to_image((vw, vh), size, mx, my)
            if point is not None:
                self.click_focus(*point, pull=io.key_shift)
        for button in (imgui.MouseButton_.right, imgui.MouseButton_.middle):
            if imgui.is_mouse_dragging(button):
                d = io.mouse_delta
                viewer.pan_by((vw, vh), size, d.x * sx, d.y * sy)
        if io.mouse_wheel:
            viewer.zoom_about((vw, vh), size, 1.15 ** io.mouse_wheel, (mx, my))

    def _handle_keys(self) -> None:
        io = imgui.get_io()
        if io.want_capture_keyboard or io.want_text_input:
            return
        k, s = imgui.Key, self.state
        actions: list[tuple[object, Callable[[], object]]] = [
            (k.space, s.toggle_play),
            (k.left_arrow, lambda: s.step(-1)),
            (k.right_arrow, lambda: s.step(1)),
            (k.home, s.jump_start),
            (k.end, s.jump_end),
            (k.l, s.toggle_loop),
            (k.left_bracket, lambda: s.faster(-1)),
            (k.right_bracket, lambda: s.faster(1)),
            (k.d, lambda: s.toggle_overlay("depth")),
            (k.f, lambda: s.toggle_overlay("focus_plane")),
            (k.p, lambda: s.toggle_overlay("peaking")),
            (k.c, lambda: s.toggle_overlay("coc")),
            (k.s, s.toggle_split),
            (k._0, s.viewer.set_fit),
            (k._1, lambda: s.viewer.set_one_to_one(s.image_size)),
            (k.h, self._toggle_hud),
            (k.r, self.toggle_record),
            (k.up_arrow, lambda: s.set_focus(s.focus_m * 1.05)),
            (k.down_arrow, lambda: s.set_focus(s.focus_m / 1.05)),
            (k.o, lambda: self._start_dialog("Open a clip", "clip")),
        ]
        repeatable = {k.left_arrow, k.right_arrow, k.up_arrow, k.down_arrow}
        for key, action in actions:
            if imgui.is_key_pressed(key, key in repeatable):  # type: ignore[arg-type]
                action()
        if io.key_ctrl and imgui.is_key_pressed(k.q, False):
            glfw.set_window_should_close(self.window, True)

    def _toggle_hud(self) -> None:
        self.hud_visible = not self.hud_visible

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
            self._histogram = session.histogram()
            if t.playing:
                self.pulls.sample(t.frame_time_s, self.state.focus_m)

    def _render_dof(self) -> None:
        session, dof = self.session, self.dof
        if session is None or dof is None or session.current is None:
            return
        quality = self.state.effective_quality
        key = (id(session), session.current, self.state.revision, quality, self.state.lens,
               self.state.highlight)
        if key == self._rendered_key:
            return
        try:
            if dof.quality != quality:
                dof.set_quality(quality)
            dof.render(session.color, session.depth, self.state.lens, color_is_srgb=False,
                       highlight=self.state.highlight)
        except ShaderError as exc:  # a hot-reloaded shader that does not compile
            self.state.say(str(exc).splitlines()[0])
        self._rendered_key = key

    def _draw_image(self, fw: int, fh: int) -> None:
        screen = self.ctx.screen
        screen.use()
        screen.viewport = (0, 0, fw, fh)
        self.ctx.clear(0.09, 0.09, 0.1)
        session, dof = self.session, self.dof
        if session is None or dof is None or session.current is None:
            return
        (vw, vh), _ = self.layout()
        viewer = self.state.viewer
        rect = viewer.image_rect((vw, vh), self.state.image_size)
        hist = self._histogram
        depth_range = (hist[1], hist[2]) if hist is not None else (0.0, 1.0)
        o = self.state.overlays
        params = OverlayParams(
            depth=o.depth, focus_plane=o.focus_plane, peaking=o.peaking, coc=o.coc,
            depth_range=depth_range, in_focus_px=IN_FOCUS_PX,
            coc_max_px=self._coc_range(depth_range),
        )
        self.viewer_pass.render(
            screen, (fw, fh), (rect.x, rect.y, rect.w, rect.h), result=dof.output,
            original=session.color, inv_depth=session.depth, coc=dof.coc, params=params,
            original_is_linear=True,
            split_x=viewer.divider_x((vw, vh)) if viewer.split_enabled else None,
        )
        if viewer.split_enabled:
            _, (sx, sy) = self.layout()
            x = viewer.divider_x((vw, vh)) / sx
            draw = imgui.get_background_draw_list()
            draw.add_line(imgui.ImVec2(x, 0), imgui.ImVec2(x, vh / sy),
                          imgui.get_color_u32(imgui.ImVec4(1, 1, 1, 0.8)), 2.0)

    def _coc_range(self, inv_depth_range: tuple[float, float]) -> float:
        """Top of the CoC heat map: the largest |CoC| of this frame's depth range (so the ramp
        spans what is on screen), within 1 px and the renderer's clamp."""
        lens, width = self.state.lens, self.state.image_size[0]
        coc = lens.coc_px_from_inverse_depth(np.asarray(inv_depth_range), width)
        return float(min(max(np.abs(coc).max(), 1.0), lens.max_coc_px(width)))

    def _hud_stats(self) -> HudStats:
        t = self.state.transport
        session = self.session
        return HudStats(
            render_fps=self.fps.fps,
            clip_fps=self.clip_fps.fps if t.playing else 0.0,
            nominal_fps=float(t.fps) * t.rate,
            dropped=t.dropped,
            queue_fill=session.queue_fill if session else 0.0,
            gpu_ms=self.dof.last_gpu_ms if self.dof else None,
            quality=self.state.effective_quality,
            size=session.size if session else (0, 0),
        )

    # -- drag and drop, file dialogs ------------------------------------------------------------

    def _on_drop(self, _window: object, paths: list[str]) -> None:
        # glfw calls this from poll_events on the main thread; act on it in the loop.
        self._dropped_paths.extend(paths)

    def _handle_drops(self) -> None:
        if not self._dropped_paths:
            return
        paths, self._dropped_paths = [Path(p) for p in self._dropped_paths], []
        self.open_paths(paths)

    def open_paths(self, paths: list[Path]) -> None:
        """Open dropped files (see ``files.sort_dropped``)."""
        d = sort_dropped(paths)
        if d.clip is not None:
            self.open_media(d.clip, d.depth, keys=d.keys)
        elif d.depth is not None:
            self.open_depth(d.depth)
        elif d.keys is not None:
            self.open_keys(d.keys)

    def _start_dialog(self, title: str, role: str) -> None:
        if self._dialog is not None:
            return
        try:
            self._dialog = OpenDialog(title, role, self.user.last_dir)
        except RuntimeError as exc:
            self.state.say(str(exc))

    def _poll_dialog(self) -> None:
        if self._dialog is None:
            return
        result = self._dialog.poll()
        if result is None:
            return
        role, dialog = self._dialog.role, self._dialog
        self._dialog = None
        del dialog
        if not result:
            return
        path = Path(result)
        self.user.last_dir = str(path.parent)
        if role == "clip":
            self.open_media(path, sibling_depth(path))
        elif role == "depth":
            self.open_depth(path)
        else:
            self.open_keys(path)

    # -- shutdown --------------------------------------------------------------------------------

    def close(self) -> None:
        """Join threads, save settings, release GL, close the window. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            if self.session is not None:
                self.session.close()
                self.session = None
        finally:
            self._save_settings()
            self.ctx.screen.use()  # nothing of ours may stay bound while it is released
            if self.dof is not None:
                self.dof.release()
            self.viewer_pass.release()
            self.programs.release()
            if self._implot:
                from imgui_bundle import implot

                implot.destroy_context()
            imgui.backends.opengl3_shutdown()
            imgui.backends.glfw_shutdown()
            imgui.destroy_context()
            collect_garbage(self.ctx)
            self.ctx.release()
            self._close_window()

    def _close_window(self) -> None:
        glfw.destroy_window(self.window)
        glfw.terminate()

    def _save_settings(self) -> None:
        if not self.config.save_settings:
            return
        u = self.user
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
