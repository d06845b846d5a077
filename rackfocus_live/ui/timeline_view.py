"""Curve editor for the focus track (ImPlot): keys, eases, playhead, marks.

A thin layer: every edit goes through ``rackfocus_live.timeline.editing`` / ``marks`` (pure,
tested) and through the ``TrackEditor`` (undoable). Call ``draw_timeline`` inside an ImGui
window every frame, with an ImPlot context created once by the app.

Mouse: drag a key (snaps to a mark's line when close; time stays between its neighbours), drag
the playhead, double-click to add a key there, right-click for the menu (add/delete key, segment
easing, snap to mark, pull to mark). Keys (window focused): Delete removes the selected key.
The marks' keys (1..9, Shift/Ctrl+digit) work anywhere in the window: ``ui.input``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from imgui_bundle import imgui, implot

from rackfocus_live.timeline import editing
from rackfocus_live.timeline.easing import get_easing, menu_groups
from rackfocus_live.timeline.keyframes import FocusTrack, Samples
from rackfocus_live.timeline.marks import (
    MarkAction,
    apply_mark_action,
    next_free_label,
)
from rackfocus_live.timeline.undo import TrackEditor

_PLAYHEAD_ID = 1_000_000
_KEY_COLOUR = imgui.ImVec4(1.0, 0.8, 0.2, 1.0)
_SELECTED_COLOUR = imgui.ImVec4(1.0, 0.35, 0.2, 1.0)
_PLAYHEAD_COLOUR = imgui.ImVec4(0.4, 0.8, 1.0, 1.0)
_MARK_COLOUR = imgui.ImVec4(0.6, 0.9, 0.6, 0.6)
_TAKE_COLOUR = imgui.ImVec4(1.0, 0.3, 0.3, 1.0)


@dataclass
class TimelineViewState:
    """What the curve editor remembers between frames (no track data: that is the editor's)."""

    selected: int | None = None
    dragging: bool = False
    snap_ratio: float = editing.SNAP_RATIO
    pull_duration_s: float = 1.0
    pull_easing: str = "ease-in-out"
    context_time_s: float = 0.0
    context_focus_m: float = 2.0
    context_key: int | None = None
    message: str = ""


@dataclass
class TimelineEvents:
    """Requests for the app, returned by ``draw_timeline``.

    Attributes:
        seek_s: the playhead was dragged to this time.
        focus_m: set the live focus to this (jump to mark).
        messages: status lines for the user.
    """

    seek_s: float | None = None
    focus_m: float | None = None
    messages: list[str] = field(default_factory=list)


def focus_axis_limits(track: FocusTrack, current_focus_m: float) -> tuple[float, float]:
    """Y limits (m) covering keys, marks and the current focus, padded on the log scale."""
    values = [k.focus_m for k in track.keys] + [m.focus_m for m in track.marks]
    values.append(current_focus_m)
    lo, hi = min(values), max(values)
    return lo / 1.5, hi * 1.5


def focus_ticks(lo: float = 0.1, hi: float = 1000.0) -> list[float]:
    """Tick values (m) for the log focus axis: 1, 1.5, 2, 3, 5, 7 per decade from ``lo`` to
    ``hi`` (a pull across a few metres still gets three or four labels). One fixed list (ImPlot
    shows those in view), so the labels do not change width, and the plot does not shift,
    while a key is dragged."""
    return [round(m * 10.0 ** e, 6) for e in range(int(np.floor(np.log10(lo))),
                                                   int(np.ceil(np.log10(hi))) + 1)
            for m in (1.0, 1.5, 2.0, 3.0, 5.0, 7.0) if lo <= m * 10.0 ** e <= hi]


_TICKS = focus_ticks()
_TICK_LABELS = [f"{v:g} m" for v in _TICKS]


def segment_at(track: FocusTrack, time_s: float) -> int | None:
    """Index of the key starting the segment under ``time_s`` (None outside the keys)."""
    i = track.segment_index(time_s)
    return i if 0 <= i < len(track.keys) - 1 else None


def draw_timeline(
    view: TimelineViewState,
    editor: TrackEditor,
    playhead_s: float,
    duration_s: float,
    current_focus_m: float,
    *,
    height: float = 240.0,
    take: Samples | None = None,
) -> TimelineEvents:
    """Draw the toolbar and the curve editor; apply edits to ``editor``. ``take``: the samples
    of a take being recorded, drawn live over the curve."""
    events = TimelineEvents()
    _toolbar(view, editor, playhead_s, current_focus_m, events)
    _plot(view, editor, playhead_s, duration_s, current_focus_m, height, events, take)
    _context_menu(view, editor, playhead_s, current_focus_m, events)
    _keyboard(view, editor, playhead_s, current_focus_m, events)
    if events.messages:
        view.message = events.messages[-1]
    return events


def _toolbar(view: TimelineViewState, editor: TrackEditor, playhead_s: float,
             current_focus_m: float, events: TimelineEvents) -> None:
    track = editor.track
    if imgui.button("Key at playhead"):
        focus = None if track.keys else current_focus_m
        new, view.selected = editing.add_key(track, playhead_s, focus)
        editor.apply("add key", new)
    imgui.same_line()
    imgui.begin_disabled(view.selected is None)
    if imgui.button("Delete key") and view.selected is not None:
        _delete_selected(view, editor)
    imgui.end_disabled()
    imgui.same_line()
    seg = view.selected if view.selected is not None and view.selected < len(track.keys) else None
    preview = track.keys[seg].easing.label if seg is not None else "(select a key)"
    imgui.set_next_item_width(180)
    if imgui.begin_combo("ease##segment", preview):
        if seg is not None:
            _easing_items(editor, seg)
        imgui.end_combo()
    imgui.same_line()
    if imgui.button("Undo"):
        editor.undo()
    imgui.same_line()
    if imgui.button("Redo"):
        editor.redo()
    for m in track.marks:
        imgui.same_line()
        if imgui.button(f"{m.title}##mark{m.label}"):
            events.focus_m = m.focus_m
            events.messages.append(f"focus to {m.title}")
    imgui.same_line()
    label = next_free_label(track.marks)
    imgui.begin_disabled(label is None)
    if imgui.button("+ mark") and label is not None:
        _mark(view, editor, "set", label, playhead_s, current_focus_m, events)
    imgui.end_disabled()


def _easing_items(editor: TrackEditor, index: int) -> None:
    current = editor.track.keys[index].easing.name
    for group, names in menu_groups():
        imgui.text_disabled(group)
        for name in names:
            clicked, _ = imgui.selectable(f"  {name}##{group}", name == current)
            if clicked:
                new = editing.set_segment_easing(editor.track, index, get_easing(name))
                editor.apply("set easing", new)


def _plot(view: TimelineViewState, editor: TrackEditor, playhead_s: float, duration_s: float,
          current_focus_m: float, height: float, events: TimelineEvents,
          take: Samples | None = None) -> None:
    track = editor.track
    if not implot.begin_plot("##focus track", imgui.ImVec2(-1, height), implot.Flags_.no_menus):
        return
    lo, hi = focus_axis_limits(track, current_focus_m)
    implot.setup_axes("time (s)", "focus (m)")
    implot.setup_axis_scale(implot.ImAxis_.y1, implot.Scale_.log10)
    # Labels at readable distances (a log axis otherwise labels only the decades: "1", "10").
    implot.setup_axis_ticks(implot.ImAxis_.y1, _TICKS, _TICK_LABELS)
    # The legend outside the plot area, so it never covers a mark's label or the curve.
    implot.setup_legend(implot.Location_.north_east, implot.LegendFlags_.outside
                        | implot.LegendFlags_.horizontal)
    implot.setup_axes_limits(0.0, max(duration_s, 1e-3), lo, hi, imgui.Cond_.once)

    x0, x1 = 0.0, max(duration_s, track.end_s, 1e-3)
    ts, fs = editing.curve_points(track, x0, x1)
    if ts.size:
        implot.plot_line("focus", ts, fs)
    if len(track.samples):
        implot.plot_scatter("recorded", track.samples.time, track.samples.focus_m,
                            implot.Spec(marker_size=1.5, fill_alpha=0.4))
    if take is not None and len(take):
        implot.plot_line("take", take.time, take.focus_m,
                         implot.Spec(line_color=_TAKE_COLOUR, line_weight=2.0))
    if track.marks:
        ys = np.array([m.focus_m for m in track.marks])
        implot.plot_inf_lines("marks", ys, implot.Spec(line_color=_MARK_COLOUR,
                                                      flags=implot.InfLinesFlags_.horizontal))
        for m in track.marks:
            implot.plot_text(m.title, x0, m.focus_m, imgui.ImVec2(40, -8))

    held_any = False
    for i, key in enumerate(track.keys):
        colour = _SELECTED_COLOUR if i == view.selected else _KEY_COLOUR
        changed, x, y, clicked, _, held = implot.drag_point(
            i, key.time, key.focus_m, colour, 6.0, 0, False, False, False)
        if clicked:
            view.selected = i
        held_any = held_any or bool(held)
        if changed and y > 0:
            view.selected, view.dragging = i, True
            moved = editing.move_key(editor.track, i, x, y, snap_ratio=view.snap_ratio)
            editor.apply("move key", moved, merge=("move key", i))
    if view.dragging and not held_any:
        view.dragging = False
        editor.seal()  # the drag is over: the next drag is a new undo step

    dragged, x, _, _, _ = implot.drag_line_x(_PLAYHEAD_ID, playhead_s, _PLAYHEAD_COLOUR, 1.5, 0,
                                             False, False, False)
    if dragged:
        events.seek_s = max(0.0, x)

    if implot.is_plot_hovered():
        mouse = implot.get_plot_mouse_pos()
        if imgui.is_mouse_double_clicked(imgui.MouseButton_.left) and mouse.y > 0:
            t = editing.snap_time(editor.track, mouse.x)
            new, view.selected = editing.add_key(editor.track, t, mouse.y)
            editor.apply("add key", new)
        if imgui.is_mouse_clicked(imgui.MouseButton_.right) and mouse.y > 0:
            view.context_time_s, view.context_focus_m = mouse.x, mouse.y
            tol = (x1 - x0) / 100.0
            view.context_key = editing.key_near(editor.track, mouse.x, mouse.y, tol, 1.15)
            view.selected = view.context_key if view.context_key is not None else view.selected
            imgui.open_popup("timeline context")
    implot.end_plot()


def _context_menu(view: TimelineViewState, editor: TrackEditor, playhead_s: float,
                  current_focus_m: float, events: TimelineEvents) -> None:
    if not imgui.begin_popup("timeline context"):
        return
    track = editor.track
    if imgui.menu_item_simple("Add key here"):
        t = editing.snap_time(track, view.context_time_s)
        new, view.selected = editing.add_key(track, t, view.context_focus_m)
        editor.apply("add key", new)
    if imgui.menu_item_simple("Add key on curve"):
        t = editing.snap_time(track, view.context_time_s)
        new, view.selected = editing.add_key(track, t)
        editor.apply("add key", new)
    key = view.context_key
    if key is not None and key < len(track.keys):
        if imgui.menu_item_simple("Delete key"):
            view.selected = key
            _delete_selected(view, editor)
        if track.marks and imgui.begin_menu("Snap key to mark"):
            for m in track.marks:
                if imgui.menu_item_simple(m.title):
                    editor.apply("snap to mark", editing.snap_key_to_mark(track, key, m.label))
            imgui.end_menu()
    seg = key if key is not None else segment_at(track, view.context_time_s)
    if seg is not None and seg < len(track.keys) - 1 and imgui.begin_menu("Segment easing"):
        _easing_items(editor, seg)
        imgui.end_menu()
    if track.marks and imgui.begin_menu("Pull to mark from playhead"):
        for m in track.marks:
            if imgui.menu_item_simple(m.title):
                _mark(view, editor, "pull", m.label, playhead_s, current_focus_m, events)
        imgui.end_menu()
    imgui.end_popup()


def _keyboard(view: TimelineViewState, editor: TrackEditor, playhead_s: float,
              current_focus_m: float, events: TimelineEvents) -> None:
    if not imgui.is_window_focused(imgui.FocusedFlags_.root_and_child_windows):
        return
    if imgui.is_key_pressed(imgui.Key.delete, False) and view.selected is not None:
        _delete_selected(view, editor)


def _mark(view: TimelineViewState, editor: TrackEditor, action: MarkAction, label: str,
          playhead_s: float, current_focus_m: float, events: TimelineEvents) -> None:
    result = apply_mark_action(editor.track, action, label, playhead_s=playhead_s,
                               current_focus_m=current_focus_m,
                               pull_duration_s=view.pull_duration_s,
                               pull_easing=view.pull_easing)
    if result.track is not editor.track:
        editor.apply(f"{action} mark {label}", result.track)
    if result.focus_m is not None:
        events.focus_m = result.focus_m
    events.messages.append(result.message)


def _delete_selected(view: TimelineViewState, editor: TrackEditor) -> None:
    if view.selected is None or view.selected >= len(editor.track.keys):
        view.selected = None
        return
    editor.apply("delete key", editing.delete_key(editor.track, view.selected))
    view.selected = None
