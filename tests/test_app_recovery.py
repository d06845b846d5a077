"""Crash safety of the real app: SIGKILL it mid-recording, restart, get the pull back.

A subprocess runs the real window (under the Xvfb the test starts) on a generated clip, arms
recording, plays, and moves the focus every frame as a focus puller would; after each frame it
reports the media time reached. The test kills it with SIGKILL once it is a few seconds into the
take, then starts the app again on the same clip: the panel must offer the unsaved pull, and
accepting it must bring back the performance up to at most 2 s of media time before the kill,
with the focus values that were performed.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_app_smoke import load_make_demo, xvfb  # noqa: F401  (the Xvfb fixture)

pytestmark = pytest.mark.app

ROOT = Path(__file__).resolve().parent.parent
FPS = 24


def performed_focus(t: float) -> float:
    """The focus the scripted 'puller' sets at media time t (metres): a slow rack 1.5 <-> 6 m."""
    return 1.5 + 4.5 * (0.5 - 0.5 * math.cos(t * math.pi / 2.0))


def _app(media: Path, out: Path):  # type: ignore[no-untyped-def]
    from rackfocus_live.depth import DepthMapping
    from rackfocus_live.ui.app import App, AppConfig

    return App(AppConfig(clip=media / "demo.mp4", depth=media / "demo_depth.mkv",
                         mapping=DepthMapping("metric", scale=0.001),
                         window_size=(640, 400), settings_path=out / "settings.json",
                         vsync=False))


def record(media: Path, out: Path) -> None:
    """Record until killed; report the media time of every frame shown."""
    app = _app(media, out)
    assert app.wait_for_frame(0, timeout_s=20.0)
    app.toggle_record()
    app.state.toggle_play()
    progress = out / "progress.txt"
    while True:
        app.state.set_focus(performed_focus(app.state.transport.frame_time_s + 1.0 / FPS))
        app.run_frames(1, dt=1.0 / FPS)
        # What the frame just shown recorded: its media time and the focus at that moment.
        with progress.open("a") as fh:
            fh.write(f"{app.state.transport.frame_time_s:.6f} {app.state.focus_m:.9f}\n")


def recover(media: Path, out: Path) -> None:
    app = _app(media, out)
    result: dict[str, object] = {"offer": None}
    try:
        if app.recovery is not None:
            result["offer"] = app.recovery.describe()
            app.recover()
            track = app.pulls.editor.track if app.pulls.editor else None
            assert track is not None
            samples = track.samples
            result["times"] = [float(v) for v in samples.time] if len(samples) else []
            result["focus"] = [float(v) for v in samples.focus_m] if len(samples) else []
            result["keys"] = len(track.keys)
            result["offer_after"] = app.recovery is not None
    finally:
        app.close()
    (out / "result.json").write_text(json.dumps(result))


def test_sigkill_during_recording_loses_at_most_two_seconds(xvfb: str, tmp_path: Path) -> None:  # noqa: F811
    make_demo = load_make_demo()
    media = tmp_path / "media"
    make_demo.make_demo(media, make_demo.DemoSpec(width=160, height=96, frames=6 * FPS))
    env = {**os.environ, "DISPLAY": xvfb, "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    proc = subprocess.Popen([sys.executable, __file__, "record", str(media), str(tmp_path)],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    progress = tmp_path / "progress.txt"
    deadline = time.monotonic() + 90
    reached = 0.0
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            lines = progress.read_text().splitlines() if progress.exists() else []
            reached = float(lines[-1].split()[0]) if lines else 0.0
            if reached >= 3.6:
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
        assert reached >= 3.6, "the recording never got going"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    performed = {round(float(t), 4): float(f) for t, f in
                 (line.split() for line in progress.read_text().splitlines() if
                  len(line.split()) == 2)}
    killed_at = max(performed)

    done = subprocess.run([sys.executable, __file__, "recover", str(media), str(tmp_path)],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-2000:]
    r = json.loads((tmp_path / "result.json").read_text())
    assert r["offer"] and "unsaved pull" in r["offer"], r
    times, focus = r["times"], r["focus"]
    assert times and times[0] < 0.2
    assert killed_at - times[-1] <= 2.0, (killed_at, times[-1])
    for t, f in zip(times, focus, strict=True):
        assert f == pytest.approx(performed[round(t, 4)], rel=1e-6)  # what was performed
    assert r["offer_after"] is False


if __name__ == "__main__":
    {"record": record, "recover": recover}[sys.argv[1]](Path(sys.argv[2]), Path(sys.argv[3]))
