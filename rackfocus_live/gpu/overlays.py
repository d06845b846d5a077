"""The viewer pass (image placement, A/B split) and the diagnostic overlays, and small readbacks.

``ViewerPass`` draws the DOF result (and the original, left of the A/B divider) into a target
framebuffer at a rectangle computed by ``ui.viewer``, with optional overlays (``overlay.frag``):
depth view, focus-plane tint (near red / in focus green / far blue), focus peaking and a CoC heat
map. Main thread only; ``release()`` frees the GL objects.

Cost follows what is shown: each combination of overlays (and the split) is its own program, built
on first use, so with everything off the pass is one bilinear fetch per pixel; and it draws the
image as a quad at its rectangle (``viewer.vert``), so only image pixels are shaded and the rest is
a clear: a zoomed-out picture costs less.
"""

from __future__ import annotations

from dataclasses import dataclass

import moderngl

from rackfocus_live.gpu.fullscreen import FullscreenPass
from rackfocus_live.gpu.programs import ProgramCache


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

    def defines(self, split: bool) -> dict[str, object]:
        """Compile-time switches of ``overlay.frag`` for these overlays (and the A/B split)."""
        return {
            "SHOW_DEPTH": self.depth,
            "SHOW_COC": self.coc,
            "SHOW_FOCUS_PLANE": self.focus_plane,
            "SHOW_PEAKING": self.peaking,
            "SHOW_SPLIT": split,
        }


class ViewerPass:
    """Draws the image with overlays into a target; see the module docstring."""

    def __init__(self, programs: ProgramCache) -> None:
        self._programs = programs
        # One pass per overlay combination in use (a handful at most in a session).
        self._passes: dict[tuple[tuple[str, object], ...], FullscreenPass] = {}
        self._sampler = programs.ctx.sampler(
            filter=(moderngl.LINEAR, moderngl.LINEAR), repeat_x=False, repeat_y=False
        )
        self.pass_for(OverlayParams(), split=False)  # the plain view: compiled up front

    def pass_for(self, params: OverlayParams, *, split: bool) -> FullscreenPass:
        """The pass drawing ``params`` (built on first use)."""
        defines = params.defines(split)
        key = tuple(sorted(defines.items()))
        found = self._passes.get(key)
        if found is None:
            found = self._passes[key] = FullscreenPass(
                self._programs, "overlay.frag", defines, vert="viewer.vert", vertices=4,
                mode=moderngl.TRIANGLE_STRIP)
        return found

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
        """Draw into the whole of ``target``: the background, and the image in ``rect``.

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
        if not covers_target(target_size, rect):  # some of the target is background
            target.clear(*params.background, 1.0)
        if not on_target(target_size, rect):
            return
        textures = [("u_result", result), ("u_original", original), ("u_inv_depth", inv_depth),
                    ("u_coc", coc)]
        for unit in range(len(textures)):
            self._sampler.use(unit)
        self.pass_for(params, split=split_x is not None).render(target, textures, {
            "u_target_size": (float(w), float(h)),
            "u_rect": tuple(float(v) for v in rect),
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
        for p in self._passes.values():
            p.release()
        self._passes.clear()
        self._sampler.release()


def covers_target(target_size: tuple[int, int], rect: tuple[float, float, float, float]) -> bool:
    """Whether the image rectangle (x, y from the top-left, w, h) covers every pixel of the target
    (then no background shows and no clear is needed)."""
    w, h = target_size
    x, y, rw, rh = rect
    return x <= 0 and y <= 0 and x + rw >= w and y + rh >= h


def on_target(target_size: tuple[int, int], rect: tuple[float, float, float, float]) -> bool:
    """Whether any of the image rectangle lies on the target."""
    w, h = target_size
    x, y, rw, rh = rect
    return rw > 0 and rh > 0 and x < w and y < h and x + rw > 0 and y + rh > 0
