"""Running a scenario in the real app window under Xvfb, in a subprocess.

Each UI test writes its scenario as a function of this module's ``run_scenario`` contract: the
test module, run as a script with the scenario's name and a work folder, opens the app in test
mode (``AppConfig(test_mode=True)``), drives it with ``ui.driver.UiDriver`` and writes
``result.json``; the test then checks it. A crash in a native library fails the test instead of
killing the run, and an ImGui ID conflict raises inside the scenario, so the test fails too.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_display() -> int:
    for n in range(90, 200):
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            return n
    raise RuntimeError("no free X display number in 90..199")


@pytest.fixture(scope="module")
def xvfb() -> Iterator[str]:
    """A private Xvfb display for the module's tests."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb; scripts/setup.sh does it)")
    n = free_display()
    proc = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    socket = Path(f"/tmp/.X11-unix/X{n}")
    deadline = time.monotonic() + 10.0
    while not socket.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if not socket.exists():
        proc.kill()
        proc.wait()
        pytest.skip(f"Xvfb did not start on :{n}")
    yield f":{n}"
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def load_make_demo():  # type: ignore[no-untyped-def]
    """assets/make_demo.py as a module (it is a script, not part of the package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_demo", ROOT / "assets" / "make_demo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_demo"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def make_demo_media(folder: Path, *, frames: int = 24, size: tuple[int, int] = (320, 180),
                    fps: int = 24) -> Path:
    """Render the demo clip, its depth and metadata into ``folder`` (standalone EGL, here: an EGL
    context next to the window's GLX one on the same display makes GLX refuse the window)."""
    module = load_make_demo()
    module.make_demo(folder, module.DemoSpec(width=size[0], height=size[1], frames=frames,
                                             fps=fps))
    return folder


def run_scenario(test_file: str, name: str, work: Path, display: str,
                 timeout_s: float = 180.0) -> dict[str, Any]:
    """Run ``python TEST_FILE NAME WORK`` on ``display``; return its ``result.json``."""
    env = {**os.environ, "DISPLAY": display, "XDG_CONFIG_HOME": str(work / "xdg")}
    proc = subprocess.run([sys.executable, test_file, name, str(work)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout_s)
    assert proc.returncode == 0, f"scenario {name} failed:\n{proc.stdout}\n{proc.stderr}"
    result: dict[str, Any] = json.loads((work / "result.json").read_text())
    return result
