"""The panel's lens-character sliders, driven through ImGui's own mouse input (no window)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from imgui_bundle import imgui

from rackfocus_live.ui.panel import _lens_character
from rackfocus_live.ui.state import UiState


@pytest.fixture
def frame() -> Iterator[Callable[[UiState], dict[str, Any]]]:
    context = imgui.create_context()
    io = imgui.get_io()
    io.set_ini_filename(None)
    io.display_size = imgui.ImVec2(500, 400)
    io.delta_time = 1 / 60
    io.backend_flags |= imgui.BackendFlags_.renderer_has_textures  # no font texture needed

    def draw(state: UiState) -> dict[str, Any]:
        imgui.new_frame()
        imgui.set_next_window_pos(imgui.ImVec2(0, 0))
        imgui.set_next_window_size(imgui.ImVec2(500, 400))
        imgui.begin("panel")
        pos = imgui.get_cursor_screen_pos()
        layout = {"x": pos.x, "y": pos.y, "width": imgui.calc_item_width(),
                  "row": imgui.get_frame_height_with_spacing(),
                  "height": imgui.get_frame_height()}
        _lens_character(state)
        imgui.end()
        imgui.render()
        return layout

    yield draw
    imgui.destroy_context(context)


def _click(draw: Callable[[UiState], dict[str, Any]], state: UiState, row: int,
           fraction: float) -> None:
    io = imgui.get_io()
    layout = draw(state)
    x = layout["x"] + fraction * layout["width"]
    y = layout["y"] + row * layout["row"] + 0.5 * layout["height"]
    io.add_mouse_pos_event(x, y)
    draw(state)
    io.add_mouse_button_event(0, True)
    draw(state)
    io.add_mouse_button_event(0, False)
    draw(state)


def test_cat_eye_and_axial_ca_sliders_set_the_lens_character(frame) -> None:
    state = UiState()
    for _ in range(2):
        frame(state)                       # ImGui shows a window from its second frame
    assert state.character.cat_eye == 0.0 and state.character.axial_ca_px == 0.0
    revision = state.revision
    _click(frame, state, row=0, fraction=0.75)
    assert state.character.cat_eye == pytest.approx(0.75, abs=0.05)
    assert state.revision > revision       # the preview re-renders
    _click(frame, state, row=1, fraction=0.25)
    assert state.character.axial_ca_px == pytest.approx(-3.0, abs=0.4)
    assert state.character.cat_eye == pytest.approx(0.75, abs=0.05)
