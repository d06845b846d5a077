"""The ImGui side panel (files, focus, lens, depth, overlays, view) and the transport bar.

A thin layer over ``UiState``: widgets call its actions. What needs the app (file dialogs,
re-opening depth with a new mapping, keyframe files, recording) comes back as ``PanelEvents``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt
from imgui_bundle import imgui

from rackfocus_live.depth import DEPTH_KINDS, DepthMapping
from rackfocus_live.depthcond import DepthConditioning
from rackfocus_live.errors import InputError
from rackfocus_live.lens import SENSOR_PRESETS_MM
from rackfocus_live.settings import QUALITY_PRESETS, HighlightBoost
from rackfocus_live.ui.state import RATES, UiState, timecode

_RED = imgui.ImVec4(1.0, 0.45, 0.4, 1.0)
_DIM = imgui.ImVec4(0.7, 0.7, 0.7, 1.0)
_AMBER = imgui.ImVec4(1.0, 0.78, 0.3, 1.0)
_GREEN = imgui.ImVec4(0.55, 0.9, 0.55, 1.0)
#: Message colour by severity (``state.MessageLevel``).
MESSAGE_COLOURS = {"info": _DIM, "ok": _GREEN, "warning": _AMBER, "error": _RED}
#: Lines the message area always takes: a message never moves the widgets below it.
MESSAGE_LINES = 2
_PULL_EASINGS = ("linear", "ease-in-out", "sine-in-out", "cubic-in-out", "quint-in-out",
                 "ease-out", "expo-out")
_SQUEEZES = (1.0, 1.33, 1.5, 1.8, 2.0)
#: Focus drag: change of log(distance) per pixel (0.4 %: 100 px is a factor of 1.5).
FOCUS_DRAG_PER_PX = 0.004


@dataclass
class PanelEvents:
    """Requests for the app from one frame of the panel and transport bar."""

    open_clip: bool = False
    open_depth: bool = False
    open_keys: bool = False
    save_keys: bool = False
    mapping: DepthMapping | None = None
    toggle_record: bool = False
    scrub_frame: int | None = None
    scrub_end: bool = False
    start_export: bool = False
    recover: bool = False
    discard_recovery: bool = False
    #: Fit the recorded takes again with this tolerance (CoC px).
    resimplify_px: float | None = None
    #: The simplification tolerance slider moved (CoC px).
    tolerance_px: float | None = None
    #: "Make depth..." was pressed (the open clip has none).
    make_depth: bool = False


@dataclass
class PanelInfo:
    """Read-only facts the panel shows (from the app)."""

    clip_name: str = ""
    depth_name: str = ""
    keys_name: str = ""
    histogram: tuple[npt.NDArray[np.float32], float, float] | None = None
    recording: bool = False
    has_clip: bool = False
    #: An unsaved pull found after a crash (one line), offered back with Recover / Discard.
    recovery: str | None = None
    #: Simplification tolerance of recorded takes (CoC px), and whether the pull has raw takes.
    tolerance_px: float = 0.5
    has_takes: bool = False
    #: How much coarser than its pixels the clip's depth reads (``depthdetail``), once read.
    depth_detail: float | None = None


@dataclass
class PanelState:
    """Widget state that is not UI state proper (the depth fields being edited)."""

    depth_kind: int = 0
    depth_scale: float = 0.0
    depth_near: float = 1.0
    depth_far: float = 20.0
    synced_from: DepthMapping | None = None
    sections: dict[str, bool] = field(default_factory=dict)

    def sync(self, mapping: DepthMapping) -> None:
        if mapping is self.synced_from:
            return
        self.depth_kind = DEPTH_KINDS.index(mapping.kind)
        self.depth_scale = mapping.scale or 0.0
        self.depth_near, self.depth_far = mapping.near, mapping.far
        self.synced_from = mapping


def _log_slider(label: str, value: float, lo: float, hi: float, fmt: str) -> tuple[bool, float]:
    return imgui.slider_float(label, value, lo, hi, fmt, imgui.SliderFlags_.logarithmic)


def draw_panel(state: UiState, info: PanelInfo, pstate: PanelState) -> PanelEvents:
    """Draw the panel's contents into the current ImGui window."""
    ev = PanelEvents()
    _files(state, info, ev)
    _focus(state)
    _takes(info, ev)
    _lens(state)
    _depth(state, info, pstate, ev)
    _overlays(state)
    return ev


