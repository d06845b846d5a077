"""MediaSession (decoder + upload as the app drives it) on a headless context, the HUD's pure
parts, and the ``open`` command's checks before a window appears (bad input: one line, exit 2).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import moderngl
import numpy as np
import pytest

from rackfocus_live.cli import main
from rackfocus_live.depth import DepthMapping
from rackfocus_live.ui.hud import FpsMeter, HudStats
from tests import media_factory as mf


@pytest.fixture
def clip(tmp_path: Path) -> tuple[Path, Path]:
    c = mf.make_clip(tmp_path / "clip.mp4", frames=30, size=(64, 48), gop=6)
    d = mf.make_depth_video(tmp_path / "clip_depth.mkv", frames=30, size=(32, 24))
    return c, d


@pytest.fixture
def session(ctx: moderngl.Context, programs, clip: tuple[Path, Path]) -> Iterator[object]:  # type: ignore[no-untyped-def]
    from rackfocus_live.ui.session import MediaSession

    s = MediaSession(ctx, programs, clip[0], clip[1], mf.DEPTH_MAPPING)
    yield s
    s.close()


def _index_of(session) -> int:  # type: ignore[no-untyped-def]
    """The frame index carried by the uploaded depth (media_factory codes it into the values)."""
    return mf.read_depth_index(session.inv_depth)


@pytest.mark.gl
def test_paused_seeks_land_on_the_asked_frame(session) -> None:  # type: ignore[no-untyped-def]
    for index in (0, 17, 3, 29, 4):
        assert session.show(index, playing=False, timeout=5.0)
        assert session.current == index and _index_of(session) == index
    assert session.show(4, playing=False) is False  # already there: nothing to do
    assert session.stats.dropped == 0


@pytest.mark.gl
def test_playback_drops_late_frames_and_counts_them(session) -> None:  # type: ignore[no-untyped-def]
    assert session.show(0, playing=True, timeout=5.0)
    seeks = session.stats.seeks
    assert session.show(1, playing=True, timeout=5.0)
    assert session.show(4, playing=True, timeout=5.0)  # the display fell behind by two frames
    assert session.current == 4 and _index_of(session) == 4
    assert session.stats.dropped == 2 and session.stats.seeks == seeks  # caught up, no seek
    assert session.show(1, playing=True, timeout=5.0)  # loop back: a seek, not a drop
    assert session.stats.seeks == seeks + 1 and session.stats.dropped == 2


@pytest.mark.gl
def test_click_window_and_histogram_come_from_the_current_depth(session) -> None:  # type: ignore[no-untyped-def]
    assert session.show(5, playing=False, timeout=5.0)
    # Frame 5: 1.05 m in the top half, 3 mm farther in the bottom half. Depth is half size, so
    # image (32, 5) is depth (16, 2.5); the radius counts depth samples.
    top = session.inverse_depth_window(32, 5, 2)
    assert top.shape == (5, 5) and np.allclose(1 / top, 1.05, rtol=1e-4)
    bottom = session.inverse_depth_window(32, 45, 1)
    assert np.allclose(1 / bottom, 1.053, rtol=1e-4)
    assert session.inverse_depth_window(-1, 5, 2).size == 0
    counts, lo, hi = session.histogram(bins=8, step=1)
    assert counts.max() == 1.0 and counts[0] > 0 and counts[-1] > 0 and counts[1:-1].sum() == 0
    assert 1 / hi == pytest.approx(1.05, rel=1e-4) and 1 / lo == pytest.approx(1.053, rel=1e-4)


@pytest.mark.gl
def test_bad_files_raise_before_anything_opens(ctx, programs, tmp_path: Path,
                                               clip: tuple[Path, Path]) -> None:  # type: ignore[no-untyped-def]
    from rackfocus_live.errors import InputError
    from rackfocus_live.ui.session import MediaSession

    before = {t.name for t in threading.enumerate()}
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 100)
    with pytest.raises(InputError, match=r"junk\.mp4"):
        MediaSession(ctx, programs, junk, None, DepthMapping())
    with pytest.raises(InputError, match=r"nope\.mkv"):
        MediaSession(ctx, programs, clip[0], tmp_path / "nope.mkv", DepthMapping())
    # A clip or depth wider than the GPU renders: refused by name, with the limit.
    from rackfocus_live.gpu.context import frame_side_limit

    side = frame_side_limit(ctx)
    wide = mf.make_clip(tmp_path / "wide.mkv", frames=2, size=(side + 16, 16), codec="ffv1",
                        pix_fmt="yuv444p")
    with pytest.raises(InputError, match=rf"wide\.mkv: frames are {side + 16}x16; this GPU "
                                         rf"renders at most {side} pixels per side"):
        MediaSession(ctx, programs, wide, None, DepthMapping())
    wide_depth = mf.make_depth_video(tmp_path / "wide_d.mkv", frames=2, size=(side + 16, 16))
    with pytest.raises(InputError, match=r"wide_d\.mkv: frames are"):
        MediaSession(ctx, programs, clip[0], wide_depth, mf.DEPTH_MAPPING)
    assert {t.name for t in threading.enumerate()} == before  # no decoder thread left behind


def test_fps_meter_and_hud_lines() -> None:
    meter = FpsMeter(window=10)
    assert meter.fps == 0.0
    for i in range(21):
        meter.tick(i * 0.04)
    assert meter.fps == pytest.approx(25.0)
    slow = FpsMeter()  # 2 fps for a minute, then 10 fps for 3 s: the HUD says 10 at once
    for i in range(120):
        slow.tick(i * 0.5)
    for i in range(1, 31):
        slow.tick(59.5 + i * 0.1)
    assert slow.fps == pytest.approx(10.0) and slow.frame_ms == pytest.approx(100.0)
    lines = HudStats(render_fps=60, clip_fps=23.9, nominal_fps=24, dropped=3, queue_fill=0.5,
                     gpu_ms=None, quality="draft", size=(640, 360)).lines()
    text = "\n".join(lines)
    assert "draw  60.0 fps" in text and "clip  23.9 of 24" in text and "dropped 3" in text
    assert "queue  50%" in text and "n/a" in text and "640x360" in text


# -- the open command: files are checked before a window appears ---------------------------------


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "Traceback" not in err[0]
    return err[0]


def test_open_missing_clip_is_one_line_exit_2(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "missing.mp4")]) == 2
    assert "missing.mp4: file not found" in _one_error_line(capsys)


def test_open_bad_depth_and_keys_exit_2(tmp_path: Path, clip: tuple[Path, Path],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad_depth.png"
    bad.write_bytes(b"\x89PNG but not really")
    assert main([str(clip[0]), "--depth", str(bad)]) == 2
    assert "bad_depth.png" in _one_error_line(capsys)
    keys = tmp_path / "pull.json"
    keys.write_text("{ not json")
    assert main([str(clip[0]), "--depth", str(clip[1]), "--keys", str(keys)]) == 2
    assert "pull.json" in _one_error_line(capsys)
    assert main([str(clip[0]), "--window", "huge"]) == 2
    assert "--window" in _one_error_line(capsys)


def test_open_lens_flags_override_only_what_is_given() -> None:
    import argparse

    from rackfocus_live.commands import common
    from rackfocus_live.commands import open as open_cmd

    parser = argparse.ArgumentParser()
    open_cmd.add_arguments(parser)
    args = parser.parse_args(["clip.mp4", "--f-stop", "2", "--sensor-width", "super35"])
    assert common.lens_overrides(args) == {"f_stop": 2.0, "sensor_width_mm": 24.89}
    assert common.lens_overrides(parser.parse_args([])) == {}
    demo = open_cmd.load_demo()
    assert demo.lens.focal_length_mm == 35.0 and demo.lens.focus_breathing is False
    assert demo.clip.is_file() and demo.depth.is_file() and demo.keys is not None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11/Wayland display variables")
def test_open_without_a_display_is_one_line_exit_2(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["XDG_CONFIG_HOME"] = str(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "rackfocus_live.cli", "--no-save-settings"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot open a window" in lines[0], proc.stderr
