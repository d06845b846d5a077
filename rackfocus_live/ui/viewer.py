"""Viewer maths: where the image sits in the viewport (fit / 1:1 / zoom), pan, and the A/B split.

Pure Python, no GL. Coordinates are pixels with the origin at the top-left corner of the viewport
(the area the image is drawn in) and of the image; y grows downwards in both. The app converts
window coordinates to framebuffer pixels (HiDPI) before calling in here.

The image is placed by a scale (viewport px per image px) and an offset: viewport point
``p = offset + scale * i`` for image point ``i``. In "fit" mode the scale follows the viewport
size; any explicit zoom or pan switches to "free" mode, and "fit" or "1:1" reset it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

ZoomMode = Literal["fit", "free"]
#: Zoom limits (viewport px per image px).
MIN_ZOOM = 1.0 / 32.0
MAX_ZOOM = 32.0
#: How close (viewport px) the cursor must be to the A/B divider to grab it.
DIVIDER_GRAB_PX = 6.0


@dataclass(frozen=True, slots=True)
class Rect:
    """An axis-aligned rectangle, top-left origin."""

    x: float
    y: float
    w: float
    h: float

    def contains(self, px: float, py: float) -> bool:
        return self.x <= px < self.x + self.w and self.y <= py < self.y + self.h


@dataclass
class ViewerState:
    """Zoom, pan and A/B split of the image in its viewport.

    Attributes:
        mode: "fit" (scale follows the viewport) or "free" (explicit zoom and pan).
        zoom: viewport px per image px in free mode.
        center: the image point (image px) shown at the viewport centre in free mode.
        split_enabled: show the original left of the divider and the result right of it.
        split: divider position as a fraction of the viewport width (0..1).
    """

    mode: ZoomMode = "fit"
    zoom: float = 1.0
    center: tuple[float, float] = (0.0, 0.0)
    split_enabled: bool = False
    split: float = 0.5
    dragging_divider: bool = False

    # -- placement -----------------------------------------------------------------------------

    @staticmethod
    def fit_scale(viewport: tuple[float, float], image: tuple[int, int]) -> float:
        """Largest scale that shows the whole image in the viewport."""
        vw, vh = viewport
        iw, ih = image
        if iw <= 0 or ih <= 0 or vw <= 0 or vh <= 0:
            return 1.0
        return min(vw / iw, vh / ih)

    def scale(self, viewport: tuple[float, float], image: tuple[int, int]) -> float:
        return self.fit_scale(viewport, image) if self.mode == "fit" else self.zoom

    def image_rect(self, viewport: tuple[float, float], image: tuple[int, int]) -> Rect:
        """The image's rectangle in viewport pixels (may extend beyond the viewport)."""
        vw, vh = viewport
        iw, ih = image
        s = self.scale(viewport, image)
        cx, cy = (iw / 2.0, ih / 2.0) if self.mode == "fit" else self.center
        return Rect(vw / 2.0 - cx * s, vh / 2.0 - cy * s, iw * s, ih * s)

    def to_image(
        self, viewport: tuple[float, float], image: tuple[int, int], px: float, py: float
    ) -> tuple[float, float] | None:
        """Image pixel coordinates under viewport point (px, py), or None outside the image."""
        r = self.image_rect(viewport, image)
        if not r.contains(px, py) or r.w <= 0 or r.h <= 0:
            return None
        s = self.scale(viewport, image)
        return (px - r.x) / s, (py - r.y) / s

    def to_viewport(
        self, viewport: tuple[float, float], image: tuple[int, int], ix: float, iy: float
    ) -> tuple[float, float]:
        r = self.image_rect(viewport, image)
        s = self.scale(viewport, image)
        return r.x + ix * s, r.y + iy * s

    # -- zoom and pan ---------------------------------------------------------------------------

    def _go_free(self, viewport: tuple[float, float], image: tuple[int, int]) -> None:
        if self.mode == "fit":
            self.zoom = self.fit_scale(viewport, image)
            self.center = (image[0] / 2.0, image[1] / 2.0)
            self.mode = "free"

    def set_fit(self) -> None:
        self.mode = "fit"

    def set_one_to_one(self, image: tuple[int, int]) -> None:
        """One image pixel per framebuffer pixel (true 1:1 on HiDPI screens too), centred."""
        self.mode = "free"
        self.zoom = 1.0
        self.center = (image[0] / 2.0, image[1] / 2.0)

    def zoom_about(
        self,
        viewport: tuple[float, float],
        image: tuple[int, int],
        factor: float,
        anchor: tuple[float, float] | None = None,
    ) -> None:
        """Multiply the zoom by ``factor`` keeping the image point under ``anchor`` (viewport px;
        default the centre) where it is."""
        if not (math.isfinite(factor) and factor > 0):
            return
        self._go_free(viewport, image)
        vw, vh = viewport
        ax, ay = anchor if anchor is not None else (vw / 2.0, vh / 2.0)
        old = self.zoom
        new = min(max(old * factor, MIN_ZOOM), MAX_ZOOM)
        cx, cy = self.center
        # Image point under the anchor before: c + (a - v/2) / old. Keep it under the anchor.
        ix, iy = cx + (ax - vw / 2.0) / old, cy + (ay - vh / 2.0) / old
        self.center = (ix - (ax - vw / 2.0) / new, iy - (ay - vh / 2.0) / new)
        self.zoom = new

    def pan_by(
        self, viewport: tuple[float, float], image: tuple[int, int], dx: float, dy: float
    ) -> None:
        """Move the image by (dx, dy) viewport pixels (drag direction)."""
        self._go_free(viewport, image)
        cx, cy = self.center
        self.center = (cx - dx / self.zoom, cy - dy / self.zoom)

    # -- A/B split ---------------------------------------------------------------------------

    def divider_x(self, viewport: tuple[float, float]) -> float:
        return self.split * viewport[0]

    def near_divider(self, viewport: tuple[float, float], px: float) -> bool:
        return self.split_enabled and abs(px - self.divider_x(viewport)) <= DIVIDER_GRAB_PX

    def begin_divider_drag(self, viewport: tuple[float, float], px: float) -> bool:
        """Start dragging when the press is on the divider; returns True if it grabbed it."""
        self.dragging_divider = self.near_divider(viewport, px)
        return self.dragging_divider

    def drag_divider(self, viewport: tuple[float, float], px: float) -> None:
        if viewport[0] > 0:
            self.split = min(max(px / viewport[0], 0.0), 1.0)

    def end_divider_drag(self) -> None:
        self.dragging_divider = False

    def shows_original(self, viewport: tuple[float, float], px: float) -> bool:
        """True where the A side (the original, left of the divider) is shown."""
        return self.split_enabled and px < self.divider_x(viewport)
