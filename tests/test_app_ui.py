"""The app driven like a user under Xvfb: widgets found by label, clicked, dragged and typed into
through the window's input (``ui.driver``); the app runs in test mode, so any ImGui ID conflict
fails the scenario. Scenarios run in a subprocess (``tests/app_harness.py``).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # when run as a script
from tests import app_harness
from tests.app_harness import make_demo_media, run_scenario

xvfb = app_harness.xvfb

pytestmark = pytest.mark.app
WINDOW = (960, 600)
#: 1.5 s at 24 fps: a take of about a second fits without wrapping around the loop.
CLIP_FRAMES = 36


# -- scenarios (run in the subprocess) -----------------------------------------------------------


def _open_app(work: Path, **config: Any):  # type: ignore[no-untyped-def]
    from rackfocus_live.depth import DepthMapping
    from rackfocus_live.lens import LensState
    from rackfocus_live.ui.app import App, AppConfig
    from rackfocus_live.ui.driver import UiDriver

    media = work / "media"
    lens = LensState(focal_length_mm=35.0, f_stop=1.4, sensor_width_mm=36.0, focus_m=8.0,
                     focus_breathing=False)
    cfg = dict(clip=media / "demo.mp4", depth=media / "demo_depth.mkv",
               mapping=DepthMapping("metric", scale=0.001, near=1.0, far=9.0),
               lens=lens, window_size=WINDOW, settings_path=work / "settings.json",
               vsync=False, save_settings=False, test_mode=True)
    cfg.update(config)
    app = App(AppConfig(**cfg))
    assert app.wait_for_frame(0, timeout_s=20.0), "frame 0 never arrived"
    return app, UiDriver(app)


def scenario_export(work: Path) -> dict[str, Any]:
    """Open the Export section, type an output name, press Export, wait for the file."""
    import time

    app, ui = _open_app(work)
    try:
        ui.frames(2)
        ui.click("rackfocus-live/Export##section")
        ui.frames(1)
        ui.select_all_and_type("rackfocus-live/##output", "from_panel.mp4")
        ui.select_all_and_type("rackfocus-live/range", "2:10")  # eight frames
        ui.click("rackfocus-live/Export##start")
        deadline = time.monotonic() + 60.0
        started = app.exporter.running
        while app.exporter.running and time.monotonic() < deadline:
            ui.frames(1)
        return {"started": started, "message": app.exporter.message,
                "failed": app.exporter.failed,
                "output": str(work / "media" / "from_panel.mp4")}
    finally:
        app.close()


def scenario_id_conflict(work: Path) -> dict[str, Any]:
    """A panel drawn with two widgets of one ID must fail in test mode."""
    from imgui_bundle import imgui

    from rackfocus_live.ui.probe import IdConflictError

    app, ui = _open_app(work)
    original = app.panel_state
    try:
        import rackfocus_live.ui.panel as panel

        draw = panel._overlays

        def clashing(state):  # type: ignore[no-untyped-def]
            draw(state)
            imgui.button("Fit (0)")  # the same label (so ID) as the Fit button above it

        panel._overlays = clashing
        try:
            ui.frames(2)
        except IdConflictError as exc:
            return {"raised": str(exc)}
        return {"raised": None}
    finally:
        del original
        app.close()


def scenario_record(work: Path) -> dict[str, Any]:
    """Play, press R, move the focus with a burst of Up presses and the slider, press R."""
    import glfw

    app, ui = _open_app(work)
    try:
        app.run_frames(0, dt=1.0 / 24.0)  # the app's clock: one clip frame per UI frame
        ui.frames(2)
        rect_before = app.image_rect()
        fstop_before = ui.find("rackfocus-live/f-stop").y0
        ui.tap(glfw.KEY_SPACE)
        ui.frames(3)
        start_focus = app.state.focus_m
        ui.tap(glfw.KEY_R)
        armed_at = app.state.transport.position_s
        rect_recording = app.image_rect()
        ui.frames(1)
        fstop_with_message = ui.find("rackfocus-live/f-stop").y0
        ui.frames(3)
        for _ in range(5):  # five quick presses within one UI frame
            ui.key_down(glfw.KEY_UP)
            ui.key_up(glfw.KEY_UP)
        ui.frames(1)
        after_burst = app.state.focus_m
        ui.frames(5)
        trace = len(app.pulls.recorder.pending_samples()) if app.pulls.recorder else 0
        w = ui.drag_widget("rackfocus-live/##focus drag", 0.5, 0.3, steps=3)
        dragged_to = app.state.focus_m
        ui.frames(6)
        stop_at = app.state.transport.position_s
        ui.tap(glfw.KEY_R)
        track = app.state.track
        assert track is not None
        keys = [[k.time, k.focus_m] for k in track.keys]
        message, level = app.state.message, app.state.message_level
        focus_at_stop, samples = app.state.focus_m, len(track.samples)
        # Fit the raw take again with a looser tolerance: one undo step, the samples kept.
        ui.drag_widget("rackfocus-live/tolerance", 0.3, 0.95, steps=3)
        ui.click("rackfocus-live/Re-simplify")
        refit = app.state.track
        assert refit is not None and app.pulls.editor is not None
        resimplified = {"message": app.state.message, "tolerance": app.pulls.tolerance_px,
                        "undo": app.pulls.editor.undo_label, "keys": len(refit.keys),
                        "same_samples": refit.samples == track.samples}
        return {"resimplified": resimplified,
            "start_focus": start_focus, "after_burst": after_burst, "dragged_to": dragged_to,
            "armed_at": armed_at, "stop_at": stop_at, "keys": keys,
            "message": message, "level": level,
            "trace": trace, "rect_before": list(rect_before),
            "rect_recording": list(rect_recording), "rect_after": list(app.image_rect()),
            "slider_width": w.x1 - w.x0, "fstop_y": [fstop_before, fstop_with_message],
            "eval_at_stop": track.evaluate(stop_at), "focus_at_stop": focus_at_stop,
            "samples": samples,
        }
    finally:
        app.close()


def scenario_marks(work: Path) -> dict[str, Any]:
    """Ctrl+1 sets mark A, focus elsewhere, 1 jumps back to it; Z is the 1:1 view."""
    import glfw

    app, ui = _open_app(work)
    try:
        ui.frames(2)
        ui.click("rackfocus-live/Fit (0)")
        rect_fit = app.image_rect()
        ui.tap(glfw.KEY_1, mods=glfw.MOD_CONTROL)
        mark_focus = app.state.focus_m
        for _ in range(10):
            ui.key_down(glfw.KEY_DOWN)
            ui.key_up(glfw.KEY_DOWN)
        ui.frames(1)
        moved = app.state.focus_m
        ui.tap(glfw.KEY_1)
        jumped = app.state.focus_m
        rect_after_1 = app.image_rect()
        ui.tap(glfw.KEY_Z)
        rect_z = app.image_rect()
        ui.select_all_and_type("rackfocus-live/focus (m)", "12.9")  # typed in metres
        typed = app.state.focus_m
        w = ui.find("rackfocus-live/##focus drag")
        y = (w.y0 + w.y1) / 2
        ui.drag((w.x0 + 150, y), (w.x0 + 40, y), steps=5)  # 110 px to the left
        after_drag = app.state.focus_m
        ui.tap(glfw.KEY_DOWN)
        playhead = app.state.transport.position_s
        ui.tap(glfw.KEY_1, mods=glfw.MOD_SHIFT)  # key a pull to A from the playhead
        track = app.state.track
        assert track is not None and app.pulls.editor is not None
        pulled = track.evaluate(playhead + app.state.pull_duration_s)
        undo_label = app.pulls.editor.undo_label
        return {"mark_focus": mark_focus, "moved": moved, "jumped": jumped,
                "rect_fit": list(rect_fit), "rect_after_1": list(rect_after_1),
                "rect_z": list(rect_z), "image_size": list(app.state.image_size),
                "message": app.state.message, "pulled": pulled, "undo_label": undo_label,
                "typed": typed, "after_drag": after_drag}
    finally:
        app.close()


def scenario_per_clip(work: Path) -> dict[str, Any]:
    """Set a mark and the f-stop on clip A, drop clip B (10 fps) on the window, then A again."""
    import glfw

    app, ui = _open_app(work, settings_path=work / "settings.json")
    a, b = work / "media" / "demo.mp4", work / "media10" / "demo.mp4"
    try:
        ui.frames(2)
        ui.tap(glfw.KEY_1, mods=glfw.MOD_CONTROL)  # mark A at the current focus (8 m)
        ui.drag_widget("rackfocus-live/f-stop", 0.1, 0.6, steps=3)
        a_stop = app.state.lens.f_stop
        app.input.on_drop(None, [str(b)])  # what glfw calls when a file is dropped
        ui.frames(2)
        on_b = {"fps": float(app.state.transport.fps), "track": app.state.track is not None,
                "f_stop": app.state.lens.f_stop, "clip": str(app.session.clip_path)}
        app.input.on_drop(None, [str(a)])
        ui.frames(2)
        track = app.state.track
        back = {"marks": [[m.label, m.focus_m] for m in track.marks] if track is not None else [],
                "f_stop": app.state.lens.f_stop, "fps": float(app.state.transport.fps),
                "message": app.state.message}
        return {"a_stop": a_stop, "on_b": on_b, "back": back,
                "sidecars": sorted(str(p.relative_to(work))
                                   for p in work.rglob("*.rackfocus.json"))}
    finally:
        app.close()


def scenario_demo_lens(work: Path) -> dict[str, Any]:
    """The demo (f/1.4, no breathing) opened and closed: the user's lens settings stay theirs."""
    app, ui = _open_app(work, demo_clip=work / "media" / "demo.mp4", save_settings=True)
    try:
        ui.frames(2)
        shown = app.state.lens.f_stop
    finally:
        app.close()
    import json as json_module

    saved = json_module.loads((work / "settings.json").read_text())
    return {"shown": shown, "saved": saved["lens"], "sidecars": [
        str(p) for p in work.rglob("*.rackfocus.json")]}


