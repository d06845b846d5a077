"""Curve editor: pure helpers, and the real ImPlot widget driven headless (an ImGui context with
simulated mouse input; no window, no GL)."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import pytest

from rackfocus_live.timeline.keyframes import FocusTrack, Key, Mark
from rackfocus_live.timeline.undo import TrackEditor
from rackfocus_live.ui import timeline_view as tv

imgui = pytest.importorskip("imgui_bundle").imgui
implot = pytest.importorskip("imgui_bundle").implot


def test_pure_helpers() -> None:
    track = FocusTrack([Key(1.0, 5.0), Key(3.0, 1.5)], marks=[Mark("A", "", 0.5)])
    lo, hi = tv.focus_axis_limits(track, 2.0)
    assert lo == pytest.approx(0.5 / 1.5) and hi == pytest.approx(5.0 * 1.5)
    assert tv.segment_at(track, 2.0) == 0
    assert tv.segment_at(track, 0.5) is None and tv.segment_at(track, 3.5) is None


class Headless:
    """An ImGui + ImPlot context without a backend; records key positions in pixels."""

    def __init__(self, editor: TrackEditor, monkeypatch: pytest.MonkeyPatch) -> None:
        self.editor = editor
        self.view = tv.TimelineViewState()
        self.pixels: dict[int, tuple[float, float]] = {}
        real_end = implot.end_plot

        def end_plot() -> None:
            for i, k in enumerate(self.editor.track.keys):
                p = implot.plot_to_pixels(k.time, k.focus_m)
                self.pixels[i] = (p.x, p.y)
            real_end()

        monkeypatch.setattr(implot, "end_plot", end_plot)

    def frame(self, playhead: float = 2.0) -> tv.TimelineEvents:
        imgui.new_frame()
        imgui.set_next_window_pos((0, 0))
        imgui.set_next_window_size((900, 500))
        imgui.begin("timeline")
        events = tv.draw_timeline(self.view, self.editor, playhead, 4.0, 3.0)
        imgui.end()
        imgui.render()
        return events


@pytest.fixture
def ui(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    ctx = imgui.create_context()
    plot_ctx = implot.create_context()
    io = imgui.get_io()
    io.display_size = (900, 500)
    io.delta_time = 1 / 60
    io.set_ini_filename(None)  # no imgui.ini written by tests
    io.backend_flags |= imgui.BackendFlags_.renderer_has_textures  # no font texture needed
    editor = TrackEditor(FocusTrack([Key(1.0, 5.0), Key(3.0, 1.5)], fps=Fraction(24),
                                    marks=[Mark("A", "railing", 2.0)]))
    yield Headless(editor, monkeypatch)
    implot.destroy_context(plot_ctx)
    imgui.destroy_context(ctx)


def test_dragging_a_key_is_one_undo_step(ui: Headless) -> None:
    io = imgui.get_io()
    for _ in range(3):
        ui.frame()
    x, y = ui.pixels[1]
    io.add_mouse_pos_event(x, y)
    ui.frame()
    io.add_mouse_button_event(0, True)
    ui.frame()
    for step in range(1, 6):
        io.add_mouse_pos_event(x, y - 12 * step)
        ui.frame()
    io.add_mouse_button_event(0, False)
    ui.frame()
    key = ui.editor.track.keys[1]
    assert key.time == 3.0  # snapped to its frame
    assert key.focus_m > 1.6  # moved up the (log) focus axis
    assert ui.view.selected == 1 and ui.editor.undo_label == "move key"
    ui.editor.undo()
    assert ui.editor.track.keys[1] == Key(3.0, 1.5) and ui.editor.undo_label is None


def test_double_click_adds_a_key_and_delete_removes_it(ui: Headless) -> None:
    io = imgui.get_io()
    for _ in range(3):
        ui.frame()
    x0, y0 = ui.pixels[0]
    x1, _ = ui.pixels[1]
    io.add_mouse_pos_event(x0 + (x1 - x0) / 4, y0)  # clear of the playhead at 2 s
    ui.frame()
    for _ in range(2):
        io.add_mouse_button_event(0, True)
        ui.frame()
        io.add_mouse_button_event(0, False)
        ui.frame()
    assert len(ui.editor.track.keys) == 3 and ui.editor.undo_label == "add key"
    assert ui.view.selected == 1
    io.add_key_event(imgui.Key.delete, True)
    ui.frame()
    io.add_key_event(imgui.Key.delete, False)
    ui.frame()
    assert len(ui.editor.track.keys) == 2 and ui.editor.undo_label == "delete key"


def test_focus_axis_ticks_label_a_pull_across_a_few_metres() -> None:
    ticks = tv.focus_ticks()
    assert ticks == sorted(ticks) and ticks[0] == 0.1 and ticks[-1] == 1000.0
    shown = [t for t in ticks if 8.4 / 1.5 <= t <= 8.4 * 1.5]  # the axis of a 8.4 m focus
    assert shown == [7.0, 10.0]
    assert [t for t in ticks if 2.43 / 1.5 <= t <= 2.82 * 1.5] == [2.0, 3.0]