def _files(state: UiState, info: PanelInfo, ev: PanelEvents) -> None:
    imgui.separator_text("Files")
    ev.open_clip = imgui.button("Open clip...")
    imgui.same_line()
    ev.open_depth = imgui.button("Depth...")
    imgui.same_line()
    ev.open_keys = imgui.button("Pull...")
    imgui.same_line()
    imgui.begin_disabled(state.track is None)
    ev.save_keys = imgui.button("Save pull")
    imgui.end_disabled()
    imgui.text_colored(_DIM, f"clip  {info.clip_name or '-'}")
    imgui.text_colored(_DIM, f"depth {info.depth_name or '-'}")
    if info.keys_name:
        imgui.text_colored(_DIM, f"pull  {info.keys_name}")
    if info.recovery:
        imgui.push_text_wrap_pos(0.0)
        imgui.text_colored(_AMBER, info.recovery)
        imgui.pop_text_wrap_pos()
        ev.recover = imgui.button("Recover")
        imgui.same_line()
        ev.discard_recovery = imgui.button("Discard")
    draw_message(state.message, state.message_level)


def draw_message(message: str | None, level: str) -> None:
    """The message area: always ``MESSAGE_LINES`` high (longer text is clipped, and shown
    whole in a tooltip), coloured by severity."""
    height = MESSAGE_LINES * imgui.get_text_line_height_with_spacing()
    imgui.begin_child("##message", imgui.ImVec2(-1, height))
    if message:
        imgui.push_text_wrap_pos(0.0)
        imgui.text_colored(MESSAGE_COLOURS.get(level, _RED), message)
        imgui.pop_text_wrap_pos()
    imgui.end_child()
    if message and imgui.is_item_hovered():
        imgui.set_tooltip(message)


def _focus(state: UiState) -> None:
    imgui.separator_text("Focus")
    lo, hi = state.focus_limits()
    hi = min(hi, 200.0)
    # A relative drag in log distance (FOCUS_DRAG_PER_PX a pixel; Shift faster, Alt finer), not
    # an absolute slider: a slider maps 0.1..200 m onto its width, so a 100 px move threw the
    # focus across the whole scene. The field beside it takes a typed distance.
    imgui.set_next_item_width(190)
    changed, v = imgui.drag_float(
        "##focus drag", math.log(state.focus_m), FOCUS_DRAG_PER_PX, math.log(lo), math.log(hi),
        f"{state.focus_m:.3f} m", imgui.SliderFlags_.no_input | imgui.SliderFlags_.always_clamp)
    imgui.set_item_tooltip("drag: focus nearer (left) or farther (right); Shift: faster, "
                           "Alt: finer")
    if imgui.is_item_activated():
        state.begin_focus_drag()
    if changed:
        state.set_focus(math.exp(v))
    if imgui.is_item_deactivated():
        state.end_focus_drag()
    imgui.same_line()
    imgui.set_next_item_width(70)
    typed, metres = imgui.input_double("focus (m)", state.focus_m, 0.0, 0.0, "%.4g",
                                      imgui.InputTextFlags_.enter_returns_true)
    if typed and metres > 0:
        state.set_focus(metres)
    # Always there (disabled without keys): a checkbox appearing when a take ends would move
    # every widget below it under the mouse.
    has_keys = state.track is not None and len(state.track.keys) > 0
    imgui.begin_disabled(not has_keys)
    _, follow = imgui.checkbox("follow the pull (keyframes)", state.follow_track and has_keys)
    if has_keys:
        state.follow_track = follow
    imgui.end_disabled()
    imgui.text_colored(_DIM, "click: focus there   shift+click: pull")
    imgui.set_next_item_width(90)
    _, dur = imgui.slider_float("pull s", state.pull_duration_s, 0.1, 5.0, "%.1f")
    state.pull_duration_s = dur
    imgui.same_line()
    imgui.set_next_item_width(120)
    names = list(_PULL_EASINGS)
    cur = names.index(state.pull_easing) if state.pull_easing in names else 1
    changed, idx = imgui.combo("ease", cur, names)
    if changed:
        state.pull_easing = names[idx]