def scenario_conditioning(work: Path) -> dict[str, Any]:
    """Click the depth conditioning checkboxes: the shown frame's depth is conditioned again."""
    app, ui = _open_app(work)
    try:
        ui.frames(2)
        session = app.session
        assert session is not None and session.uploader.conditioner is not None
        before = app.state.conditioning
        stabilising_before = session.uploader.conditioner.stabilising
        renders = app.picture.dof_renders
        ui.click("rackfocus-live/stabilise depth video")
        ui.frames(2)
        after_stabilise = app.state.conditioning
        stabilising_after = session.uploader.conditioner.stabilising
        # What the panel says of the demo depth's detail (a sharp synthetic Z: as its pixels).
        detail_lines = [w.label for w in ui.probe.widgets.values()
                        if w.label.startswith("depth detail")]
        measured = session.depth_detail
        ui.click("rackfocus-live/refine depth edges")
        ui.frames(2)
        detail_lines_off = [w.label for w in ui.probe.widgets.values()
                            if w.label.startswith("depth detail")]
        return {"before": [before.refine, before.stabilise],
                "detail_lines": detail_lines, "detail_lines_off": detail_lines_off,
                "measured": measured,
                "after_stabilise": [after_stabilise.refine, after_stabilise.stabilise],
                "after_refine": [app.state.conditioning.refine, app.state.conditioning.stabilise],
                "uploader_refine": session.uploader.conditioner.settings.refine,
                "stabilising": [stabilising_before, stabilising_after],
                "renders": app.picture.dof_renders - renders}
    finally:
        app.close()


