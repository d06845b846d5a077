"""Chunks of a shot whose relative depth is stabilised: each chunk conditions its depth from the
shot's first frame (frames before the chunk are conditioned, not rendered), so the joined file is
the single export bit for bit. Without it every chunk restarted the stabiliser on its own first
frame: another reference scale, a jump in blur at each join."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.cli_helpers import run_cli as cli
from tests.farm_helpers import NTSC, SIZE, assert_same_export, make_shot, video
from tests.media_factory import write_grey_video

pytestmark = [pytest.mark.gl, pytest.mark.timeout(180)]

def drifting_disparity(path: Path, frames: int, seed: int = 5) -> Path:
    """A still scene's 16-bit disparity whose scale and offset drift by +-10 % a frame, as a
    per-frame monocular model's do (a near block on a receding ramp)."""
    w, h = SIZE
    xx = np.mgrid[0:h, 0:w][1]
    base = 0.25 + 0.5 * xx / w
    base[h // 4: 3 * h // 4, w // 3: 2 * w // 3] = 0.9
    rng = np.random.default_rng(seed)

    def drifted(i: int) -> np.ndarray:
        a, b = 1.0 + rng.uniform(-0.1, 0.1), rng.uniform(-0.05, 0.05)
        return np.clip((base * a + b) * 50000, 0, 65535).astype(np.uint16)

    return write_grey_video(path, (drifted(i) for i in range(frames)), fps=NTSC)


@pytest.mark.parametrize("frame_range", [None, "2:12"])
def test_stabilised_relative_depth_joins_to_the_single_export(
        tmp_path: Path, frame_range: str | None) -> None:
    shot = make_shot(tmp_path, frames=12)
    depth = drifting_disparity(tmp_path / "disparity.mkv", 12)
    flags = ["--depth", depth, "--depth-kind", "disparity", "--near", 0.5, "--far", 20,
             "--focus", 1.5, "--f-stop", 1.4, "--codec", "ffv1"]
    if frame_range is not None:
        flags += ["--range", frame_range]
    single, joined = tmp_path / "single.mkv", tmp_path / "joined.mkv"
    unstabilised = tmp_path / "plain.mkv"
    assert cli("export", shot["clip"], *flags, "-o", single) == 0
    assert cli("export", shot["clip"], *flags, "--no-stabilise-depth", "-o", unstabilised) == 0
    # The stabiliser is at work in this shot (else the test would prove nothing)...
    differs = [not np.array_equal(a, b) for a, b in zip(video(single)[1],
                                                        video(unstabilised)[1], strict=True)]
    assert sum(differs) >= 5
    # ...and the chunks (4 frames each: every join is past the shot's first frame) agree.
    assert cli("farm", shot["clip"], *flags, "-o", joined, "--chunk-frames", 4) == 0
    assert_same_export(single, joined)
