"""End to end under Xvfb: the real window on a generated clip, click-to-focus on the near post.

The test starts its own Xvfb on a free display and runs the scenario in a subprocess (this file
run as a script), so a crash in a native library fails this test instead of killing the run.
The scenario renders a small demo clip into ``tmp_path`` (assets/make_demo.py), opens the app on
it focused on the far wall, reads the window back, clicks the near post through the app's action
API, reads back again, and also checks a shift-click pull and that settings were saved. The test
then compares sharpness (variance of the Laplacian) of the post and of the wall in the two
screenshots, which it keeps under ``test-artifacts/``.

Last, it starts an export through the app's action API, keeps previewing (a re-rendered still,
then playback) while the export advances a frame per UI frame, and closes the window mid-export:
the close must not hang, must join the export's threads and leave no file behind.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.app_harness import load_make_demo, xvfb  # noqa: F401  (the Xvfb fixture)

pytestmark = pytest.mark.app

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
WINDOW = (900, 560)


# -- the scenario (runs in the subprocess) -------------------------------------------------------


def scenario(out: Path) -> None:
    from rackfocus_live.depth import DepthMapping
    from rackfocus_live.lens import LensState
    from rackfocus_live.media.images import write_png
    from rackfocus_live.ui.app import App, AppConfig

    media = out / "media"
    meta = json.loads((media / "demo.json").read_text())
    post = meta["objects"]["post"]["pixel_at_start"]
    wall = meta["objects"]["wall"]["pixel_at_start"]
    depths = {name: obj["depth_m"] for name, obj in meta["objects"].items()}

    settings = out / "config" / "settings.json"
    lens = LensState(focal_length_mm=35.0, f_stop=1.4, sensor_width_mm=36.0, focus_m=8.0,
                     focus_breathing=False)
    app = App(AppConfig(clip=media / "demo.mp4", depth=media / "demo_depth.mkv",
                        mapping=DepthMapping("metric", scale=0.001, near=1.0, far=9.0),
                        lens=lens, window_size=WINDOW, settings_path=settings, vsync=False))
    result: dict[str, object] = {}
    try:
        assert app.wait_for_frame(0, timeout_s=20.0), "frame 0 never arrived"
        app.hud_visible = False
        before = app.screenshot()
        focus = app.click_focus(post[0], post[1])
        after = app.screenshot()
        # A shift-click pull back to the wall: halfway there after half the duration.
        app.state.pull_duration_s = 1.0
        app.state.pull_easing = "linear"
        app.run_frames(1, dt=0.0)
        pulled_to = app.click_focus(wall[0], wall[1], pull=True)
        app.run_frames(12, dt=1.0 / 24.0)
        halfway = app.state.focus_m
        app.run_frames(14, dt=1.0 / 24.0)
        landed = app.state.focus_m
        # A bad file dropped on the window: a message, and the clip keeps playing.
        junk = out / "junk.mp4"
        junk.write_bytes(b"not a video" * 100)
        app.input.on_drop(None, [str(junk)])  # what glfw calls from poll_events
        start = app.state.transport.frame
        app.state.toggle_play()
        app.run_frames(3, dt=1.0 / 24.0)
        assert app.session is not None
        result.update(
            drop_message=app.state.message, clip_after_drop=app.session.clip_path.name,
            frames_played=(app.state.transport.frame - start) % 6,
        )
        result.update(
            focus=focus, pulled_to=pulled_to, halfway=halfway, landed=landed,
            rect=list(app.image_rect()), image_size=list(app.state.image_size),
            post=post, wall=wall, depths=depths, fb_size=list(before.shape[:2]),
            decoder_threads=[t.name for t in __import__("threading").enumerate()
                             if t.name.startswith("rackfocus-decoder")],
        )
        write_png(out / "before.png", before)
        write_png(out / "after.png", after)
        result.update(export_scenario(app, out))
    finally:
        app.close()
    import threading

    result["threads_after_close"] = [
        t.name for t in threading.enumerate()
        if t.name.startswith(("rackfocus-decoder", "rackfocus-writer"))
    ]
    result["settings_saved"] = json.loads(settings.read_text())
    (out / "result.json").write_text(json.dumps(result))


def export_scenario(app, out: Path) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Export while previewing, then close the window mid-export (see the module docstring)."""
    import glfw

    if app.state.transport.playing:
        app.state.toggle_play()
    assert app.wait_for_frame(2), "frame 2 never arrived"
    reference = app.screenshot()
    # One export frame per UI frame, so the 6-frame clip is still exporting when we close.
    app.exporter.max_frames_per_update = 1
    started = app.start_export(out / "exported.mp4")
    # Paused: the still is re-rendered (a revision bump) between export frames.
    for _ in range(2):
        app.state.revision += 1
        app.frame()
    during = app.screenshot()
    x, y, w, h = (round(v) for v in app.image_rect())
    diff = np.abs(during[y:y + h, x:x + w].astype(int) - reference[y:y + h, x:x + w].astype(int))
    # Playing: the preview keeps showing new frames.
    app.state.toggle_play()
    shown = []
    for _ in range(2):
        app.frame(wait_s=0.5)
        shown.append(app.session.current)
    progress = app.exporter.progress
    state_at_close = app.exporter.job.state if app.exporter.job is not None else None
    threads = [t.name for t in __import__("threading").enumerate()
               if t.name.startswith("rackfocus-writer")]
    glfw.set_window_should_close(app.window, True)  # what the window's close button does
    assert app.run() == 0  # the loop ends at once
    t = time.perf_counter()
    app.close()
    return {
        "export_started": started, "export_message": app.exporter.message,
        "export_frames": progress.frames, "export_total": progress.total,
        "export_state_at_close": state_at_close,
        "export_writer_threads": threads, "picture_diff_max": int(diff.max()),
        "preview_shown": shown, "close_s": time.perf_counter() - t,
        "export_files_left": sorted(p.name for p in out.iterdir() if p.name.startswith("exp")),
    }


