"""The timeline, lens and depth modules must not pull in GL, windowing or UI libraries."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FORBIDDEN = ("moderngl", "glfw", "imgui_bundle")

PROBE = """
import importlib, json, pkgutil, sys
import rackfocus_live.timeline as timeline
names = ["rackfocus_live.lens", "rackfocus_live.depth", "rackfocus_live.timeline",
         "rackfocus_live.depthcond", "rackfocus_live.depthcheck", "rackfocus_live.calibrate"]
names += [f"rackfocus_live.timeline.{m.name}" for m in pkgutil.iter_modules(timeline.__path__)]
for name in names:
    importlib.import_module(name)
print(json.dumps({"imported": names, "modules": sorted(sys.modules)}))
"""


def test_timeline_lens_and_depth_import_no_gl_window_or_ui() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, capture_output=True,
                         text=True, timeout=120, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(result["imported"]) >= 10  # every timeline module was really imported
    loaded = {m.split(".")[0] for m in result["modules"]}
    assert not loaded & set(FORBIDDEN), sorted(loaded & set(FORBIDDEN))


def test_the_probe_would_catch_a_forbidden_import() -> None:
    """The check can fail: importing the curve editor (which uses imgui) is caught."""
    probe = ("import json, sys, rackfocus_live.ui.timeline_view; "
             "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True,
                         timeout=120, check=True)
    assert "imgui_bundle" in json.loads(out.stdout.strip().splitlines()[-1])
