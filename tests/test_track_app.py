"""Track-to-focus in the real window under Xvfb, driven through ImGui's input.

The scenario (a subprocess, like test_app_smoke) opens a synthetic shot whose subject is hidden
by a passing wall for a few frames, clicks the panel's Track button with the mouse, clicks the
subject on the picture, waits for the background tracking to finish while the preview keeps
drawing, and checks: the pull now follows the subject (one "record" undo step), the tracked box is
drawn over the picture at the subject, the strip marks the lost frames red and the tracked ones
green, and clicking the strip seeks. Then an alt-click at a later frame re-anchors.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.test_app_smoke import xvfb  # noqa: F401  (the Xvfb display fixture)

pytestmark = pytest.mark.app

ROOT = Path(__file__).resolve().parent.parent
WINDOW = (1000, 640)
HIDDEN = (14, 20)
GREEN = np.array([89, 255, 115])
RED = np.array([255, 77, 64])


def scenario(out: Path) -> None:
    from imgui_bundle import imgui  # isort: skip
    import glfw

    from rackfocus_live.depth import DepthMapping
    from rackfocus_live.lens import LensState
    from rackfocus_live.ui.app import App, AppConfig

    meta = json.loads((out / "meta.json").read_text())
    lens = LensState(focal_length_mm=50.0, f_stop=2.0, sensor_width_mm=36.0, focus_m=10.0)
    app = App(AppConfig(clip=out / "shot.mp4", depth=out / "shot_depth.mkv",
                        mapping=DepthMapping("metric"), lens=lens, window_size=WINDOW,
                        settings_path=out / "settings.json", save_settings=False, vsync=False))
    result: dict[str, object] = {}

    def move(x: float, y: float) -> None:
        glfw.set_cursor_pos(app.window, x, y)  # the backend reads the cursor when focused
        imgui.get_io().add_mouse_pos_event(x, y)
        app.frame()

    def click(x: float, y: float, alt: bool = False) -> None:
        move(x, y)
        io = imgui.get_io()
        if alt:
            io.add_key_event(imgui.Key.mod_alt, True)
            io.add_key_event(imgui.Key.left_alt, True)
        io.add_mouse_button_event(0, True)
        app.frame()
        io.add_mouse_button_event(0, False)
        app.frame()
        if alt:
            io.add_key_event(imgui.Key.left_alt, False)
            io.add_key_event(imgui.Key.mod_alt, False)
            app.frame()

    def press_t() -> None:
        if hasattr(app.input, "on_key"):
            # Shortcuts read glfw's key callback (queued presses), as a real key press arrives.
            app.input.on_key(app.window, glfw.KEY_T, 0, glfw.PRESS, 0)
            app.frame()
            return
        io = imgui.get_io()  # shortcuts read ImGui's key state
        io.add_key_event(imgui.Key.t, True)
        app.frame()
        io.add_key_event(imgui.Key.t, False)
        app.frame()

    def centre(label: str) -> tuple[float, float]:
        x0, y0, x1, y1 = app.tracking.rects[label]
        return (x0 + x1) / 2, (y0 + y1) / 2

    def to_window(ix: float, iy: float) -> tuple[float, float]:
        (vw, vh), (sx, sy) = app.layout()
        px, py = app.state.viewer.to_viewport((vw, vh), app.state.image_size, ix, iy)
        return px / sx, py / sy

    def reveal() -> None:
        """The section is low in the panel: scroll the panel with the wheel until it shows."""
        move(WINDOW[0] - 100, WINDOW[1] / 2)
        for _ in range(30):
            if app.tracking.rects["strip"][3] < WINDOW[1] - 10:
                break
            imgui.get_io().add_mouse_wheel_event(0.0, -2.0)
            app.frame()

    def wait_tracking() -> None:
        deadline = time.monotonic() + 60
        frames = 0
        while app.tracking.job is not None and time.monotonic() < deadline:
            app.frame()
            frames += 1
        result.setdefault("ui_frames_while_tracking", frames)

    try:
        anchor = meta["anchor"]
        assert app.wait_for_frame(anchor, timeout_s=20.0)
        app.hud_visible = False
        app.frame()
        for _ in range(2):  # the T key toggles Track mode
            press_t()
            result.setdefault("t_key", []).append(app.tracking.armed)  # type: ignore[union-attr]
        reveal()
        click(*centre("Track##track"))
        result["armed"] = app.tracking.armed
        click(*to_window(*meta["subject_at_anchor"]))
        result["job_started"] = app.tracking.job is not None or app.tracking.subject is not None
        wait_tracking()
        result["message"] = app.tracking.message
        editor = app.pulls.editor
        result["undo_label"] = editor.undo_label if editor else None
        track = app.state.track
        n = meta["frames"]
        result["focus"] = track.bake(n, app.state.transport.fps).tolist() if track else []
        result["lost"] = app.tracking.subject.lost_frames().tolist()
        # The box over the picture at a tracked frame, and the strip.
        show = meta["check_frame"]
        assert app.wait_for_frame(show, timeout_s=20.0)
        reveal()
        shot = app.screenshot()
        (_, _), (sx, sy) = app.layout()
        box = app.tracking.subject.at(show)[0]
        x0, y0 = to_window(box[0], box[1])
        x1, _ = to_window(box[0] + box[2], box[1] + box[3])
        ey, ex = int(y0 * sy), int((x0 + x1) / 2 * sx)
        result["box_edge"] = shot[ey - 3: ey + 4, ex - 3: ex + 4].reshape(-1, 3).tolist()
        result["box_truth"] = meta["subject_box_at_check"]
        result["box"] = list(box)
        sx0, sy0, sx1, sy1 = app.tracking.rects["strip"]
        row = shot[int((sy0 + sy1) / 2 * sy), int(sx0 * sx): int(sx1 * sx)]
        result["strip"] = row.tolist()
        # Clicking the strip seeks: on the middle of frame 8's cell.
        click(sx0 + (sx1 - sx0) * 8.5 / meta["frames"], (sy0 + sy1) / 2)
        result["seek_frame"] = app.state.transport.frame
        # Alt-click the subject at a later frame: a second anchor, a second take.
        later = meta["later"]
        assert app.wait_for_frame(later, timeout_s=20.0)
        click(*to_window(*meta["subject_at_later"]), alt=True)
        wait_tracking()
        result["anchors"] = len(app.tracking.subject.anchors)
        result["owner_tail"] = app.tracking.subject.owner[later:].tolist()
        result["undo_after_reanchor"] = app.pulls.editor.undo_label if app.pulls.editor else None
    finally:
        app.close()
        (out / "result.json").write_text(json.dumps(result))


def test_track_button_click_and_strip(xvfb: str, tmp_path: Path) -> None:  # noqa: F811
    from tests import track_scenes as ts

    spec = ts.SceneSpec(size=(320, 180), frames=32, post_cross=2.0, subject_hidden=HIDDEN)
    scene, _, _, truth = ts.make_files(tmp_path, spec)
    anchor, check, later = 6, 10, 24
    meta = {"frames": spec.frames, "anchor": anchor, "check_frame": check, "later": later,
            "subject_at_anchor": scene.subject_centre(anchor),
            "subject_at_later": scene.subject_centre(later),
            "subject_box_at_check": scene.project(scene.subject, check)}
    (tmp_path / "meta.json").write_text(json.dumps(meta))
    env = {**os.environ, "DISPLAY": xvfb, "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    proc = subprocess.run([sys.executable, __file__, str(tmp_path)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, f"scenario failed:\n{proc.stdout}\n{proc.stderr}"
    r = json.loads((tmp_path / "result.json").read_text())

    assert r["t_key"] == [True, False]
    assert r["armed"] is True and r["job_started"] is True
    assert r["ui_frames_while_tracking"] >= 1  # the window kept drawing while it tracked
    assert r["undo_label"] == "record", r["message"]
    from rackfocus_live.lens import LensState

    lens = LensState(focal_length_mm=50.0, f_stop=2.0, sensor_width_mm=36.0)
    focus = np.array(r["focus"])
    err = np.array([abs(float(lens.with_focus(float(f)).coc_px(z, 640)))
                    for f, z in zip(focus, truth, strict=True)])
    visible = [i for i in range(spec.frames) if not HIDDEN[0] - 1 <= i <= HIDDEN[1] + 1]
    assert err[visible].max() <= 1.0, err.round(2).tolist()
    lost = set(r["lost"])
    assert set(range(HIDDEN[0] + 1, HIDDEN[1])) <= lost, sorted(lost)
    # The box is drawn at the subject, in the tracked colour.
    bx, by, bw, bh = r["box"]
    tx, ty, tw, th = r["box_truth"]
    assert abs(bx + bw / 2 - (tx + tw / 2)) < 4 and abs(by + bh / 2 - (ty + th / 2)) < 6
    edge = np.array(r["box_edge"])
    assert np.abs(edge - GREEN).max(axis=1).min() < 40, r["box_edge"]
    # The strip: green where tracked, red over the lost frames.
    strip = np.array(r["strip"])
    width = len(strip)
    mid_lost = int(width * (HIDDEN[0] + HIDDEN[1]) / 2 / spec.frames)
    assert np.abs(strip[mid_lost] - RED).max() < 40, strip[mid_lost]
    assert np.abs(strip[int(width * 3.5 / spec.frames)] - GREEN).max() < 40
    assert r["seek_frame"] == 8
    # The alt-click at a later frame added an anchor that owns the frames from there.
    assert r["anchors"] == 2 and set(r["owner_tail"]) == {1}
    assert r["undo_after_reanchor"] == "record"


if __name__ == "__main__":
    scenario(Path(sys.argv[1]))
