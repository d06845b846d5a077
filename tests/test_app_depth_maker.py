"""The real window under Xvfb: a clip without depth shows "Make depth...", a mouse click on it
(through ImGui's input, where the button was drawn) makes the depth in the background while the
window keeps drawing frames, and the result is opened as the clip's disparity depth."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_app_smoke import xvfb  # noqa: F401  (the Xvfb fixture)

pytest.importorskip("onnxruntime", reason="the depth extra (onnxruntime) is not installed")
pytest.importorskip("onnx", reason="onnx (dev extra) builds the stand-in models")

pytestmark = [pytest.mark.app, pytest.mark.timeout(180)]

ROOT = Path(__file__).resolve().parent.parent


def scenario(folder: Path) -> None:
    import glfw
    from imgui_bundle import imgui

    from rackfocus_live.ui.app import App, AppConfig

    app = App(AppConfig(clip=folder / "clip.mp4", window_size=(900, 560),
                        settings_path=folder / "settings.json", save_settings=False,
                        vsync=False))
    result: dict[str, object] = {}
    try:
        assert app.wait_for_frame(0, timeout_s=20.0)
        app.depth_maker.model = os.fspath(folder / "luma.onnx")
        app.run_frames(3)
        rect = app.depth_maker.button_rect
        result["button_before"] = rect
        assert rect is not None, "no Make depth button"
        x, y = (rect[0] + rect[2]) / 2, (rect[1] + rect[3]) / 2
        io = imgui.get_io()
        glfw.set_cursor_pos(app.window, x, y)
        io.add_mouse_pos_event(x, y)
        app.frame()
        io.add_mouse_button_event(0, True)
        app.frame()
        io.add_mouse_button_event(0, False)
        app.frame()
        result["busy_after_click"] = app.depth_maker.busy
        frames = 0
        deadline = time.monotonic() + 90
        while app.depth_maker.busy and time.monotonic() < deadline:
            app.frame(wait_s=0.02)
            frames += 1
        # The clip re-opened with its new depth: wait for its frame to arrive (a loaded machine
        # decodes it a few UI frames later).
        assert app.wait_for_frame(app.state.transport.frame, timeout_s=20.0)
        session = app.session
        assert session is not None
        result.update(
            frames_while_making=frames,
            depth=session.depth_path.name if session.depth_path else None,
            kind=app.state.mapping.kind,
            message=app.depth_maker.message,
            button_after=app.depth_maker.button_rect,
            histogram=app.histogram is not None,
        )
    finally:
        app.close()
    (folder / "result.json").write_text(json.dumps(result))


def test_make_depth_from_the_window(xvfb: str, tmp_path: Path) -> None:  # noqa: F811
    from tests import media_factory as mf
    from tests.depthgen_models import make_luma_model

    mf.make_clip(tmp_path / "clip.mp4", frames=8, size=(96, 64), texture=20)
    make_luma_model(tmp_path / "luma.onnx")
    env = {**os.environ, "DISPLAY": xvfb, "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
           "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, __file__, str(tmp_path)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=150)
    assert done.returncode == 0, done.stderr[-3000:]
    r = json.loads((tmp_path / "result.json").read_text())
    assert r["button_before"] is not None and r["busy_after_click"] is True
    assert r["frames_while_making"] > 0  # the window kept drawing while the depth was made
    assert r["depth"] == "clip_depth.mkv" and r["kind"] == "disparity"
    assert r["button_after"] is None  # the clip has depth now: no button
    assert r["histogram"] is True
    assert "made clip_depth.mkv" in (r["message"] or "")
    assert (tmp_path / "clip_depth.json").exists()


if __name__ == "__main__":
    scenario(Path(sys.argv[1]))