# -- the test ------------------------------------------------------------------------------------


def _laplacian_variance(img: np.ndarray) -> float:
    g = img.astype(np.float64) @ np.array([0.2126, 0.7152, 0.0722])
    lap = g[1:-1, :-2] + g[1:-1, 2:] + g[:-2, 1:-1] + g[2:, 1:-1] - 4.0 * g[1:-1, 1:-1]
    return float(lap.var())


def _patch(img: np.ndarray, rect: list[float], image_size: list[int], point: list[float],
           half: float) -> np.ndarray:
    """The screen pixels of an image-space square of +-half image px around ``point``."""
    x0, y0, w, _ = rect
    s = w / image_size[0]
    cx, cy = x0 + point[0] * s, y0 + point[1] * s
    r = half * s
    return img[int(cy - r): int(cy + r), int(cx - r): int(cx + r)]


def test_click_to_focus_sharpens_the_near_post(xvfb: str, tmp_path: Path) -> None:  # noqa: F811
    from rackfocus_live.media.images import read_rgb

    # The clip is rendered here (standalone EGL), not in the windowed process: an EGL context on
    # the X display next to the window's GLX one makes GLX refuse to make the window current.
    make_demo = load_make_demo()
    make_demo.make_demo(tmp_path / "media", make_demo.DemoSpec(width=320, height=180, frames=6))
    env = {**os.environ, "DISPLAY": xvfb, "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    proc = subprocess.run([sys.executable, __file__, str(tmp_path)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"scenario failed:\n{proc.stdout}\n{proc.stderr}"
    r = json.loads((tmp_path / "result.json").read_text())
    before, after = read_rgb(tmp_path / "before.png"), read_rgb(tmp_path / "after.png")
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(tmp_path / "before.png", ARTIFACTS / "app_smoke_before.png")
    shutil.copy(tmp_path / "after.png", ARTIFACTS / "app_smoke_after.png")

    assert list(before.shape[:2]) == r["fb_size"]
    assert r["focus"] == pytest.approx(r["depths"]["post"], rel=0.02)  # the post, ~1.2 m
    post_b = _laplacian_variance(_patch(before, r["rect"], r["image_size"], r["post"], 7))
    post_a = _laplacian_variance(_patch(after, r["rect"], r["image_size"], r["post"], 7))
    wall_b = _laplacian_variance(_patch(before, r["rect"], r["image_size"], r["wall"], 8))
    wall_a = _laplacian_variance(_patch(after, r["rect"], r["image_size"], r["wall"], 8))
    assert post_a > 1.5 * post_b, (post_b, post_a)  # the clicked post became sharper
    assert wall_a < 0.67 * wall_b, (wall_b, wall_a)  # the far wall became softer
    _, _, w, h = r["rect"]
    assert abs(w / h - r["image_size"][0] / r["image_size"][1]) < 0.01  # fitted, not stretched

    # Shift-click pull: even in inverse distance, so halfway in 1/m after half the duration.
    assert r["pulled_to"] == pytest.approx(r["depths"]["wall"], rel=0.02)
    assert 1 / r["halfway"] == pytest.approx((1 / r["focus"] + 1 / r["pulled_to"]) / 2, rel=0.1)
    assert r["landed"] == pytest.approx(r["pulled_to"], rel=1e-6)

    assert "junk.mp4" in r["drop_message"] and "not a readable" in r["drop_message"]
    assert r["clip_after_drop"] == "demo.mp4" and r["frames_played"] == 3  # still playing

    assert r["decoder_threads"], "the decoder thread was not running"
    assert r["threads_after_close"] == []  # joined on close

    # Export from the app: it ran alongside the preview and the window's close cancelled it.
    assert r["export_started"], r["export_message"]
    assert r["export_writer_threads"], "the export's encoder thread was not running"
    assert r["export_state_at_close"] == "running"
    assert 1 <= r["export_frames"] < r["export_total"] == 6
    assert r["picture_diff_max"] <= 1  # the export's GL work did not disturb the preview's
    assert r["preview_shown"][0] > 2 and r["preview_shown"][1] > r["preview_shown"][0]
    assert r["close_s"] < 10.0
    assert r["export_files_left"] == []  # neither exported.mp4 nor exported.partial.mp4
    assert r["settings_saved"]["lens"]["f_stop"] == 1.4
    assert r["settings_saved"]["window_size"] == list(WINDOW)


if __name__ == "__main__":
    scenario(Path(sys.argv[1]))