def _takes(info: PanelInfo, ev: PanelEvents) -> None:
    """The tolerance recorded takes are simplified with, and fitting them again with it."""
    imgui.set_next_item_width(130)
    changed, px = _log_slider("tolerance", info.tolerance_px, 0.05, 8.0, "%.2f px blur")
    imgui.set_item_tooltip("how far the keys of a recorded take may stray from the performance, "
                           "in pixels of blur (smaller: more keys)")
    if changed:
        ev.tolerance_px = px
    imgui.same_line()
    imgui.begin_disabled(not info.has_takes)
    if imgui.button("Re-simplify"):
        ev.resimplify_px = info.tolerance_px
    imgui.end_disabled()
    imgui.set_item_tooltip("fit the recorded takes (kept raw in the pull) again")


def _lens(state: UiState) -> None:
    imgui.separator_text("Lens")
    lens = state.lens
    changed, v = _log_slider("f-stop", lens.f_stop, 0.7, 32.0, "f/%.2g")
    if changed:
        state.set_lens(f_stop=round(v, 2))
    changed, v = _log_slider("focal length", lens.focal_length_mm, 8.0, 600.0, "%.0f mm")
    if changed:
        state.set_lens(focal_length_mm=v)
    names = list(SENSOR_PRESETS_MM)
    widths = list(SENSOR_PRESETS_MM.values())
    cur = next((i for i, w in enumerate(widths) if abs(w - lens.sensor_width_mm) < 1e-6), -1)
    label = names[cur] if cur >= 0 else f"custom {lens.sensor_width_mm:g} mm"
    if imgui.begin_combo("sensor", label):
        for i, name in enumerate(names):
            if imgui.selectable(f"{name} ({widths[i]:g} mm)", i == cur)[0]:
                state.set_lens(sensor_width_mm=widths[i])
        imgui.end_combo()
    changed, blades = imgui.slider_int("blades", lens.blades, 0, 16, "%d" if lens.blades else
                                       "round")
    if changed:
        state.set_lens(blades=0 if blades < 3 else blades)
    if lens.blades:
        changed, v = imgui.slider_float("rotation", lens.blade_rotation_deg, 0.0, 180.0, "%.0f deg")
        if changed:
            state.set_lens(blade_rotation_deg=v)
    sq = [f"{s:g}x" for s in _SQUEEZES]
    cur = min(range(len(_SQUEEZES)), key=lambda i: abs(_SQUEEZES[i] - lens.squeeze))
    changed, idx = imgui.combo("squeeze", cur, sq)
    if changed:
        state.set_lens(squeeze=_SQUEEZES[idx])
    changed, breathing = imgui.checkbox("focus breathing (real lens)", lens.focus_breathing)
    if changed:
        state.set_lens(focus_breathing=breathing)
    h = state.highlight
    imgui.set_next_item_width(110)
    c1, thr = imgui.slider_float("##hthr", h.threshold, 0.5, 0.99, "thr %.2f")
    imgui.same_line()
    imgui.set_next_item_width(110)
    c2, gain = imgui.slider_float("highlights", h.gain, 0.0, 10.0, "gain %.1f")
    if c1 or c2:
        try:
            state.highlight = HighlightBoost(thr, gain)
            state.revision += 1
        except InputError as exc:
            state.say(str(exc))
    _lens_character(state)
    names = list(QUALITY_PRESETS)
    changed, idx = imgui.combo("quality", names.index(state.quality), names)
    if changed:
        state.set_quality(names[idx])


def _lens_character(state: UiState) -> None:
    """Cat-eye and axial chromatic aberration (the aperture image comes from --aperture-image)."""
    ch = state.character
    c1, cat_eye = imgui.slider_float("cat-eye", ch.cat_eye, 0.0, 1.0,
                                     "%.2f" if ch.cat_eye else "off")
    c2, ca = imgui.slider_float("axial CA", ch.axial_ca_px, -6.0, 6.0,
                                "%.1f px" if ch.axial_ca_px else "off")
    if c1 or c2:
        try:
            state.character = replace(ch, cat_eye=cat_eye, axial_ca_px=ca)
            state.revision += 1
        except InputError as exc:
            state.say(str(exc))
    if ch.aperture_name:
        imgui.text_disabled(f"iris: {ch.aperture_name}")


