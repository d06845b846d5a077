"""The native side of the preview window: a glfw window with an OpenGL 3.3 core context, and
Dear ImGui (imgui-bundle's glfw/OpenGL3 backends, plus ImPlot) set up on it and torn down again.

No app logic here; ``App`` owns one ``Window`` and drives the loop.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import TypeAlias

# imgui_bundle first: it points pyGLFW at the glfw library it ships, so both share one glfw.
from imgui_bundle import imgui  # isort: skip
import glfw  # must come after imgui_bundle
import moderngl

from rackfocus_live.gpu.context import REQUIRED_GL_VERSION

#: glfw's window handle, as pyGLFW's stubs type it: a ctypes pointer to the opaque GLFWwindow.
#: A string because ``ctypes._Pointer`` cannot be subscripted at run time on Python 3.11.
GlfwWindow: TypeAlias = "ctypes._Pointer[glfw._GLFWwindow]"

#: glfw's drop callback: (window, paths).
DropCallback = Callable[[GlfwWindow, list[str]], None]


class WindowError(RuntimeError):
    """No window could be opened (no display, no OpenGL 3.3)."""


def open_window(
    size: tuple[int, int], title: str, *, vsync: bool, on_drop: DropCallback
) -> GlfwWindow:
    """Create the window, make its context current and return glfw's handle.

    Raises:
        WindowError: no display, or no OpenGL 3.3 core context; glfw is terminated again.
    """
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
    w, h = size
    window = glfw.create_window(int(w), int(h), title, None, None)
    if not window:
        glfw.terminate()
        reason = errors[-1] if errors else "driver too old?"
        raise WindowError(f"cannot open an OpenGL 3.3 core window ({reason})")
    glfw.make_context_current(window)
    glfw.swap_interval(1 if vsync else 0)
    # pyGLFW's stub types the raw C callback (window, count, paths); its wrapper decodes the
    # paths and calls ours with (window, list of str).
    glfw.set_drop_callback(window, on_drop)  # type: ignore[arg-type]
    return window


def create_gl_context() -> moderngl.Context:
    """A moderngl context on the window's (current) OpenGL context.

    Raises:
        WindowError: the context is older than OpenGL 3.3.
    """
    try:
        return moderngl.create_context(require=REQUIRED_GL_VERSION)
    except Exception as exc:  # moderngl raises plain Exception
        raise WindowError(f"no OpenGL 3.3 context in the window: {exc}") from None


def init_imgui(window: GlfwWindow) -> bool:
    """Dear ImGui (and ImPlot) on the window. Returns whether ImPlot is available."""
    imgui.create_context()
    io = imgui.get_io()
    io.set_ini_filename(None)  # layout is fixed; never litter the working directory
    # ImGui's input trickling stays on: it spreads a press and a release that arrive within one
    # (slow) frame over two frames, so a quick click is never lost at 2 fps. What it made late
    # was a burst of shortcut keys (35 Up presses replayed one per frame); those no longer go
    # through ImGui at all (``ui.input.InputHandler.on_key``).
    imgui.style_colors_dark()
    address = ctypes.cast(window, ctypes.c_void_p).value
    if address is None:
        raise WindowError("glfw returned no window handle")
    imgui.backends.glfw_init_for_opengl(address, True)
    imgui.backends.opengl3_init("#version 330")
    try:
        from imgui_bundle import implot

        implot.create_context()
        return True
    except ImportError:  # pragma: no cover - implot ships with imgui-bundle
        return False


def shutdown_imgui(implot: bool) -> None:
    """Undo ``init_imgui`` (while the GL context is still alive)."""
    if implot:
        from imgui_bundle import implot as implot_module

        implot_module.destroy_context()
    imgui.backends.opengl3_shutdown()
    imgui.backends.glfw_shutdown()
    imgui.destroy_context()


def close_window(window: GlfwWindow) -> None:
    """Destroy the window and end glfw."""
    glfw.destroy_window(window)
    glfw.terminate()
