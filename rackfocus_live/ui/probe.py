"""The app's test mode: where each widget was drawn, by label, and ImGui ID conflicts as errors.

Tests drive the real window like a user: they look a widget up by its label, move the mouse to
its rectangle and click, drag or type through the window's input. ImGui keeps no table of the
rectangles it drew, so in test mode ``WidgetProbe`` wraps the widget functions of the ``imgui``
module (every module of the app calls them through that module) and records, after each call,
the item's ID and rectangle under ``WINDOW/LABEL``. (Dear ImGui's own Test Engine, which ships
with imgui-bundle, runs its scenarios on a second native thread and cannot be driven from an app
that owns its loop in Python: started on this app's loop it deadlocks.)

Two widgets with one ID in a frame (the classic ``collapsing_header("Export")`` next to
``button("Export")``) make one of them dead to clicks; ``WidgetProbe.end_frame`` raises
``IdConflictError`` for them, and for any conflict ImGui's own detector
(``io.config_debug_highlight_id_conflicts``) found under the mouse.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from imgui_bundle import imgui

#: The widget functions recorded (each takes its label first).
WIDGETS = (
    "button", "small_button", "checkbox", "slider_float", "slider_int", "combo", "begin_combo",
    "input_float", "input_double", "input_int", "input_text", "input_text_with_hint",
    "collapsing_header",
    "selectable", "menu_item_simple", "begin_menu", "drag_float", "invisible_button",
    "radio_button", "tree_node",
    # Read-only text the panel reports state in (item ID 0: looked up by its text).
    "text_disabled",
)


class IdConflictError(AssertionError):
    """Two widgets in one window shared an ImGui ID in one frame."""


@dataclass(frozen=True)
class WidgetRect:
    """One widget as drawn in the last complete frame: its interactive frame (without the
    label), in window units, top-left origin."""

    window: str
    label: str
    item_id: int
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def center(self) -> tuple[float, float]:
        return (self.x0 + self.x1) / 2.0, (self.y0 + self.y1) / 2.0


class WidgetProbe:
    """Records widget rectangles by label; raises on ImGui ID conflicts. See the module docstring.
    """

    def __init__(self) -> None:
        self._current: dict[str, WidgetRect] = {}
        self._ids: dict[int, str] = {}
        self._conflicts: list[str] = []
        #: The widgets of the last complete frame, by ``WINDOW/LABEL``.
        self.widgets: dict[str, WidgetRect] = {}
        self._originals: dict[str, Callable[..., Any]] = {}

    def install(self) -> None:
        """Wrap the widget functions and turn on ImGui's own conflict detection."""
        imgui.get_io().config_debug_highlight_id_conflicts = True
        for name in WIDGETS:
            original = getattr(imgui, name, None)
            if original is None or name in self._originals:
                continue
            self._originals[name] = original
            setattr(imgui, name, self._wrap(original))

    def uninstall(self) -> None:
        for name, original in self._originals.items():
            setattr(imgui, name, original)
        self._originals.clear()

    def _wrap(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def recorded(label: str, *args: Any, **kwargs: Any) -> Any:
            result = original(label, *args, **kwargs)
            self._record(label)
            return result

        return recorded

    def _record(self, label: str) -> None:
        item_id = int(imgui.get_item_id())
        window = imgui.internal.get_current_window().name
        # The interactive frame (the navigation rectangle), not the frame plus its label: the
        # label of a slider or a field is not where a click lands on it.
        nav = imgui.get_current_context().last_item_data.nav_rect
        lo, hi = nav.min, nav.max
        key = f"{window}/{label}"
        if item_id:
            other = self._ids.get(item_id)
            if other is not None:
                self._conflicts.append(f"{other!r} and {key!r} share ImGui ID {item_id:#x}")
            self._ids[item_id] = key
        self._current[key] = WidgetRect(window, label, item_id, lo.x, lo.y, hi.x, hi.y)

    def end_frame(self) -> None:
        """Call after the frame's widgets: publish the rectangles, raise on conflicts."""
        self.widgets, self._current, self._ids = self._current, {}, {}
        g = imgui.get_current_context()
        if g.debug_draw_id_conflicts_count > 1:
            self._conflicts.append(
                f"ImGui found {g.debug_draw_id_conflicts_count} visible items with ID "
                f"{g.debug_draw_id_conflicts_id:#x}")
        if self._conflicts:
            conflicts, self._conflicts = self._conflicts, []
            raise IdConflictError("; ".join(conflicts))

    def find(self, label: str) -> WidgetRect:
        """The widget ``label`` (``WINDOW/LABEL``, or a unique ``LABEL``) of the last frame.

        Raises:
            KeyError: not drawn in the last frame, or the bare label is ambiguous.
        """
        if label in self.widgets:
            return self.widgets[label]
        hits = [w for w in self.widgets.values() if w.label == label]
        if len(hits) != 1:
            shown = sorted(self.widgets)
            raise KeyError(f"{label!r}: {len(hits)} widgets with that label; drawn: {shown}")
        return hits[0]