def _conditioning(state: UiState, info: PanelInfo) -> None:
    """Depth conditioning toggles (see docs/depth.md); applied to the shown frame at once."""
    c = state.conditioning
    changed_r, refine = imgui.checkbox("refine depth edges", c.refine)
    detail = depth_detail_text(info.depth_detail)
    if detail is not None and c.refine:
        imgui.text_disabled(detail)
    # Shows what happens to a depth video of the current kind: automatic means on for relative
    # depth (disparity, normalized) and off for metric; a click makes it explicit.
    shown = c.stabilise_for(state.mapping.kind, moving=True)
    changed_s, stabilise = imgui.checkbox("stabilise depth video", shown)
    if imgui.is_item_hovered():
        auto = " (automatic for this depth kind)" if c.stabilise is None else ""
        imgui.set_tooltip("remove the per-frame drift of relative depth videos: automatic is on "
                          f"for disparity and normalized depth, off for metric{auto}")
    if changed_r or changed_s:
        state.conditioning = DepthConditioning(
            refine=refine, stabilise=stabilise if changed_s else c.stabilise)


def _depth(state: UiState, info: PanelInfo, p: PanelState, ev: PanelEvents) -> None:
    imgui.separator_text("Depth")
    p.sync(state.mapping)
    _, p.depth_kind = imgui.combo("kind", p.depth_kind, list(DEPTH_KINDS))
    if DEPTH_KINDS[p.depth_kind] == "metric":
        _, p.depth_scale = imgui.input_float("m/unit (0: auto)", p.depth_scale, 0.0, 0.0,
                                             "%.6g")
    else:
        imgui.set_next_item_width(100)
        _, p.depth_near = imgui.input_float("near m", p.depth_near, 0.0, 0.0, "%.3g")
        imgui.same_line()
        imgui.set_next_item_width(100)
        _, p.depth_far = imgui.input_float("far m", p.depth_far, 0.0, 0.0, "%.4g")
    _conditioning(state, info)
    imgui.begin_disabled(not info.has_clip)
    if imgui.button("Apply depth settings"):
        try:
            ev.mapping = DepthMapping(
                kind=DEPTH_KINDS[p.depth_kind],
                scale=p.depth_scale if p.depth_scale > 0 else None,
                near=p.depth_near, far=p.depth_far,
            )
        except InputError as exc:
            state.say(str(exc))
    imgui.end_disabled()
    if not info.depth_name:
        imgui.text_colored(_DIM, "no depth: everything is at infinity (Depth... opens one)")
    elif info.histogram is not None:
        _histogram(state, info.histogram)


def depth_detail_text(scale: float | None) -> str | None:
    """What the panel says of how fine the clip's depth really is (``depthdetail``): None before
    it has been read (or where its edges could not tell)."""
    if scale is None:
        return None
    if scale <= 1.0:
        return "depth detail: as fine as its pixels"
    return f"depth detail: {scale:.3g}x coarser than its pixels: edges refined over a wider reach"


def distance_text(metres: float) -> str:
    """A distance as the panel shows it: "inf" from 1 km on (relative depth's far end)."""
    if not np.isfinite(metres) or metres >= 1000.0:
        return "inf"
    return f"{metres:.2f} m" if metres < 100 else f"{metres:.0f} m"


def histogram_bin_text(counts: npt.NDArray[np.float32], index: int, w_lo: float,
                       w_hi: float) -> str:
    """Tooltip of histogram bin ``index``: its depth range in metres and its share of pixels."""
    n = len(counts)
    a = w_lo + (w_hi - w_lo) * index / n
    b = w_lo + (w_hi - w_lo) * (index + 1) / n
    total = float(np.sum(counts))
    share = float(counts[index]) / total * 100.0 if total > 0 else 0.0
    far = distance_text(1.0 / a) if a > 0 else "inf"
    near = distance_text(1.0 / b) if b > 0 else "inf"
    return f"{near} to {far}: {share:.1f} % of the picture"


