"""The viewer pass (image placement, A/B split) and the diagnostic overlays, and small readbacks.

``ViewerPass`` draws the DOF result (and the original, left of the A/B divider) into a target
framebuffer at a rectangle computed by ``ui.viewer``, with optional overlays (``overlay.frag``):
depth view, focus-plane tint (near red / in focus green / far blue), focus peaking and a CoC heat
map. Main thread only; ``release()`` frees the GL objects.
"""

from __future__ import annotations

from dataclasses import dataclass

import moderngl

from rackfocus_live.gpu.fullscreen import FullscreenPass
from rackfocus_live.gpu.programs import ProgramCache

#: Bits of ``u_flags`` in overlay.frag.
FLAG_DEPTH, FLAG_FOCUS_PLANE, FLAG_PEAKING, FLAG_COC = 1, 2, 4, 8


@dataclass(frozen=True, slots=True)
class OverlayParams:
    """What the viewer pass draws besides the picture.

    Attributes:
        depth: show inverse depth as grey (near white) instead of the picture.
        focus_plane: tint near red, in focus green, far blue.
        peaking: mark sharp edges of the shown picture with ``peak_color``.
        coc: show the |CoC| heat map instead of the picture (depth wins if both are on).
        depth_range: inverse depth (1/m) of the far and near ends of the grey ramp.
        in_focus_px: CoC diameter (px) up to which the focus plane counts a pixel as in focus.
        coc_max_px: CoC diameter at the top of the heat map.
        peak_threshold: Sobel luma contrast (0..1) that counts as an edge.
        peak_color: display-encoded RGB of the peaking marks.
        background: colour around the image.
    """

    depth: bool = False
    focus_plane: bool = False
    peaking: bool = False
    coc: bool = False
    depth_range: tuple[float, float] = (1.0 / 20.0, 1.0)
    in_focus_px: float = 1.5
    coc_max_px: float = 40.0
    peak_threshold: float = 0.12
    peak_color: tuple[float, float, float] = (1.0, 0.9, 0.1)
    background: tuple[float, float, float] = (0.09, 0.09, 0.1)

    @property
    def flags(self) -> int:
        return (
            (FLAG_DEPTH if self.depth else 0)
            | (FLAG_FOCUS_PLANE if self.focus_plane else 0)
            | (FLAG_PEAKING if self.peaking else 0)
            | (FLAG_COC if self.coc else 0)
        )


class ViewerPass:
    """Draws the image with overlays into a target; see the module docstring."""

    def __init__(self, programs: ProgramCache) -> None:
        self._pass = FullscreenPass(programs, "overlay.frag")
        self._sampler = programs.ctx.sampler(
            filter=(moderngl.LINEAR, moderngl.LINEAR), repeat_x=False, repeat_y=False
        )

    def render(
        self,
        target: moderngl.Framebuffer,
        target_size: tuple[int, int],
        rect: tuple[float, float, float, float],
        *,
        result: moderngl.Texture,
        original: moderngl.Texture,
        inv_depth: moderngl.Texture,
        coc: moderngl.Texture,
        params: OverlayParams = OverlayParams(),
        original_is_linear: bool = True,
        split_x: float | None = None,
    ) -> None:
        """Draw into the whole of ``target``.

        Args:
            target: the framebuffer (the window's ``ctx.screen`` or an offscreen one).
            target_size: its size in pixels (passed in: a window's default framebuffer object
                keeps the size it had when the context was made).
            rect: the image rectangle (x, y from the top-left, w, h) in target pixels.
            result: the display-encoded DOF output; ``original``: the input colour.
            inv_depth: inverse depth (1/m); ``coc``: signed CoC diameter in px.
            params: overlays; ``split_x``: A/B divider in target px (None: no split).
        """
        w, h = target_size
        target.viewport = (0, 0, w, h)
        textures = [("u_result", result), ("u_original", original), ("u_inv_depth", inv_depth),
                    ("u_coc", coc)]
        for unit in range(len(textures)):
            self._sampler.use(unit)
        self._pass.render(target, textures, {
            "u_target_size": (float(w), float(h)),
            "u_rect": tuple(float(v) for v in rect),
            "u_flags": params.flags,
            "u_split_x": -1.0 if split_x is None else float(split_x),
            "u_original_linear": 1 if original_is_linear else 0,
            "u_depth_range": tuple(float(v) for v in params.depth_range),
            "u_in_focus_px": float(params.in_focus_px),
            "u_coc_max": float(params.coc_max_px),
            "u_peak_threshold": float(params.peak_threshold),
            "u_peak_color": params.peak_color,
            "u_background": params.background,
        })
        for unit in range(len(textures)):
            self._sampler.clear(unit)

    def release(self) -> None:
        self._pass.release()
        self._sampler.release()
