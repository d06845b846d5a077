"""The app driven like a user under Xvfb: widgets found by label, clicked, dragged and typed into
through the window's input (``ui.driver``); the app runs in test mode, so any ImGui ID conflict
fails the scenario. Scenarios run in a subprocess (``tests/app_harness.py``).
"""

from __future__ import annotations

import json
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


SCENARIOS = {"export": scenario_export, "id_conflict": scenario_id_conflict}


# -- the tests -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_demo_media(tmp_path_factory.mktemp("media"), frames=8)


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


if __name__ == "__main__":
    name, folder = sys.argv[1], Path(sys.argv[2])
    result = SCENARIOS[name](folder)
    (folder / "result.json").write_text(json.dumps(result))
