"""UI state and actions of the preview app: plain objects, no window, no GL.

Everything the user can do (set focus, click-to-focus, pull focus, toggle overlays, seek,
play/pause, step, loop, rate, A/B split, zoom/pan) is a method here, so it is testable without a
window and the app, the panel and keyboard shortcuts are thin layers that call these methods.

Times: clip time is seconds from the first frame; the transport's ``PlaybackClock`` maps wall
time to it through an injectable time source. Wall-clock times for focus pulls (``now``) are
passed in by the caller (``time.perf_counter()`` in the app, plain numbers in tests).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

# Click-to-focus's depth statistic lives with the depth conventions (the render command's
# --focus-at uses it too); re-exported here for the UI.
from rackfocus_live.depth import (
    CLICK_RADIUS_PX,
    DepthMapping,
    robust_inverse_depth,
    window_around,
)
from rackfocus_live.depthcond import DepthConditioning
from rackfocus_live.lens import LensState
from rackfocus_live.lens_character import LensCharacter
from rackfocus_live.settings import QUALITY_PRESETS, HighlightBoost
from rackfocus_live.timeline.clock import PlaybackClock
from rackfocus_live.ui.viewer import ViewerState

if TYPE_CHECKING:
    from rackfocus_live.timeline.keyframes import FocusTrack

#: Severity of a panel message, mildest first.
MessageLevel = Literal["info", "ok", "warning", "error"]
MESSAGE_LEVELS: tuple[MessageLevel, ...] = ("info", "ok", "warning", "error")
#: Playback rates offered by the panel and the [ and ] keys.
RATES: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0)
#: Focus slider range in metres (the slider is logarithmic); clamped further by the lens.
FOCUS_MIN_M = 0.1
FOCUS_MAX_M = 1000.0
#: Quality used while the focus slider is being dragged (cheaper, keeps playback at rate).
DRAG_QUALITY = "draft"

OverlayName = Literal["depth", "focus_plane", "peaking", "coc"]
OVERLAYS: tuple[OverlayName, ...] = ("depth", "focus_plane", "peaking", "coc")


@dataclass
class Overlays:
    """Which overlays are on. ``depth`` and ``coc`` replace the picture (depth wins when both are
    on); ``focus_plane`` tints it; ``peaking`` marks sharp edges of the result."""

    depth: bool = False
    focus_plane: bool = False
    peaking: bool = False
    coc: bool = False

    def toggle(self, name: OverlayName) -> bool:
        """Flip one overlay; returns its new value."""
        if name not in OVERLAYS:
            raise ValueError(f"unknown overlay '{name}'")
        value = not getattr(self, name)
        setattr(self, name, value)
        return value


@dataclass(frozen=True)
class FocusPull:
    """A focus move from ``start_m`` to ``target_m`` over ``duration_s`` wall-clock seconds.

    Interpolated in inverse distance (dioptres), like ``FocusTrack``'s default: an even pull in
    1/S is an even change of blur on screen.
    """

    start_m: float
    target_m: float
    start_time: float
    duration_s: float
    easing: str = "ease-in-out"

    def focus_at(self, now: float) -> float:
        u = 1.0 if self.duration_s <= 0 else (now - self.start_time) / self.duration_s
        u = min(max(u, 0.0), 1.0)
        eased = _ease(self.easing, u)
        w0, w1 = 1.0 / self.start_m, 1.0 / self.target_m
        w = w0 + (w1 - w0) * eased
        # Overshooting eases could cross 1/S = 0; keep the focus finite and positive.
        return 1.0 / max(w, 1.0 / FOCUS_MAX_M)

    def done(self, now: float) -> bool:
        return now >= self.start_time + self.duration_s


def _ease(name: str, u: float) -> float:
    """Eased progress through the timeline's easing module; smoothstep if it is unavailable or
    the name is unknown (a typo in a settings file must not break click-to-focus)."""
    try:
        from rackfocus_live.timeline.easing import get_easing

        return get_easing(name).scalar(u)
    except (ImportError, KeyError, ValueError):
        return u * u * (3.0 - 2.0 * u)


class Transport:
    """Playback of a clip of ``frame_count`` frames at ``fps``, on the shared ``PlaybackClock``.

    The clock maps wall time to media time, so playback keeps the clip's rate: when frames come
    late the next one skips ahead (counted in ``dropped``) instead of the clip slowing down.
    ``frame`` is the frame chosen by the last ``tick`` or control; focus keyframes are evaluated
    at its exact time (``frame_time_s``), the same time an export uses for that frame.

    Args:
        frame_count: frames in the clip.
        fps: the clip's exact frame rate.
        time_source: wall-clock seconds (injected by tests and the app's headless mode).
    """

    def __init__(
        self,
        frame_count: int = 1,
        fps: Fraction = Fraction(24),
        time_source: Callable[[], float] | None = None,
    ) -> None:
        self.clock = PlaybackClock(time_source) if time_source else PlaybackClock()
        self.frame_count = max(int(frame_count), 1)
        self.fps = Fraction(fps)
        self.loop = True
        self._frame = 0

    def reset(self, frame_count: int, fps: Fraction) -> None:
        """A new clip: back to frame 0, paused."""
        self.frame_count, self.fps = max(int(frame_count), 1), Fraction(fps)
        self.clock.pause()
        self.seek_frame(0)
        self.clock.reset_stats()

    @property
    def duration_s(self) -> float:
        return self.frame_count / float(self.fps)

    @property
    def last_frame(self) -> int:
        return self.frame_count - 1

    @property
    def frame(self) -> int:
        return self._frame

    @property
    def frame_time_s(self) -> float:
        """Exact time of the current frame (``frame / fps``)."""
        return self.time_of(self._frame)

    @property
    def position_s(self) -> float:
        """Continuous media time (for a playhead); clamped to the clip."""
        return min(max(self.clock.media_time(), 0.0), self.duration_s)

    @property
    def playing(self) -> bool:
        return self.clock.playing

    @playing.setter
    def playing(self, value: bool) -> None:
        if value:
            self.clock.play()
        else:
            self.clock.pause()

    @property
    def rate(self) -> float:
        return self.clock.rate

    @rate.setter
    def rate(self, value: float) -> None:
        self.clock.set_rate(value)

    @property
    def dropped(self) -> int:
        """Frames skipped during playback to keep the clip's rate."""
        return self.clock.dropped

    def time_of(self, frame: int) -> float:
        """Exact presentation time of frame ``frame`` (from the rational rate)."""
        return float(Fraction(frame) / self.fps)

    def seek_frame(self, frame: int) -> int:
        self._frame = min(max(int(frame), 0), self.last_frame)
        self.clock.seek_frame(self._frame, self.fps)
        return self._frame

    def seek_time(self, t: float) -> int:
        if not math.isfinite(t):
            return self._frame
        frame = math.floor(min(max(t, 0.0), self.duration_s) * float(self.fps) + 1e-6)
        return self.seek_frame(frame)

    def step(self, n: int) -> int:
        """Step ``n`` frames (negative: back); pauses, as every player does on a frame step."""
        self._frame = self.clock.step(n, self.fps, self.frame_count)
        return self._frame

    def tick(self) -> int:
        """Pick the frame due now (while playing: looping, or pausing at the end)."""
        if self.clock.playing:
            self._frame = self.clock.frame_for_now(self.fps, self.frame_count, self.loop)
        return self._frame


@dataclass
class UiState:
    """The whole user-facing state of one preview session; see the module docstring."""

    lens: LensState = field(default_factory=LensState)
    mapping: DepthMapping = field(default_factory=DepthMapping)
    highlight: HighlightBoost = field(default_factory=HighlightBoost)
    character: LensCharacter = field(default_factory=LensCharacter)
    quality: str = "default"
    #: Depth conditioning (edge refinement, stabilisation): the panel's toggles, used by the
    #: preview and the app's exports.
    conditioning: DepthConditioning = field(default_factory=DepthConditioning)
    overlays: Overlays = field(default_factory=Overlays)
    transport: Transport = field(default_factory=Transport)
    viewer: ViewerState = field(default_factory=ViewerState)
    #: Size of the clip's frames (display orientation), for the viewer's 1:1 and hit tests.
    image_size: tuple[int, int] = (1, 1)
    #: Whether playback was on when a scrub began (it resumes when the scrub ends).
    scrub_was_playing: bool = False
    #: Focus pull used by click-to-focus with the modifier (seconds, easing name).
    pull_duration_s: float = 1.0
    pull_easing: str = "ease-in-out"
    #: The loaded keyframe track; while ``follow_track`` is on it drives focus during playback.
    track: FocusTrack | None = None
    follow_track: bool = False
    #: One-line message for the panel (bad file, nothing to focus on), with the time it was set
    #: and its severity (``MESSAGE_LEVELS``: the panel colours it).
    message: str | None = None
    message_time: float = 0.0
    message_level: MessageLevel = "error"
    dragging_focus: bool = False
    #: The preview is too slow for a moving picture: render it with the draft preset
    #: (``ui.adaptive``).
    adaptive_draft: bool = False
    #: Even the draft is too slow: render the moving picture's depth of field at half size.
    adaptive_reduced: bool = False
    pull: FocusPull | None = None
    #: Bumped on every change that needs the current frame's depth of field re-rendered (focus,
    #: lens, highlights, quality). Overlays and the view (zoom, pan, A/B split) do not bump it:
    #: they change only the display pass, which draws the DOF result already rendered.
    revision: int = 0

    # -- focus ----------------------------------------------------------------------------------

    @property
    def focus_m(self) -> float:
        return self.lens.focus_m

    def focus_limits(self) -> tuple[float, float]:
        """Range the focus can take: just beyond the focal length up to FOCUS_MAX_M."""
        return max(FOCUS_MIN_M, self.lens.focal_length_m * 1.05), FOCUS_MAX_M

    def set_focus(self, focus_m: float, *, cancel_pull: bool = True) -> float:
        """Set the focus distance (clamped to ``focus_limits``); a manual focus change takes over
        from the keyframe track and from a running pull. Returns the focus actually set."""
        if not math.isfinite(focus_m) or focus_m <= 0:
            return self.lens.focus_m
        lo, hi = self.focus_limits()
        focus_m = min(max(focus_m, lo), hi)
        if cancel_pull:
            self.pull = None
            self.follow_track = False
        if focus_m != self.lens.focus_m:
            self.lens = self.lens.with_focus(focus_m)
            self.revision += 1
        return focus_m

    def set_lens(self, **changes: object) -> bool:
        """Change lens fields; an invalid combination is refused with a message. Returns success."""
        from rackfocus_live.errors import InputError

        try:
            lens = replace(self.lens, **changes)  # type: ignore[arg-type]
        except InputError as exc:
            self.say(str(exc))
            return False
        if lens != self.lens:
            self.lens = lens
            self.revision += 1
        return True

    def begin_focus_drag(self) -> None:
        self.dragging_focus = True

    def end_focus_drag(self) -> None:
        if self.dragging_focus:
            self.dragging_focus = False
            self.revision += 1  # re-render the still frame at full quality

    @property
    def effective_quality(self) -> str:
        """The preset to render with now: cheaper while the focus is being dragged or pulled,
        or while the picture moves faster than the preview can render (``adaptive_draft``)."""
        moving = self.dragging_focus or self.pull is not None or self.adaptive_draft
        if moving and QUALITY_PRESETS.get(self.quality) and self.quality != DRAG_QUALITY:
            return DRAG_QUALITY
        return self.quality

    @property
    def preview_conditioning(self) -> DepthConditioning:
        """What the preview conditions its depth with: the panel's choice, but without the edge
        refinement while the moving picture is reduced (``adaptive_reduced``): at full
        resolution it costs as much as the half-size DOF it feeds, and the still frame is refined
        again. Stabilisation never stops (its chain must not break). Exports use
        ``conditioning`` as it is."""
        if self.adaptive_reduced and self.conditioning.refine:
            return replace(self.conditioning, refine=False)
        return self.conditioning

    def focus_from_window(
        self, inv_depth_window: npt.ArrayLike, *, pull: bool = False, now: float = 0.0
    ) -> float | None:
        """Click-to-focus: focus on the robust inverse depth of a window of samples.

        Args:
            inv_depth_window: inverse depth (1/m) around the clicked pixel (see ``window_around``).
            pull: pull there over ``pull_duration_s`` with ``pull_easing`` instead of jumping.
            now: wall-clock time, the start of the pull.

        Returns:
            The target focus in metres, or None (with a panel message) if the window had no valid
            depth.
        """
        w = robust_inverse_depth(inv_depth_window)
        if w is None:
            self.say("no valid depth under the cursor")
            return None
        lo, hi = self.focus_limits()
        target = min(max(1.0 / w, lo), hi)
        if pull and self.pull_duration_s > 0:
            self.follow_track = False
            self.pull = FocusPull(self.lens.focus_m, target, now, self.pull_duration_s,
                                  self.pull_easing)
            self.revision += 1
        else:
            self.set_focus(target)
        return target

    def focus_at_pixel(
        self, inv_depth: npt.NDArray[np.floating], x: float, y: float, *, pull: bool = False,
        now: float = 0.0, radius: int = CLICK_RADIUS_PX,
    ) -> float | None:
        """Click-to-focus at image pixel (x, y) of a full inverse-depth image (row 0 at top)."""
        window = window_around(inv_depth, x, y, radius)
        if window.size == 0:
            return None
        return self.focus_from_window(window, pull=pull, now=now)

    def update(self, now: float) -> None:
        """Advance time-driven focus: a running pull, else the keyframe track when followed."""
        if self.pull is not None:
            self.set_focus(self.pull.focus_at(now), cancel_pull=False)
            if self.pull.done(now):
                self.pull = None
                self.revision += 1
        elif self.follow_track and self.track is not None and len(self.track.keys) > 0:
            t = self.transport.frame_time_s
            focus = self.track.evaluate(t)
            self.set_focus(focus, cancel_pull=False)
            f_stop = self.track.evaluate_f_stop(t)
            if f_stop is not None and f_stop != self.lens.f_stop:
                self.set_lens(f_stop=f_stop)

    def set_track(self, track: FocusTrack | None) -> None:
        """Use a keyframe track; following it starts at once when it has keys."""
        self.track = track
        self.follow_track = track is not None and len(track.keys) > 0
        self.revision += 1

    # -- overlays, quality, messages ------------------------------------------------------------

    def toggle_overlay(self, name: OverlayName) -> bool:
        return self.overlays.toggle(name)  # display only: the DOF result stays valid

    def set_quality(self, name: str) -> bool:
        if name not in QUALITY_PRESETS:
            self.say(f"unknown quality preset '{name}'")
            return False
        if name != self.quality:
            self.quality = name
            self.revision += 1
        return True

    def say(self, message: str, level: MessageLevel = "error", now: float = 0.0) -> None:
        """Show a one-line message in the panel (replaces the previous one). ``level``: "info"
        (what is going on), "ok" (something done: saved, recorded), "warning" (done, but look),
        "error" (refused or failed)."""
        self.message = message
        self.message_level = level
        self.message_time = now

    # -- transport (thin wrappers so keyboard, panel and tests share one path) -----------------

    def toggle_play(self) -> bool:
        t = self.transport
        if not t.playing and t.frame >= t.last_frame and not t.loop:
            t.seek_frame(0)  # play at the end restarts, like every player
        t.playing = not t.playing
        return t.playing

    def seek(self, frame: int) -> int:
        return self.transport.seek_frame(frame)

    def step(self, n: int) -> int:
        return self.transport.step(n)

    def jump_start(self) -> int:
        return self.transport.seek_frame(0)

    def jump_end(self) -> int:
        return self.transport.seek_frame(self.transport.last_frame)

    def toggle_loop(self) -> bool:
        self.transport.loop = not self.transport.loop
        return self.transport.loop

    def set_rate(self, rate: float) -> float:
        if math.isfinite(rate) and rate > 0:
            self.transport.rate = min(max(rate, RATES[0]), RATES[-1])
        return self.transport.rate

    def faster(self, direction: int) -> float:
        """Next rate up (+1) or down (-1) in RATES."""
        rates = list(RATES)
        cur = min(range(len(rates)), key=lambda i: abs(rates[i] - self.transport.rate))
        return self.set_rate(rates[min(max(cur + direction, 0), len(rates) - 1)])

    def tick(self, now: float) -> None:
        """One frame of time: the playhead (from the playback clock), then time-driven focus."""
        self.transport.tick()
        self.update(now)

    # -- view ------------------------------------------------------------------------------------

    def toggle_split(self) -> bool:
        self.viewer.split_enabled = not self.viewer.split_enabled  # display only
        return self.viewer.split_enabled


def timecode(seconds: float, fps: Fraction) -> str:
    """HH:MM:SS:FF at the clip's (rounded) frame rate."""
    fr = max(round(float(fps)), 1)
    total = math.floor(seconds * float(fps) + 1e-6)
    ff = total % fr
    s = total // fr
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}:{ff:02d}"
