"""The picture of the preview: depth of field of the shown frame, and drawing it into the
viewport with the overlays and the A/B split.

The DOF result is re-rendered only when something it depends on changed (the frame, the lens, the
quality, the highlight boost, or ``UiState.revision``), so a paused preview costs no GPU time, and
overlays, the A/B split, zoom and pan (display only) cost one viewer pass, never a DOF render.
While a moving picture is too slow even with the draft preset (``UiState.adaptive_reduced``),
the DOF runs on the colour at half size (2x2 means) and the viewer scales the result up; the
still frame is rendered at full size again. Main (GL) thread only.
"""

from __future__ import annotations

import moderngl
import numpy as np
import numpy.typing as npt
from imgui_bundle import imgui

from rackfocus_live.colour import DEFAULT_DISPLAY, DEFAULT_VIEW
from rackfocus_live.gpu.context import framebuffer_kept, restore_framebuffer
from rackfocus_live.gpu.dof import DofRenderer
from rackfocus_live.gpu.fullscreen import FullscreenPass
from rackfocus_live.gpu.ocio_view import OcioViewPass
from rackfocus_live.gpu.overlays import OverlayParams, ViewerPass
from rackfocus_live.gpu.programs import ProgramCache, ShaderError
from rackfocus_live.lens import LensState
from rackfocus_live.ui.session import MediaSession
from rackfocus_live.ui.state import UiState

#: CoC diameter (px) the focus-plane overlay counts as in focus.
IN_FOCUS_PX = 2.0
#: Background around the image.
BACKGROUND = (0.09, 0.09, 0.1)

Histogram = tuple[npt.NDArray[np.float32], float, float]


