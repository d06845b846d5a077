"""The real window: overlays, the A/B split, zoom and the HUD change only the display pass, never
re-run the depth of field; a focus change does, once.

A subprocess (under the Xvfb the test starts) opens the app on a generated clip, then presses the
shortcut keys through the window's key callback (what glfw calls on a key press): peaking, focus
plane, depth, CoC heat map, A/B split, 1:1 (Z), fit, HUD. Each press must change the window's
pixels (the key acted) while the count of DOF renders stays put; an Up-arrow focus step must then
add exactly one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.test_app_smoke import load_make_demo, xvfb  # noqa: F401  (the Xvfb fixture)

pytestmark = pytest.mark.app

ROOT = Path(__file__).resolve().parent.parent
DISPLAY_ONLY_KEYS = ["P", "F", "C", "D", "S", "Z", "0", "H"]


def scenario(out: Path) -> None:
    import glfw

    from rackfocus_live.depth import DepthMapping
    from rackfocus_live.lens import LensState
    from rackfocus_live.ui.app import App, AppConfig

    media = out / "media"
    lens = LensState(focal_length_mm=35.0, f_stop=1.4, sensor_width_mm=36.0, focus_m=2.0,
                     focus_breathing=False)
    app = App(AppConfig(clip=media / "demo.mp4", depth=media / "demo_depth.mkv",
                        mapping=DepthMapping("metric", scale=0.001, near=1.0, far=9.0),
                        lens=lens, window_size=(640, 400), settings_path=out / "settings.json",
                        save_settings=False, vsync=False))
    def press(key: int) -> np.ndarray:
        app.input.on_key(app.window, key, 0, glfw.PRESS, 0)
        app.frame()
        app.input.on_key(app.window, key, 0, glfw.RELEASE, 0)
        app.frame()
        return app.screenshot()

    result: dict[str, object] = {}
    try:
        assert app.wait_for_frame(0, timeout_s=20.0), "frame 0 never arrived"
        app.hud_visible = False
        previous = app.screenshot()
        start = app.picture.dof_renders
        changed = {}
        for name in DISPLAY_ONLY_KEYS:
            shot = press(getattr(glfw, f"KEY_{name}"))
            changed[name] = int(np.abs(shot.astype(int) - previous.astype(int)).max())
            previous = shot
        result["pixels_changed"] = changed
        result["renders_for_display_keys"] = app.picture.dof_renders - start
        o = app.state.overlays
        result["overlays_on"] = [o.peaking, o.focus_plane, o.coc, o.depth,
                                 app.state.viewer.split_enabled, app.hud_visible]
        focus = app.state.focus_m
        press(glfw.KEY_UP)
        app.frame()
        result["focus_moved"] = app.state.focus_m > focus
        result["renders_for_focus_step"] = app.picture.dof_renders - start
    finally:
        app.close()
    (out / "result.json").write_text(json.dumps(result))


def test_display_only_changes_never_rerun_the_dof(xvfb: str, tmp_path: Path) -> None:  # noqa: F811
    make_demo = load_make_demo()
    make_demo.make_demo(tmp_path / "media", make_demo.DemoSpec(width=320, height=180, frames=3))
    env = {**os.environ, "DISPLAY": xvfb, "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    proc = subprocess.run([sys.executable, __file__, str(tmp_path)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"scenario failed:\n{proc.stdout}\n{proc.stderr}"
    r = json.loads((tmp_path / "result.json").read_text())
    assert r["overlays_on"] == [True] * 6, r  # every key acted...
    assert all(v > 8 for v in r["pixels_changed"].values()), r["pixels_changed"]  # ...visibly
    assert r["renders_for_display_keys"] == 0
    assert r["focus_moved"] and r["renders_for_focus_step"] == 1


if __name__ == "__main__":
    scenario(Path(sys.argv[1]))
