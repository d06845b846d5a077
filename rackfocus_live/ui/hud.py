"""Heads-up display: rendered fps, clip fps, dropped frames, decoder queue fill, DOF GPU time.

``FpsMeter`` and ``HudStats.lines`` are plain Python (tested); ``draw_hud`` draws the lines in the
corner of the image area with ImGui's foreground draw list (no window, so it never takes the
mouse).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


class FpsMeter:
    """Frames per second over the last ``window`` frame times, and no older than ``window_s``
    seconds: at 2 fps a 60-frame window would still report a rate from half a minute ago."""

    def __init__(self, window: int = 60, window_s: float = 2.0) -> None:
        self._times: deque[float] = deque(maxlen=window + 1)
        self.window_s = window_s

    def tick(self, now: float) -> None:
        self._times.append(now)
        while len(self._times) > 2 and now - self._times[0] > self.window_s:
            self._times.popleft()

    @property
    def frame_ms(self) -> float:
        """Average time between the frames of the window (ms); 0 when unknown."""
        fps = self.fps
        return 1000.0 / fps if fps > 0 else 0.0

    @property
    def fps(self) -> float:
        if len(self._times) < 2:
            return 0.0
        span = self._times[-1] - self._times[0]
        return (len(self._times) - 1) / span if span > 0 else 0.0


@dataclass
class HudStats:
    """What the HUD shows.

    Attributes:
        render_fps: frames the window drew per second (the UI's real frame rate).
        clip_fps: clip frames shown per second (0 when paused).
        nominal_fps: the clip's frame rate times the playback rate.
        dropped: frames skipped to keep up since the clip was opened.
        queue_fill: decoder look-ahead queue fill, 0..1.
        gpu_ms: GPU time of the DOF passes of the last frame (None: no timer queries).
        quality: the preset rendered with.
        size: rendered size in pixels.
    """

    render_fps: float = 0.0
    clip_fps: float = 0.0
    nominal_fps: float = 0.0
    dropped: int = 0
    queue_fill: float = 0.0
    gpu_ms: float | None = None
    quality: str = ""
    size: tuple[int, int] = (0, 0)

    def lines(self) -> list[str]:
        gpu = "n/a" if self.gpu_ms is None else f"{self.gpu_ms:.2f} ms"
        return [
            f"draw {self.render_fps:5.1f} fps   "
            f"clip {self.clip_fps:5.1f} of {self.nominal_fps:.3g} fps",
            f"dropped {self.dropped}   queue {self.queue_fill * 100:3.0f}%",
            f"DOF GPU {gpu}   {self.quality}   {self.size[0]}x{self.size[1]}",
        ]


def draw_hud(stats: HudStats, origin: tuple[float, float]) -> None:
    """Draw the HUD lines at ``origin`` (window coordinates) on a translucent backing."""
    from imgui_bundle import imgui

    draw = imgui.get_foreground_draw_list()
    lines = stats.lines()
    line_h = imgui.get_text_line_height_with_spacing()
    width = max(imgui.calc_text_size(s).x for s in lines)
    x, y = origin
    pad = 6.0
    draw.add_rect_filled(imgui.ImVec2(x, y), imgui.ImVec2(x + width + 2 * pad,
                                                          y + line_h * len(lines) + 2 * pad),
                         imgui.get_color_u32(imgui.ImVec4(0.0, 0.0, 0.0, 0.55)), 4.0)
    colour = imgui.get_color_u32(imgui.ImVec4(0.9, 0.95, 0.9, 1.0))
    for i, text in enumerate(lines):
        draw.add_text(imgui.ImVec2(x + pad, y + pad + i * line_h), colour, text)
