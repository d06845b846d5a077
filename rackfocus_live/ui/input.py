"""What the user does to the window outside the panel's widgets: mouse on the picture
(click-to-focus, shift-click pulls, pan, zoom, the A/B divider), keyboard shortcuts, files dropped
on the window and native open-file dialogs.

Every input ends in an action the app and ``UiState`` also expose (``App.click_focus``,
``UiState.toggle_play``, ``App.open_media``...), so tests drive the same paths without a mouse.
Runs on the main thread inside the ImGui frame; respects ImGui's ``want_capture_*`` so widgets
keep their input.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

# imgui_bundle first: it points pyGLFW at the glfw library it ships, so both share one glfw.
from imgui_bundle import imgui  # isort: skip
import glfw  # must come after imgui_bundle

from rackfocus_live.ui.files import OpenDialog, sibling_depth

if TYPE_CHECKING:
    from rackfocus_live.ui.app import App

#: Zoom factor per mouse-wheel notch.
WHEEL_ZOOM = 1.15
#: Focus change per Up/Down key press (a ratio, so it feels the same near and far).
FOCUS_KEY_STEP = 1.05


class InputHandler:
    """Mouse, keys, drops and open dialogs of one app window; see the module docstring."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.dropped: list[str] = []
        self.dialog: OpenDialog | None = None

    @property
    def pending(self) -> bool:
        """Dropped files wait to be opened, or a dialog is open: the loop must keep polling."""
        return bool(self.dropped) or self.dialog is not None

    def handle(self) -> None:
        """One frame of input (after the panel is drawn, so widgets have claimed theirs)."""
        self._viewer_mouse()
        self._keys()

    # -- mouse on the picture ------------------------------------------------------------------

    def _viewer_mouse(self) -> None:
        app = self.app
        io = imgui.get_io()
        (vw, vh), (sx, sy) = app.layout()
        mx, my = io.mouse_pos.x * sx, io.mouse_pos.y * sy
        viewer = app.state.viewer
        size = app.state.image_size
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
            if point is not None and app.tracking.wants_click(io.key_alt):
                # Track mode or alt-click: pick the subject; alt-shift: rack to it from here.
                app.tracking.click(app, *point, rack=io.key_alt and io.key_shift)
            elif point is not None:
                app.click_focus(*point, pull=io.key_shift)
        for button in (imgui.MouseButton_.right, imgui.MouseButton_.middle):
            if imgui.is_mouse_dragging(button):
                d = io.mouse_delta
                viewer.pan_by((vw, vh), size, d.x * sx, d.y * sy)
        if io.mouse_wheel:
            viewer.zoom_about((vw, vh), size, WHEEL_ZOOM ** io.mouse_wheel, (mx, my))

    # -- keyboard ------------------------------------------------------------------------------

    def _keys(self) -> None:
        io = imgui.get_io()
        if io.want_capture_keyboard or io.want_text_input:
            return
        app = self.app
        k, s = imgui.Key, app.state
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
            (k.h, app.toggle_hud),
            (k.r, app.toggle_record),
            (k.t, app.tracking.toggle_arm),
            (k.up_arrow, lambda: s.set_focus(s.focus_m * FOCUS_KEY_STEP)),
            (k.down_arrow, lambda: s.set_focus(s.focus_m / FOCUS_KEY_STEP)),
            (k.o, lambda: self.start_dialog("Open a clip", "clip")),
        ]
        repeatable = {k.left_arrow, k.right_arrow, k.up_arrow, k.down_arrow}
        for key, action in actions:
            if imgui.is_key_pressed(key, key in repeatable):  # type: ignore[arg-type]
                action()
        if io.key_ctrl and imgui.is_key_pressed(k.q, False):
            glfw.set_window_should_close(app.window, True)

    # -- drag and drop -------------------------------------------------------------------------

    def on_drop(self, _window: object, paths: list[str]) -> None:
        """glfw's drop callback. glfw calls it from ``poll_events`` (main thread, outside the
        ImGui frame); the files are opened in the loop, by ``handle_drops``."""
        self.dropped.extend(paths)

    def handle_drops(self) -> None:
        if not self.dropped:
            return
        paths, self.dropped = [Path(p) for p in self.dropped], []
        self.app.open_paths(paths)

    # -- open dialogs --------------------------------------------------------------------------

    def start_dialog(self, title: str, role: str) -> None:
        """Open a native dialog (one at a time); without a dialog program, say so."""
        if self.dialog is not None:
            return
        try:
            self.dialog = OpenDialog(title, role, self.app.user.last_dir)
        except RuntimeError as exc:
            self.app.state.say(str(exc))

    def poll_dialog(self) -> None:
        """Open what the dialog chose, once it is closed."""
        if self.dialog is None:
            return
        result = self.dialog.poll()
        if result is None:
            return
        role, self.dialog = self.dialog.role, None
        if not result:
            return
        app = self.app
        path = Path(result)
        app.user.last_dir = str(path.parent)
        if role == "clip":
            app.open_media(path, sibling_depth(path))
        elif role == "depth":
            app.open_depth(path)
        else:
            app.open_keys(path)