def _histogram(state: UiState, histogram: tuple[npt.NDArray[np.float32], float, float]) -> None:
    counts, w_lo, w_hi = histogram
    imgui.plot_histogram("##depthhist", counts, 0, None, 0.0, 1.0, imgui.ImVec2(-1, 60))
    r0, r1 = imgui.get_item_rect_min(), imgui.get_item_rect_max()
    if imgui.is_item_hovered() and len(counts) and r1.x > r0.x:
        # Replaces ImGui's own tooltip (a bin number and a raw count).
        u = (imgui.get_io().mouse_pos.x - r0.x) / (r1.x - r0.x)
        index = min(max(int(u * len(counts)), 0), len(counts) - 1)
        imgui.set_tooltip(histogram_bin_text(counts, index, w_lo, w_hi))
    # The histogram runs in inverse depth (far at the left); mark the focus plane on it.
    w_focus = 1.0 / state.focus_m
    if w_hi > w_lo and w_lo <= w_focus <= w_hi:
        x = r0.x + (w_focus - w_lo) / (w_hi - w_lo) * (r1.x - r0.x)
        imgui.get_window_draw_list().add_line(
            imgui.ImVec2(x, r0.y), imgui.ImVec2(x, r1.y),
            imgui.get_color_u32(imgui.ImVec4(0.2, 1.0, 0.3, 1.0)), 2.0)
    far = distance_text(1.0 / w_lo) if w_lo > 0 else "inf"
    near = distance_text(1.0 / w_hi) if w_hi > 0 else "inf"
    imgui.text_colored(_DIM, f"far {far}  <- 1/depth ->  near {near}")


def _overlays(state: UiState) -> None:
    imgui.separator_text("Overlays and view")
    o = state.overlays
    for name, label in (("depth", "depth (D)"), ("focus_plane", "focus plane (F)"),
                        ("peaking", "peaking (P)"), ("coc", "CoC heat (C)")):
        changed, _ = imgui.checkbox(label, getattr(o, name))
        if changed:
            state.toggle_overlay(name)  # type: ignore[arg-type]
        if name in ("depth", "peaking"):
            imgui.same_line(160)
    changed, _ = imgui.checkbox("A/B split (S)", state.viewer.split_enabled)
    if changed:
        state.toggle_split()
    imgui.same_line(160)
    if imgui.button("Fit (0)"):
        state.viewer.set_fit()
    imgui.same_line()
    if imgui.button("1:1 (1)"):
        state.viewer.set_one_to_one(state.image_size)


def draw_transport(state: UiState, info: PanelInfo) -> PanelEvents:
    """Play/pause, step, loop, rate, record, a scrub bar with timecode and frame number."""
    ev = PanelEvents()
    t = state.transport
    if imgui.button("|<"):
        state.jump_start()
    imgui.same_line()
    if imgui.button("<"):
        state.step(-1)
    imgui.same_line()
    if imgui.button("Pause" if t.playing else "Play", imgui.ImVec2(56, 0)):
        state.toggle_play()
    imgui.same_line()
    if imgui.button(">"):
        state.step(1)
    imgui.same_line()
    if imgui.button(">|"):
        state.jump_end()
    imgui.same_line()
    _, t.loop = imgui.checkbox("loop", t.loop)
    imgui.same_line()
    imgui.set_next_item_width(70)
    labels = [f"{r:g}x" for r in RATES]
    cur = min(range(len(RATES)), key=lambda i: abs(RATES[i] - t.rate))
    changed, idx = imgui.combo("##rate", cur, labels)
    if changed:
        state.set_rate(RATES[idx])
    imgui.same_line()
    if info.recording:
        imgui.push_style_color(imgui.Col_.button, imgui.ImVec4(0.75, 0.1, 0.1, 1.0))
    ev.toggle_record = imgui.button("Rec" if not info.recording else "Stop rec")
    if info.recording:
        imgui.pop_style_color()
    imgui.same_line()
    imgui.text(f"{timecode(t.position_s, t.fps)}  frame {t.frame}/{t.last_frame}")
    imgui.set_next_item_width(-1)
    changed, frame = imgui.slider_int("##scrub", t.frame, 0, max(t.last_frame, 0),
                                      f"{t.position_s:.2f} s")
    if changed:
        ev.scrub_frame = frame
    if imgui.is_item_activated():
        state.scrub_was_playing = t.playing
        t.playing = False
    if imgui.is_item_deactivated():
        ev.scrub_end = True
        t.playing = state.scrub_was_playing
    return ev