SCENARIOS = {"per_clip": scenario_per_clip, "demo_lens": scenario_demo_lens,
             "conditioning": scenario_conditioning,
             "export": scenario_export, "id_conflict": scenario_id_conflict,
             "record": scenario_record, "marks": scenario_marks}


# -- the tests -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_demo_media(tmp_path_factory.mktemp("media"), frames=CLIP_FRAMES)


def _work(tmp_path: Path, media: Path) -> Path:
    (tmp_path / "media").mkdir()
    for p in media.iterdir():
        (tmp_path / "media" / p.name).write_bytes(p.read_bytes())
    return tmp_path


def test_export_from_the_panel_writes_a_decodable_file(xvfb: str, tmp_path: Path,
                                                       media: Path) -> None:
    import av

    work = _work(tmp_path, media)
    inputs = {p.name: p.read_bytes() for p in (work / "media").iterdir()}
    r = run_scenario(__file__, "export", work, xvfb)
    assert r["started"], r["message"]
    assert not r["failed"], r["message"]
    out = Path(r["output"])
    with av.open(str(out)) as f:
        frames = sum(1 for _ in f.decode(video=0))
    assert frames == 8
    for name, data in inputs.items():  # every input byte for byte unchanged
        assert (work / "media" / name).read_bytes() == data


def test_an_id_conflict_fails_the_ui_test(xvfb: str, tmp_path: Path, media: Path) -> None:
    r = run_scenario(__file__, "id_conflict", _work(tmp_path, media), xvfb)
    assert r["raised"] and "Fit (0)" in r["raised"]


