"""Interactive responsiveness: play the demo in the real window while a scripted user presses keys
and drags the focus slider through the window's input, and measure what that user feels.

Runs the app in test mode (widgets found by label, ``ui.driver``) on the wall clock, for
``--seconds`` (20 by default). Under Xvfb when there is no display (it starts its own).

Reported, as percentiles:

- UI frame rate: 1 / duration of each UI frame (p50, and p5 = the slow end).
- input latency in UI frames: for each injected Up/Down press, how many UI frames passed until
  the focus had changed (1 = applied by the next frame, the best possible).
- DOF lag in ms: from an injected focus change to the end of the first UI frame whose depth of
  field was rendered with the new focus.

The last line reads ``ui fps p50 X p5 Y; input latency p95 Z frames; dof lag p50 W ms``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

#: Seconds between injected focus key presses, and between slider drags.
KEY_EVERY_S = 0.4
DRAG_EVERY_S = 3.0


def _start_xvfb() -> tuple[subprocess.Popen[bytes], str] | None:
    if shutil.which("Xvfb") is None:
        return None
    for n in range(120, 200):
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            break
    else:
        return None
    proc = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10.0
    while not Path(f"/tmp/.X11-unix/X{n}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return proc, f":{n}"


def measure(seconds: float, window: tuple[int, int], quality: str) -> dict[str, list[float]]:
    # imgui_bundle (through the app) first: it points pyGLFW at its own glfw.
    from rackfocus_live.commands.open import load_demo
    from rackfocus_live.ui.app import App, AppConfig
    from rackfocus_live.ui.driver import UiDriver

    import glfw  # isort: skip

    demo = load_demo()
    with tempfile.TemporaryDirectory(prefix="rackfocus-bench-") as tmp:
        # demo_clip: the bundled demo gets no sidecar (its folder is part of the repository).
        app = App(AppConfig(clip=demo.clip, depth=demo.depth, mapping=demo.mapping,
                            demo_clip=demo.clip, lens=demo.lens, quality=quality,
                            window_size=window,
                            settings_path=Path(tmp) / "settings.json", save_settings=False,
                            vsync=False, test_mode=True))
        try:
            ui = UiDriver(app)
            if not app.wait_for_frame(0, timeout_s=30.0):
                raise RuntimeError("the demo's first frame never arrived")
            ui.frames(2)
            ui.tap(glfw.KEY_SPACE)  # play
            frame_ms: list[float] = []
            latency: list[float] = []
            lag_ms: list[float] = []
            pending: list[tuple[float, float, int, bool]] = []  # (t, focus, frame, seen)
            rng = np.random.default_rng(7)
            start = time.perf_counter()
            next_key, next_drag, n = start + 0.5, start + DRAG_EVERY_S, 0
            while time.perf_counter() - start < seconds:
                now = time.perf_counter()
                if now >= next_drag:
                    # A drag on the focus slider: several frames of mouse moves (each timed).
                    w = ui.find("rackfocus-live/##focus drag")
                    y = (w.y0 + w.y1) / 2
                    x0 = w.x0 + (0.3 + 0.4 * rng.random()) * (w.x1 - w.x0)
                    t0 = time.perf_counter()
                    ui.drag((x0, y), (x0 + 40.0 * (rng.random() - 0.5), y), steps=4)
                    frame_ms.extend([(time.perf_counter() - t0) * 1000.0 / 7.0] * 7)
                    next_drag = time.perf_counter() + DRAG_EVERY_S
                    continue
                if now >= next_key:
                    key = glfw.KEY_UP if rng.random() < 0.5 else glfw.KEY_DOWN
                    before = app.state.focus_m
                    ui.key_down(key)
                    ui.key_up(key)
                    pending.append((time.perf_counter(), before, n, False))
                    next_key = now + KEY_EVERY_S
                t0 = time.perf_counter()
                app.frame()
                t1 = time.perf_counter()
                n += 1
                frame_ms.append((t1 - t0) * 1000.0)
                rendered = app.picture.rendered_focus_m
                still: list[tuple[float, float, int, bool]] = []
                for t, before, frame, seen in pending:
                    focus = app.state.focus_m
                    if not seen and focus != before:
                        latency.append(float(n - frame))
                        seen = True
                    if seen and rendered == focus:
                        lag_ms.append((t1 - t) * 1000.0)
                        continue
                    if t1 - t < 5.0:
                        still.append((t, before, frame, seen))
                pending = still
        finally:
            app.close()
    return {"frame_ms": frame_ms, "latency": latency, "lag_ms": lag_ms}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--window", default="1000x640", help="window size (the picture gets "
                        "the window less the panel and the transport/curve area)")
    parser.add_argument("--quality", default="default")
    args = parser.parse_args(argv)
    w, h = (int(v) for v in args.window.split("x"))
    xvfb = None
    if not os.environ.get("DISPLAY"):
        xvfb = _start_xvfb()
        if xvfb is None:
            print("no display and no Xvfb: cannot open the window", file=sys.stderr)
            return 2
        os.environ["DISPLAY"] = xvfb[1]
    try:
        r = measure(args.seconds, (w, h), args.quality)
    finally:
        if xvfb is not None:
            xvfb[0].terminate()
            xvfb[0].wait(timeout=10)
    fps = 1000.0 / np.asarray(r["frame_ms"])
    lat = np.asarray(r["latency"] or [np.nan])
    lag = np.asarray(r["lag_ms"] or [np.nan])
    print(f"demo 640x360, window {w}x{h}, preset {args.quality}, {args.seconds:g} s, "
          f"{len(fps)} UI frames, {len(r['latency'])} key presses")
    print(f"ui frame ms: p50 {np.median(r['frame_ms']):.1f} p95 "
          f"{np.percentile(r['frame_ms'], 95):.1f}")
    print(f"input latency frames: p50 {np.nanmedian(lat):.0f} max {np.nanmax(lat):.0f}")
    print(f"ui fps p50 {np.median(fps):.1f} p5 {np.percentile(fps, 5):.1f}; "
          f"input latency p95 {np.nanpercentile(lat, 95):.0f} frames; "
          f"dof lag p50 {np.nanmedian(lag):.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
