"""The window's fixed layout: the side panel (files, focus, lens, depth, overlays, export) on the
right, the transport bar and the pull's curve editor below the picture, the picture in the rest.

``viewport`` is the geometry the picture, hit tests and the viewer share; ``draw_windows`` draws
the ImGui windows for one frame and returns what the widgets asked of the app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from imgui_bundle import imgui

from rackfocus_live.ui import panel, timeline_view
from rackfocus_live.ui.depth_maker import draw_depth_maker
from rackfocus_live.ui.export_panel import ExportPanelInfo, draw_export

if TYPE_CHECKING:
    from rackfocus_live.ui.app import App

#: Panel width and bottom bar height in window units (screen coordinates).
PANEL_WIDTH = 360.0
TRANSPORT_HEIGHT = 62.0
TIMELINE_HEIGHT = 230.0
_FLAGS = (imgui.WindowFlags_.no_move | imgui.WindowFlags_.no_resize
          | imgui.WindowFlags_.no_collapse | imgui.WindowFlags_.no_saved_settings)


def bottom_height(timeline_shown: bool) -> float:
    """Height of the area below the picture (window units)."""
    return TRANSPORT_HEIGHT + (TIMELINE_HEIGHT if timeline_shown else 0.0)


def viewport(
    window_size: tuple[int, int], fb_size: tuple[int, int], timeline_shown: bool
) -> tuple[tuple[float, float], tuple[float, float]]:
    """(the picture's size in framebuffer px, framebuffer px per window unit)."""
    ww, wh = window_size
    fw, fh = fb_size
    sx = fw / ww if ww else 1.0
    sy = fh / wh if wh else 1.0
    vw = max(ww - PANEL_WIDTH, 1.0) * sx
    vh = max(wh - bottom_height(timeline_shown), 1.0) * sy
    return (vw, vh), (sx, sy)


def draw_windows(app: App, ww: int, wh: int) -> panel.PanelEvents:
    """The panel (with the export section) and the transport bar (with the curve editor)."""
    session, state = app.session, app.state
    info = panel.PanelInfo(
        clip_name=session.clip_path.name if session else "",
        depth_name=session.depth_path.name if session and session.depth_path else "",
        keys_name=app.pulls.path.name if app.pulls.path else "",
        histogram=app.histogram,
        recording=app.pulls.recording,
        has_clip=session is not None,
        recovery=app.recovery.describe() if app.recovery is not None else None,
        tolerance_px=app.pulls.tolerance_px,
        has_takes=state.track is not None and len(state.track.samples) > 0,
        depth_detail=session.depth_detail if session else None,
    )
    imgui.set_next_window_pos(imgui.ImVec2(ww - PANEL_WIDTH, 0))
    imgui.set_next_window_size(imgui.ImVec2(PANEL_WIDTH, wh))
    imgui.begin("rackfocus-live", None, _FLAGS)
    # At the top: shown only while a clip has no depth (or depth is being made), when it matters.
    make_depth = draw_depth_maker(app.depth_maker, info.has_clip, bool(info.depth_name))
    events = panel.draw_panel(state, info, app.panel_state)
    events.make_depth = make_depth
    events.start_export = draw_export(app.exporter, ExportPanelInfo(
        clip=session.clip_path if session else None,
        has_pull=state.track is not None and len(state.track.keys) > 0,
        focus_m=state.focus_m, frame=state.transport.frame,
    ))
    app.tracking.panel(app)
    imgui.end()
    shown = app.timeline_shown()
    bottom = bottom_height(shown)
    imgui.set_next_window_pos(imgui.ImVec2(0, wh - bottom))
    imgui.set_next_window_size(imgui.ImVec2(ww - PANEL_WIDTH, bottom))
    imgui.begin("transport", None, _FLAGS | imgui.WindowFlags_.no_title_bar)
    transport = panel.draw_transport(state, info)
    if shown:
        _draw_timeline(app)
    imgui.end()
    events.toggle_record = transport.toggle_record
    events.scrub_frame = transport.scrub_frame
    events.scrub_end = transport.scrub_end
    return events


def _draw_timeline(app: App) -> None:
    editor = app.pulls.editor
    if editor is None:
        # The space stays reserved, so the picture does not jump when a pull appears (R).
        imgui.text_disabled("no focus pull: press R while playing and move the focus to record "
                            "one, or open a pull (Pull...)")
        return
    if app.timeline_view is None:
        app.timeline_view = timeline_view.TimelineViewState()
    state = app.state
    ev = timeline_view.draw_timeline(
        app.timeline_view, editor, state.transport.position_s, state.transport.duration_s,
        state.focus_m, height=TIMELINE_HEIGHT - 40,
        take=app.pulls.recorder.pending_samples() if app.pulls.recording
        and app.pulls.recorder is not None else None,
    )
    app.pulls.sync()
    if ev.messages:  # in the panel's message area: the toolbar has no room (it was cut off)
        state.say(ev.messages[-1], "info")
    if ev.seek_s is not None:
        state.transport.seek_time(ev.seek_s)
    if ev.focus_m is not None:
        state.set_focus(ev.focus_m)
