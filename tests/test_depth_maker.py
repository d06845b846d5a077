"""Making depth from the app: the controller driven one UI frame at a time as the app's loop
does (finished job handed over once with the disparity mapping, cancel, failures as a message),
and the panel section driven through ImGui's own input (the button found where it was drawn,
clicked with the mouse)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import av
import pytest

pytest.importorskip("onnxruntime", reason="the depth extra (onnxruntime) is not installed")
pytest.importorskip("onnx", reason="onnx (dev extra) builds the stand-in models")

from imgui_bundle import imgui

from rackfocus_live.depthgen.pipeline import THREAD_NAME_PREFIX
from rackfocus_live.ui.depth_maker import (
    DepthMakerController,
    MadeDepth,
    draw_depth_maker,
)
from tests import media_factory as mf
from tests.depthgen_models import make_conv_model, make_luma_model

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return mf.make_clip(tmp_path / "clip.mp4", frames=6, size=(64, 48))


def drive(ctl: DepthMakerController, timeout_s: float = 60.0) -> MadeDepth | None:
    deadline = time.monotonic() + timeout_s
    while ctl.busy:
        assert time.monotonic() < deadline, "the depth job never ended"
        made = ctl.update()
        if made is not None:
            return made
        time.sleep(0.01)
    return None


def depth_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(THREAD_NAME_PREFIX)]


def test_makes_depth_in_the_background_and_hands_it_over_once(clip: Path,
                                                               tmp_path: Path) -> None:
    ctl = DepthMakerController()
    ctl.model = os.fspath(make_luma_model(tmp_path / "luma.onnx"))
    assert ctl.start(clip) and ctl.busy
    made = drive(ctl)
    assert made is not None and made.video == tmp_path / "clip_depth.mkv"
    assert made.mapping.kind == "disparity"
    with av.open(os.fspath(made.video)) as c:
        assert sum(1 for _ in c.decode(video=0)) == 6
    assert ctl.update() is None and not ctl.busy
    assert ctl.message is not None and "made clip_depth" in ctl.message
    assert ctl.done == ctl.total == 6
    assert depth_threads() == []


def test_cancel_leaves_nothing(clip: Path, tmp_path: Path) -> None:
    ctl = DepthMakerController()
    ctl.model = os.fspath(make_conv_model(tmp_path / "slow.onnx", width=48, blocks=3))
    assert ctl.start(clip)
    deadline = time.monotonic() + 60
    while ctl.done < 1:
        assert ctl.update() is None and time.monotonic() < deadline
        time.sleep(0.01)
    ctl.cancel()
    assert drive(ctl) is None
    assert ctl.message is not None and "cancelled" in ctl.message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "slow.onnx"]
    assert depth_threads() == []


def test_a_bad_model_is_a_message_not_an_exception(clip: Path, tmp_path: Path) -> None:
    ctl = DepthMakerController()
    ctl.model = os.fspath(tmp_path / "missing.onnx")
    assert ctl.start(clip)
    assert drive(ctl) is None
    assert ctl.message is not None and "model file not found" in ctl.message
    assert not ctl.busy


def test_close_mid_job_joins_and_removes_the_temp_file(clip: Path, tmp_path: Path) -> None:
    ctl = DepthMakerController()
    ctl.model = os.fspath(make_conv_model(tmp_path / "slow.onnx", width=48, blocks=3))
    assert ctl.start(clip)
    deadline = time.monotonic() + 60
    while ctl.done < 1 and time.monotonic() < deadline:
        ctl.update()
        time.sleep(0.01)
    ctl.close()
    assert not ctl.busy and depth_threads() == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "slow.onnx"]


# -- the panel section, through ImGui's input ----------------------------------------------------


class Panel:
    """A bare ImGui context (no window, no renderer) and a mouse to click with."""

    def __init__(self) -> None:
        self.io = imgui.get_io()
        self.last_rect: tuple[float, float, float, float] | None = None

    def frame(self, draw: Callable[[], Any]) -> Any:
        self.io.delta_time = 1 / 60
        imgui.new_frame()
        imgui.set_next_window_pos(imgui.ImVec2(0, 0))
        imgui.set_next_window_size(imgui.ImVec2(360, 600))
        imgui.begin("panel")
        result = draw()
        lo, hi = imgui.get_item_rect_min(), imgui.get_item_rect_max()
        self.last_rect = (lo.x, lo.y, hi.x, hi.y)
        imgui.end()
        imgui.render()
        return result

    def click_last_item(self, draw: Callable[[], Any]) -> list[Any]:
        """Click the last widget ``draw`` drew (its rect from the previous frame)."""
        assert self.last_rect is not None
        x0, y0, x1, y1 = self.last_rect
        self.io.add_mouse_pos_event((x0 + x1) / 2, (y0 + y1) / 2)
        results = [self.frame(draw)]
        self.io.add_mouse_button_event(0, True)
        results.append(self.frame(draw))
        self.io.add_mouse_button_event(0, False)
        results.append(self.frame(draw))
        return results


@pytest.fixture
def panel() -> Iterator[Panel]:
    context = imgui.create_context()
    io = imgui.get_io()
    io.set_ini_filename(None)
    io.display_size = imgui.ImVec2(400, 700)
    io.backend_flags |= imgui.BackendFlags_.renderer_has_textures
    try:
        yield Panel()
    finally:
        imgui.destroy_context(context)


def test_make_depth_button_shows_only_without_depth_and_a_click_asks_for_it(
        panel: Panel, clip: Path, tmp_path: Path) -> None:
    ctl = DepthMakerController()
    with_depth = lambda: draw_depth_maker(ctl, True, True)  # noqa: E731
    panel.frame(with_depth)
    assert panel.frame(with_depth) is False
    without = lambda: draw_depth_maker(ctl, True, False)  # noqa: E731
    panel.frame(without)
    panel.frame(without)  # the button is the section's last widget: its rect is known now
    assert panel.click_last_item(without) == [False, False, True]

    # Busy: the section shows progress and a cancel button that cancels.
    ctl.model = os.fspath(make_conv_model(tmp_path / "slow.onnx", width=48, blocks=3))
    assert ctl.start(clip)
    try:
        busy = lambda: (ctl.update(), draw_depth_maker(ctl, True, False))[1]  # noqa: E731
        panel.frame(busy)
        panel.click_last_item(busy)
        assert drive(ctl) is None and ctl.message is not None and "cancelled" in ctl.message
    finally:
        ctl.close()
    assert not (tmp_path / "clip_depth.mkv").exists()
