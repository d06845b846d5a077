"""How coarse a shot's depth is (``depthdetail``) is read from the shot's start, in the preview,
a whole export and every farm chunk alike: a chunk that read it from its own first frame would
refine with another reach and show a jump in blur at its join."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.blur import gauss_blur
from tests.cli_helpers import run_cli as cli
from tests.farm_helpers import NTSC, SIZE, assert_same_export, make_shot, video
from tests.media_factory import write_grey_video

pytestmark = [pytest.mark.gl, pytest.mark.timeout(180)]

SOFT_FRAMES = 4


def softening_depth(path: Path, frames: int) -> Path:
    """16-bit millimetres: a near block (0.8 m) before a wall (3 m), its edges blurred by 3 px
    (in inverse depth) in the first SOFT_FRAMES frames and sharp after: a shot whose start says
    "coarse" and whose later frames alone would say "as fine as its pixels"."""
    w, h = SIZE
    inv = np.full((h, w), 1 / 3.0)
    inv[h // 4: 3 * h // 4, w // 3: 2 * w // 3] = 1 / 0.8
    soft = gauss_blur(inv, 3.0)
    return write_grey_video(path, (np.round(1000.0 / (soft if i < SOFT_FRAMES else inv))
                                   .astype(np.uint16) for i in range(frames)), fps=NTSC)


def test_chunks_read_the_depth_detail_from_the_shots_start(tmp_path: Path) -> None:
    shot = make_shot(tmp_path, frames=12)
    depth = softening_depth(tmp_path / "depth.mkv", 12)
    flags = ["--depth", depth, "--depth-kind", "metric", "--depth-scale", 0.001,
             "--focus", 3.0, "--f-stop", 1.4, "--codec", "ffv1"]
    single, joined, late = tmp_path / "single.mkv", tmp_path / "joined.mkv", tmp_path / "late.mkv"
    assert cli("export", shot["clip"], *flags, "-o", single) == 0
    # The later frames on their own (a shot starting at frame 4) read as sharp depth and are
    # refined differently (else this test would prove nothing)...
    assert cli("export", shot["clip"], *flags, "--range", "4:12", "-o", late) == 0
    whole = video(single)[1][SOFT_FRAMES:]
    alone = video(late)[1]
    assert sum(not np.array_equal(a, b) for a, b in zip(whole, alone, strict=True)) >= 4
    # ...yet chunks of 4 frames (two of them start on sharp frames) join to the single export.
    assert cli("farm", shot["clip"], *flags, "-o", joined, "--chunk-frames", 4) == 0
    assert_same_export(single, joined)
