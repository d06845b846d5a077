"""The path-traced eval (``../shared/eval``) as the benchmarks read it: where it is, its scorer,
and its scenes (colour, perfect inverse depth, the lens of each case)."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

from rackfocus_live.depth import DepthMapping
from rackfocus_live.lens import LensState
from rackfocus_live.media.images import read_depth_raw, read_rgb

ROOT = Path(__file__).resolve().parent.parent


def eval_dir() -> Path | None:
    """``../shared/eval`` beside the repository (or ``$RACKFOCUS_EVAL_DIR``), if it is there:
    benchmarks skip without it."""
    candidate = Path(os.environ.get("RACKFOCUS_EVAL_DIR", ROOT.parent / "shared" / "eval"))
    return candidate if (candidate / "score.py").is_file() else None


def load_score(evaldir: Path) -> ModuleType:
    """The eval's score.py as a module (its metrics, exactly as the judges compute them)."""
    sys.path.insert(0, str(evaldir))
    spec = importlib.util.spec_from_file_location("eval_score", evaldir / "score.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class EvalScene:
    """One scene: its description (scene.json), folder, colour and perfect depth."""

    meta: dict[str, Any]
    folder: Path
    rgb: npt.NDArray[np.uint8]
    depth_m: npt.NDArray[np.float64]

    @property
    def name(self) -> str:
        return str(self.meta["name"])

    @property
    def inverse_depth(self) -> npt.NDArray[np.float32]:
        return DepthMapping("metric").to_inverse_depth(self.depth_m.astype(np.float32))

    def cases(self) -> Iterator[tuple[dict[str, Any], LensState]]:
        """Each case of the scene with the lens that renders it (no focus breathing: Cycles
        keeps the pinhole field of view)."""
        m = self.meta
        for case in m["cases"]:
            yield case, LensState(focal_length_mm=m["focal_length_mm"], f_stop=case["f_stop"],
                                  sensor_width_mm=m["sensor_width_mm"], focus_m=case["focus_m"],
                                  focus_breathing=False)


def eval_scenes(evaldir: Path) -> Iterator[EvalScene]:
    for scene_json in sorted((evaldir / "scenes").glob("*/scene.json")):
        folder = scene_json.parent
        yield EvalScene(json.loads(scene_json.read_text()), folder,
                        read_rgb(folder / "rgb.png"),  # type: ignore[arg-type]
                        read_depth_raw(folder / "depth.exr").astype(np.float64))