def test_recording_a_take_by_pressing_r_during_playback(xvfb: str, tmp_path: Path,
                                                       media: Path) -> None:
    r = run_scenario(__file__, "record", _work(tmp_path, media), xvfb)
    # Five Up presses in one slow frame: all applied in the next frame, none later.
    assert r["after_burst"] == pytest.approx(r["start_focus"] * 1.05 ** 5, rel=1e-9)
    assert r["trace"] > 3  # the live trace had samples while recording
    # The picture never moved: the curve editor's space was there before R.
    assert r["rect_before"] == r["rect_recording"] == r["rect_after"]
    # The message "recording..." appeared in its own area: the widgets below did not move.
    assert r["fstop_y"][0] == r["fstop_y"][1]
    keys = r["keys"]
    assert len(keys) >= 2 and r["samples"] > 3
    assert keys[0][0] == pytest.approx(r["armed_at"], abs=0.05)
    assert keys[-1][0] == pytest.approx(r["stop_at"], abs=1e-6)  # punched out at the playhead
    assert r["eval_at_stop"] == pytest.approx(r["focus_at_stop"], rel=1e-6)
    assert r["dragged_to"] < r["after_burst"]
    assert r["message"].startswith(f"recorded {len(keys)} keys (")
    assert f"{r['stop_at']:.2f} s)" in r["message"] and r["level"] == "ok"
    re = r["resimplified"]
    assert re["tolerance"] > 1.0 and re["same_samples"]
    assert re["message"].startswith(f"re-simplified the recorded takes: {re['keys']} keys")
    # Looser never needs more keys; a fit that changed nothing is no undo step.
    assert re["keys"] <= len(keys)
    assert re["undo"] == ("record" if re["keys"] == len(keys) else "re-simplify")


def test_digit_keys_are_focus_marks_and_z_is_one_to_one(xvfb: str, tmp_path: Path,
                                                        media: Path) -> None:
    r = run_scenario(__file__, "marks", _work(tmp_path, media), xvfb)
    assert r["moved"] == pytest.approx(r["mark_focus"] / 1.05 ** 10, rel=1e-9)
    assert r["jumped"] == r["mark_focus"]
    assert r["rect_after_1"] == r["rect_fit"]  # 1 no longer changes the view
    assert r["rect_z"][2] == pytest.approx(r["image_size"][0], rel=1e-6)  # 1:1 pixels
    assert r["pulled"] == r["mark_focus"] and r["undo_label"] == "pull mark A"
    # The focus field takes metres; a 110 px drag is a measured move (0.4 % a pixel), not a
    # jump across the scene (it went from 12.9 m to 0.27 m with the old slider).
    assert r["typed"] == pytest.approx(12.9)
    assert r["after_drag"] == pytest.approx(12.9 * math.exp(-0.004 * 110), rel=0.03)


def test_each_clip_keeps_its_own_pull_marks_and_lens(xvfb: str, tmp_path: Path,
                                                     media: Path) -> None:
    work = _work(tmp_path, media)
    make_demo_media(work / "media10", frames=20, fps=10)
    r = run_scenario(__file__, "per_clip", work, xvfb)
    assert r["a_stop"] != 1.4  # the drag changed A's f-stop
    # B starts clean: no pull or marks of A, its own frame rate, the user's lens, not A's.
    assert r["on_b"]["clip"].endswith("media10/demo.mp4")
    assert r["on_b"]["fps"] == 10.0 and not r["on_b"]["track"]
    assert r["on_b"]["f_stop"] != r["a_stop"]
    # Back on A: its mark and f-stop, from its sidecar; B, untouched, got none.
    assert r["back"]["marks"] == [["A", 8.0]] and r["back"]["f_stop"] == r["a_stop"]
    assert r["back"]["fps"] == 24.0 and "restored" in r["back"]["message"]
    assert r["sidecars"] == ["media/demo.rackfocus.json"]


def test_the_demos_camera_is_never_saved_as_the_users_lens(xvfb: str, tmp_path: Path,
                                                           media: Path) -> None:
    r = run_scenario(__file__, "demo_lens", _work(tmp_path, media), xvfb)
    assert r["shown"] == 1.4  # the demo shows with its own camera...
    assert r["saved"]["f_stop"] == 2.8 and r["saved"]["focus_breathing"] is True  # ...not kept
    assert r["sidecars"] == []


def test_depth_conditioning_checkboxes_act_on_the_shown_frame(xvfb: str, tmp_path: Path,
                                                              media: Path) -> None:
    r = run_scenario(__file__, "conditioning", _work(tmp_path, media), xvfb)
    # Metric depth: stabilisation is automatic and off, and the box shows it unticked; a click
    # turns it on explicitly. Refinement is on by default; a click turns it off.
    assert r["before"] == [True, None] and r["stabilising"] == [False, True]
    assert r["after_stabilise"] == [True, True] and r["after_refine"] == [False, True]
    assert r["uploader_refine"] is False
    assert r["renders"] >= 2  # each change re-rendered the frame
    # The demo's depth is a sharp synthetic Z: read as fine as its pixels, and said so while
    # refinement is on.
    assert r["measured"] == 1.0
    assert r["detail_lines"] == ["depth detail: as fine as its pixels"]
    assert r["detail_lines_off"] == []


if __name__ == "__main__":
    name, folder = sys.argv[1], Path(sys.argv[2])
    result = SCENARIOS[name](folder)
    (folder / "result.json").write_text(json.dumps(result))