class Picture:
    """The DOF renderer and the viewer pass of the window; see the module docstring."""

    def __init__(
        self, ctx: moderngl.Context, programs: ProgramCache,
        view: tuple[str, str] | None = None,
    ) -> None:
        self.ctx = ctx
        self.programs = programs
        self.viewer_pass = ViewerPass(programs)
        self.dof: DofRenderer | None = None
        self._rendered_key: tuple[object, ...] | None = None
        #: DOF renders so far (each one a full chain of passes): what tests count.
        self.dof_renders = 0
        #: An OCIO display view other than plain sRGB: the DOF renders linear light and this
        #: pass shows it (and the original, for the A/B split) through the view.
        self.view = None if view in (None, (DEFAULT_DISPLAY, DEFAULT_VIEW)) else (
            OcioViewPass(ctx, *view))
        self._shown: list[tuple[moderngl.Texture, moderngl.Framebuffer]] = []
        #: The half-size path (made when first needed): its DOF, the colour at half size and
        #: the pass that makes it.
        self._half: DofRenderer | None = None
        self._half_color: tuple[moderngl.Texture, moderngl.Framebuffer] | None = None
        self._half_pass: FullscreenPass | None = None
        #: The renderer whose result is shown (``dof``, or ``_half`` while reduced).
        self._active: DofRenderer | None = None

    @property
    def gpu_ms(self) -> float | None:
        """GPU time of the last DOF render (timer queries), if known."""
        return self._active.last_gpu_ms if self._active is not None else None

    @property
    def reduced(self) -> bool:
        """Whether the shown result was rendered at half size."""
        return self._active is not None and self._active is self._half

    @property
    def rendered_focus_m(self) -> float | None:
        """Focus distance the shown DOF result was rendered with (None before the first)."""
        key = self._rendered_key
        lens = key[4] if key is not None else None
        return lens.focus_m if isinstance(lens, LensState) else None

    def set_size(self, size: tuple[int, int], quality: str) -> None:
        """Frames of ``size`` from now on (a newly opened clip)."""
        self._active = None
        if self.dof is None:
            self.dof = DofRenderer(self.ctx, self.programs, size, quality,
                                   linear_output=self.view is not None)
        else:
            self.dof.resize(size)
        if self.view is not None:
            self._release_shown()
            for _ in range(2):  # the result and the original, through the view
                tex = self.ctx.texture(size, 4, dtype="f1")
                tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
                tex.repeat_x = tex.repeat_y = False
                self._shown.append((tex, self.ctx.framebuffer(color_attachments=[tex])))
        self.invalidate()

    def _half_inputs(self, color: moderngl.Texture, quality: str
                     ) -> tuple[DofRenderer, moderngl.Texture]:
        """The half-size renderer and ``color`` at half size (2x2 means of linear light)."""
        w, h = color.size
        size = (max(1, (w + 1) // 2), max(1, (h + 1) // 2))
        if self._half is None:
            self._half = DofRenderer(self.ctx, self.programs, size, quality,
                                     linear_output=self.view is not None)
            self._half_pass = FullscreenPass(self.programs, "half_size.frag")
        elif self._half.size != size:
            self._half.resize(size)
        if self._half_color is None or self._half_color[0].size != size:
            self._release_half_color()
            tex = self.ctx.texture(size, 4, dtype="f2")
            tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
            tex.repeat_x = tex.repeat_y = False
            self._half_color = (tex, self.ctx.framebuffer(color_attachments=[tex]))
        assert self._half_pass is not None
        with framebuffer_kept(self.ctx):  # leave the caller's binding as found
            self._half_pass.render(self._half_color[1], [("u_color", color)])
        return self._half, self._half_color[0]

    def _release_half_color(self) -> None:
        if self._half_color is not None:
            tex, fbo = self._half_color
            if self.ctx.fbo is fbo:  # a deleted framebuffer must not stay bound
                restore_framebuffer(self.ctx, None)
            fbo.release()
            tex.release()
            self._half_color = None

    def _release_shown(self) -> None:
        for tex, fbo in self._shown:
            fbo.release()
            tex.release()
        self._shown.clear()

    def invalidate(self) -> None:
        """Render again at the next ``render``, whatever changed."""
        self._rendered_key = None

    def render(self, session: MediaSession | None, state: UiState) -> None:
        """Depth of field of the session's current frame, if anything it depends on changed."""
        dof = self.dof
        if session is None or dof is None or session.current is None:
            return
        quality = state.effective_quality
        reduced = state.adaptive_reduced
        key = (id(session), session.current, state.revision, quality, state.lens,
               state.highlight, state.character, reduced)
        if key == self._rendered_key:
            return
        try:
            color = session.color
            if reduced:
                dof, color = self._half_inputs(session.color, quality)
            if dof.quality != quality:
                dof.set_quality(quality)
            dof.render(color, session.depth, state.lens, color_is_srgb=False,
                       highlight=state.highlight, scene_linear=session.info.scene_linear,
                       character=state.character, source_scale=2.0 if reduced else 1.0)
            self._active = dof
            self.dof_renders += 1
            if self.view is not None and self._shown:
                self.view.render(dof.output, self._shown[0][1])
                self.view.render(session.color, self._shown[1][1])
        except ShaderError as exc:  # a hot-reloaded shader that does not compile
            state.say(str(exc).splitlines()[0])
        self._rendered_key = key

    def draw(
        self,
        fb_size: tuple[int, int],
        viewport: tuple[float, float],
        scale: tuple[float, float],
        session: MediaSession | None,
        state: UiState,
        histogram: Histogram | None,
    ) -> None:
        """Clear the window and draw the picture into the viewport (top-left of the window).

        Args:
            fb_size: framebuffer size in pixels.
            viewport: the picture's area in framebuffer pixels (the rest is panel and transport).
            scale: framebuffer pixels per window unit (HiDPI), for the ImGui divider line.
            histogram: this frame's inverse-depth histogram and range (overlay ramps).
        """
        fw, fh = fb_size
        screen = self.ctx.screen
        screen.use()
        screen.viewport = (0, 0, fw, fh)
        dof = self._active or self.dof
        if session is None or dof is None or session.current is None:
            self.ctx.clear(*BACKGROUND)
            return
        viewer = state.viewer
        rect = viewer.image_rect(viewport, state.image_size)
        depth_range = (histogram[1], histogram[2]) if histogram is not None else (0.0, 1.0)
        o = state.overlays
        params = OverlayParams(
            depth=o.depth, focus_plane=o.focus_plane, peaking=o.peaking, coc=o.coc,
            depth_range=depth_range, in_focus_px=IN_FOCUS_PX,
            # The CoC texture holds pixels of the renderer's own size (half while reduced).
            coc_max_px=coc_range(state, depth_range) * dof.size[0] / max(1, state.image_size[0]),
            background=BACKGROUND,
        )
        self.viewer_pass.render(
            screen, (fw, fh), (rect.x, rect.y, rect.w, rect.h),
            result=self._shown[0][0] if self._shown else dof.output,
            original=self._shown[1][0] if self._shown else session.color,
            inv_depth=session.depth, coc=dof.coc, params=params,
            original_is_linear=not self._shown,
            split_x=viewer.divider_x(viewport) if viewer.split_enabled else None,
        )
        if viewer.split_enabled:
            sx, sy = scale
            x = viewer.divider_x(viewport) / sx
            draw = imgui.get_background_draw_list()
            draw.add_line(imgui.ImVec2(x, 0), imgui.ImVec2(x, viewport[1] / sy),
                          imgui.get_color_u32(imgui.ImVec4(1, 1, 1, 0.8)), 2.0)

    def release(self) -> None:
        self._active = None
        if self.dof is not None:
            self.dof.release()
            self.dof = None
        if self._half is not None:
            self._half.release()
            self._half = None
        if self._half_pass is not None:
            self._half_pass.release()
            self._half_pass = None
        self._release_half_color()
        self._release_shown()
        if self.view is not None:
            self.view.release()
            self.view = None
        self.viewer_pass.release()


def coc_range(state: UiState, inv_depth_range: tuple[float, float]) -> float:
    """Top of the CoC heat map: the largest |CoC| of this frame's depth range (so the ramp spans
    what is on screen), within 1 px and the renderer's clamp."""
    lens, width = state.lens, state.image_size[0]
    coc = lens.coc_px_from_inverse_depth(np.asarray(inv_depth_range), width)
    return float(min(max(np.abs(coc).max(), 1.0), lens.max_coc_px(width)))
