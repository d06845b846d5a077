"""Drive the real app window like a user: mouse moves, clicks, drags, wheel, keys and typed text.

Events go in through the same door as the operating system's: the callbacks of imgui-bundle's
glfw backend (what glfw calls when X11 or Win32 report input), so ImGui, its widgets and the
app's viewer input see exactly what a mouse and keyboard would produce. Widgets are found by
label in the app's test mode (``ui.probe``), never by hard-coded pixel positions.

Used by the UI tests and by ``bench/interactive.py``.
"""

from __future__ import annotations

import ctypes
from typing import TYPE_CHECKING

# imgui_bundle first: it points pyGLFW at the glfw library it ships, so both share one glfw.
from imgui_bundle import imgui  # isort: skip
import glfw  # must come after imgui_bundle

from rackfocus_live.ui.probe import WidgetProbe, WidgetRect

if TYPE_CHECKING:
    from rackfocus_live.ui.app import App


class UiDriver:
    """Input for one app window in test mode (``AppConfig.test_mode``)."""

    def __init__(self, app: App) -> None:
        if app.probe is None:
            raise RuntimeError("the app is not in test mode (AppConfig(test_mode=True))")
        self.app = app
        self.probe: WidgetProbe = app.probe
        address = ctypes.cast(app.window, ctypes.c_void_p).value
        assert address is not None
        self._win = address
        self.mouse = (0.0, 0.0)
        be = imgui.backends
        be.glfw_window_focus_callback(self._win, 1)
        be.glfw_cursor_enter_callback(self._win, 1)

    # -- frames --------------------------------------------------------------------------------

    def frames(self, n: int = 1) -> None:
        """Let the app run ``n`` UI frames (its own clock: synthetic or wall, as configured)."""
        for _ in range(n):
            self.app.frame()

    def find(self, label: str) -> WidgetRect:
        """A widget of the last frame by label (see ``WidgetProbe.find``)."""
        return self.probe.find(label)

    def reveal(self, label: str, *, max_notches: int = 40) -> WidgetRect:
        """The widget ``label``, scrolled into its window's view first if needed (with the
        mouse wheel over that window, as a user would)."""
        w = self.find(label)
        for _ in range(max_notches):
            window = imgui.internal.find_window_by_name(w.window)
            if window is None:
                break
            top, bottom = window.inner_rect.min.y, window.inner_rect.max.y
            if w.y0 >= top and w.y1 <= bottom:
                break
            self.move(window.pos.x + window.size.x / 2.0, (top + bottom) / 2.0)
            self.wheel(-1.0 if w.y1 > bottom else 1.0)
            self.frames(1)
            w = self.find(label)
        return w

    # -- mouse ---------------------------------------------------------------------------------

    def move(self, x: float, y: float, *, frames: int = 1) -> None:
        """Move the mouse to window position (x, y) (window units, top-left origin)."""
        self.mouse = (float(x), float(y))
        imgui.backends.glfw_cursor_pos_callback(self._win, float(x), float(y))
        self.frames(frames)

    def press(self, button: int = glfw.MOUSE_BUTTON_LEFT) -> None:
        imgui.backends.glfw_mouse_button_callback(self._win, button, glfw.PRESS, 0)

    def release(self, button: int = glfw.MOUSE_BUTTON_LEFT) -> None:
        imgui.backends.glfw_mouse_button_callback(self._win, button, glfw.RELEASE, 0)

    def click_at(self, x: float, y: float, *, shift: bool = False) -> None:
        """Move there, press and release the left button (a frame each, as a hand would)."""
        self.move(x, y)
        if shift:
            imgui.get_io().add_key_event(imgui.Key.mod_shift, True)
        self.press()
        self.frames(1)
        self.release()
        self.frames(1)
        if shift:
            imgui.get_io().add_key_event(imgui.Key.mod_shift, False)

    def click(self, label: str, *, at: float = 0.5) -> WidgetRect:
        """Click the widget ``label`` (``at``: where along its width, 0..1). Returns it."""
        w = self.reveal(label)
        self.click_at(w.x0 + at * (w.x1 - w.x0), (w.y0 + w.y1) / 2.0)
        return w

    def drag(self, start: tuple[float, float], end: tuple[float, float], *, steps: int = 6,
             button: int = glfw.MOUSE_BUTTON_LEFT) -> None:
        """Press at ``start``, move in ``steps`` frames to ``end``, release."""
        self.move(*start)
        self.press(button)
        self.frames(1)
        (x0, y0), (x1, y1) = start, end
        for i in range(1, steps + 1):
            f = i / steps
            self.move(x0 + f * (x1 - x0), y0 + f * (y1 - y0))
        self.release(button)
        self.frames(1)

    def drag_widget(self, label: str, frm: float, to: float, *, steps: int = 6) -> WidgetRect:
        """Drag inside widget ``label`` from fraction ``frm`` to ``to`` of its width."""
        w = self.reveal(label)
        y = (w.y0 + w.y1) / 2.0
        width = w.x1 - w.x0
        self.drag((w.x0 + frm * width, y), (w.x0 + to * width, y), steps=steps)
        return w

    def wheel(self, notches: float) -> None:
        imgui.backends.glfw_scroll_callback(self._win, 0.0, float(notches))
        self.frames(1)

    # -- keyboard ------------------------------------------------------------------------------

    def key_down(self, key: int, mods: int = 0) -> None:
        """A key press, through the window's key callback (what glfw calls)."""
        self.app.input.on_key(self.app.window, key, 0, glfw.PRESS, mods)

    def key_up(self, key: int, mods: int = 0) -> None:
        self.app.input.on_key(self.app.window, key, 0, glfw.RELEASE, mods)

    def tap(self, key: int, *, mods: int = 0, frames: int = 1) -> None:
        """Press and release ``key`` (with glfw modifier bits ``mods``) within one UI frame (a
        quick tap), then run ``frames``."""
        self.key_down(key, mods)
        self.key_up(key, mods)
        self.frames(frames)

    def type_text(self, text: str) -> None:
        """Type characters into the focused text field (one frame)."""
        for ch in text:
            imgui.backends.glfw_char_callback(self._win, ord(ch))
        self.frames(1)

    def select_all_and_type(self, label: str, text: str) -> None:
        """Click a text/number field, replace its text with ``text`` and press Enter."""
        self.click(label)
        # Ctrl+A straight into ImGui: its glfw backend reads the modifiers from the real
        # keyboard's state, which a simulated Ctrl cannot change.
        io = imgui.get_io()
        io.add_key_event(imgui.Key.mod_ctrl, True)
        io.add_key_event(imgui.Key.a, True)
        self.frames(1)
        io.add_key_event(imgui.Key.a, False)
        io.add_key_event(imgui.Key.mod_ctrl, False)
        self.frames(1)
        self.type_text(text)
        self.tap(glfw.KEY_ENTER)
