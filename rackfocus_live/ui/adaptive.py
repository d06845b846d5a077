"""The preview lowers its own cost, not the UI's frame rate, when rendering cannot keep up.

``PreviewGovernor`` watches how long UI frames take. While the picture moves (playback, a focus
drag, a pull), and frames take longer than the UI's target, it asks for the draft preset of the
depth of field; if frames are still too slow with the draft, it asks for the depth of field at
half the resolution as well (a quarter of the pixels; the viewer scales it up). Once the picture
stands still again it lets the full preset and resolution back, so the still frame is refined
once to what the user chose (progressive refinement). A moving picture is judged by how it
moves; a still one by its detail.

Plain Python (no GL, no window): the app feeds it frame times and applies its answer through
``UiState.adaptive_draft``.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The UI frame rate the preview protects.
TARGET_UI_FPS = 20.0
#: Frames the running average gets after a step down before the next step is judged (it needs
#: that long to forget the frames of the costlier setting).
SETTLE_FRAMES = 6


@dataclass
class PreviewGovernor:
    """See the module docstring.

    Attributes:
        target_fps: the UI frame rate to keep.
        smoothing: weight of the newest frame time in the running average.
        draft: whether the preview renders with the draft preset now.
        reduced: whether it renders at half resolution too.
    """

    target_fps: float = TARGET_UI_FPS
    smoothing: float = 0.3
    draft: bool = False
    reduced: bool = False
    _average_s: float = 0.0
    _settle: int = 0

    @property
    def average_frame_s(self) -> float:
        return self._average_s

    def update(self, frame_s: float, moving: bool) -> bool:
        """Feed the last UI frame's duration; returns whether to render the draft preset."""
        if frame_s > 0:
            a = self._average_s
            self._average_s = frame_s if a == 0.0 else a + self.smoothing * (frame_s - a)
        if not moving:
            # Still: refine to the chosen preset (the key of the render changes: one re-render).
            self.draft = self.reduced = False
            self._settle = 0
        elif self._settle > 0:
            self._settle -= 1
        elif self._average_s > 1.0 / self.target_fps:
            # Once engaged a step stays until the picture stops: flipping settings mid-move
            # would make the picture shimmer between two looks.
            if not self.draft:
                self.draft = True
                self._settle = SETTLE_FRAMES
            else:
                self.reduced = True
        return self.draft
