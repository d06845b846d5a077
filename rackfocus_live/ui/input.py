"""What the user does to the window outside the panel's widgets: mouse on the picture
(click-to-focus, shift-click pulls, pan, zoom, the A/B divider), keyboard shortcuts, files dropped
on the window and native open-file dialogs.

Keys: shortcuts act on every press, also several within one slow frame (``on_key`` queues them as
glfw reports them); 1..9 jump to focus mark A..I, Shift+digit pulls to it, Ctrl+digit sets it.

Every input ends in an action the app and ``UiState`` also expose (``App.click_focus``,
``UiState.toggle_play``, ``App.open_media``...), so tests drive the same paths without a mouse.
Runs on the main thread inside the ImGui frame; respects ImGui's ``want_capture_*`` so widgets
keep their input.
"""

from __future__ import annotations

import ctypes
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

# imgui_bundle first: it points pyGLFW at the glfw library it ships, so both share one glfw.
from imgui_bundle import imgui  # isort: skip
import glfw  # must come after imgui_bundle

from rackfocus_live.timeline.marks import MarkAction
from rackfocus_live.ui.files import OpenDialog, sibling_depth

if TYPE_CHECKING:
    from rackfocus_live.ui.app import App
    from rackfocus_live.ui.window import GlfwWindow

#: Zoom factor per mouse-wheel notch.
WHEEL_ZOOM = 1.15
#: Focus change per Up/Down key press (a ratio, so it feels the same near and far).
FOCUS_KEY_STEP = 1.05
#: Keys whose auto-repeat (key held down) repeats the action.
REPEATABLE = frozenset({glfw.KEY_LEFT, glfw.KEY_RIGHT, glfw.KEY_UP, glfw.KEY_DOWN})
#: The app's shortcut keys (``InputHandler._key``): handled by the app, not by ImGui.
SHORTCUT_KEYS = frozenset({
    glfw.KEY_SPACE, glfw.KEY_LEFT, glfw.KEY_RIGHT, glfw.KEY_UP, glfw.KEY_DOWN, glfw.KEY_HOME,
    glfw.KEY_END, glfw.KEY_L, glfw.KEY_LEFT_BRACKET, glfw.KEY_RIGHT_BRACKET, glfw.KEY_D,
    glfw.KEY_F, glfw.KEY_P, glfw.KEY_C, glfw.KEY_S, glfw.KEY_0, glfw.KEY_Z, glfw.KEY_H,
    glfw.KEY_R, glfw.KEY_T, glfw.KEY_O, glfw.KEY_Q, *range(glfw.KEY_1, glfw.KEY_9 + 1),
})


class InputHandler:
    """Mouse, keys, drops and open dialogs of one app window; see the module docstring."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.dropped: list[str] = []
        self.dialog: OpenDialog | None = None
        #: Key presses (glfw key, modifiers) since the last frame, in order.
        self.keys: list[tuple[int, int]] = []

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

    def on_key(self, window: GlfwWindow, key: int, scancode: int, action: int, mods: int) -> None:
        """The window's key callback (glfw calls it from ``poll_events``, main thread).

        Shortcut presses (and repeats of the arrows) are queued as they arrive and all applied
        in the next frame, however many came during a slow one. They do not go to ImGui: its
        input queue hands a slow frame one press at a time (35 Up presses took 20 s at 2 fps),
        and would hold back the mouse clicks queued behind them. Everything else (modifiers,
        Delete, releases), and every key while a text field or an active widget has the
        keyboard, goes on to ImGui's glfw backend.
        """
        shortcut = key in SHORTCUT_KEYS and not _widget_has_keyboard()
        if shortcut and (action == glfw.PRESS or (action == glfw.REPEAT and key in REPEATABLE)):
            self.keys.append((key, mods))
        if not shortcut or action == glfw.RELEASE:
            address = ctypes.cast(window, ctypes.c_void_p).value
            if address is not None:
                imgui.backends.glfw_key_callback(address, key, scancode, action, mods)

    def _keys(self) -> None:
        presses, self.keys = self.keys, []
        if _widget_has_keyboard():
            return  # a text field or an active widget has the keyboard
        for key, mods in presses:
            self._key(key, mods)

    def _key(self, key: int, mods: int) -> None:
        app, s = self.app, self.app.state
        ctrl, shift = bool(mods & glfw.MOD_CONTROL), bool(mods & glfw.MOD_SHIFT)
        if glfw.KEY_1 <= key <= glfw.KEY_9:
            action: MarkAction = "set" if ctrl else "pull" if shift else "jump"
            app.mark_key(key - glfw.KEY_1 + 1, action)
            return
        if ctrl:
            if key == glfw.KEY_Q:
                glfw.set_window_should_close(app.window, True)
            return
        actions: dict[int, Callable[[], object]] = {
            glfw.KEY_SPACE: s.toggle_play,
            glfw.KEY_LEFT: lambda: s.step(-1),
            glfw.KEY_RIGHT: lambda: s.step(1),
            glfw.KEY_HOME: s.jump_start,
            glfw.KEY_END: s.jump_end,
            glfw.KEY_L: s.toggle_loop,
            glfw.KEY_LEFT_BRACKET: lambda: s.faster(-1),
            glfw.KEY_RIGHT_BRACKET: lambda: s.faster(1),
            glfw.KEY_D: lambda: s.toggle_overlay("depth"),
            glfw.KEY_F: lambda: s.toggle_overlay("focus_plane"),
            glfw.KEY_P: lambda: s.toggle_overlay("peaking"),
            glfw.KEY_C: lambda: s.toggle_overlay("coc"),
            glfw.KEY_S: s.toggle_split,
            glfw.KEY_0: s.viewer.set_fit,
            # Z: 1:1 pixels (as in Lightroom); the digits 1..9 belong to the focus marks.
            glfw.KEY_Z: lambda: s.viewer.set_one_to_one(s.image_size),
            glfw.KEY_H: app.toggle_hud,
            glfw.KEY_R: app.toggle_record,
            glfw.KEY_T: app.tracking.toggle_arm,
            glfw.KEY_UP: lambda: s.set_focus(s.focus_m * FOCUS_KEY_STEP),
            glfw.KEY_DOWN: lambda: s.set_focus(s.focus_m / FOCUS_KEY_STEP),
            glfw.KEY_O: lambda: self.start_dialog("Open a clip", "clip"),
        }
        action_fn = actions.get(key)
        if action_fn is not None:
            action_fn()

    # -- drag and drop -------------------------------------------------------------------------

    def on_drop(self, _window: GlfwWindow, paths: list[str]) -> None:
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


def _widget_has_keyboard() -> bool:
    """A text field is being typed into, or a widget is held: keys are theirs. (Not ImGui's
    ``want_capture_keyboard``: that stays on after any click in the panel, and the shortcuts
    went dead until the next click on the picture.)"""
    return bool(imgui.get_io().want_text_input or imgui.is_any_item_active())
