"""Render stills (numpy in, numpy out) with the same DofRenderer the app and export use."""

from __future__ import annotations

import moderngl
import numpy as np
import numpy.typing as npt

from rackfocus_live.depthcond import DepthConditioning
from rackfocus_live.depthdetail import detail_scale
from rackfocus_live.gpu.depthprep import DepthConditioner
from rackfocus_live.gpu.dof import DofRenderer
from rackfocus_live.gpu.programs import ProgramCache
from rackfocus_live.lens import LensState
from rackfocus_live.lens_character import LensCharacter
from rackfocus_live.settings import HighlightBoost


class StillRenderer:
    """Uploads an RGB image and an inverse-depth map, renders, reads back. Reuses GL objects
    while the sizes stay the same (the quality benchmark renders many cases of one scene).

    Depth is conditioned once per upload (edge refinement guided by the colour, unless
    ``conditioning.refine`` is off); a still has no temporal stabilisation.
    """

    def __init__(
        self,
        ctx: moderngl.Context,
        quality: str = "default",
        conditioning: DepthConditioning | None = None,
        *,
        linear_output: bool = False,
    ) -> None:
        self.ctx = ctx
        self.linear_output = linear_output
        self._linear_input = False
        self._scene_linear = False
        self.programs = ProgramCache(ctx)
        self.quality = quality
        self.conditioning = conditioning or DepthConditioning()
        self._dof: DofRenderer | None = None
        self._conditioner: DepthConditioner | None = None
        self._color: moderngl.Texture | None = None
        self._depth: moderngl.Texture | None = None
        self._conditioned: moderngl.Texture | None = None
        #: How fine the last uploaded depth really is (``depthdetail``; 1 where it cannot tell).
        self.depth_detail = 1.0

    def upload(
        self, rgb: npt.NDArray[np.integer] | npt.NDArray[np.floating],
        inv_depth: npt.NDArray[np.float32], *, true_light: bool | None = None,
    ) -> None:
        """Colour and inverse depth (any HxW, 1/m). Colour is HxWx3 uint8 or uint16
        display-encoded (sRGB), or float16/float32 linear light, uploaded as 32-bit float
        unclamped. ``true_light`` (default: float colour) says the light is real (a float or
        log plate): no highlight boost, no firefly clamp; False for sRGB images made linear."""
        h, w = rgb.shape[:2]
        dtype = "f1" if rgb.dtype == np.uint8 else "u2"
        is_float = bool(np.issubdtype(rgb.dtype, np.floating))
        self._linear_input = is_float
        self._scene_linear = is_float if true_light is None else true_light
        data: npt.NDArray[np.generic]
        if is_float:
            data = np.asarray(rgb, np.float32)
            dtype = "f4"
        elif rgb.dtype != np.uint8:
            # 16-bit colour goes up as normalised float so the shader sees 0..1 either way.
            data = (rgb.astype(np.float32) / 65535.0).astype(np.float16)
            dtype = "f2"
        else:
            data = rgb
        self._release_inputs()
        self._color = self.ctx.texture((w, h), 3, np.ascontiguousarray(data).tobytes(),
                                       dtype=dtype, alignment=1)
        dh, dw = inv_depth.shape
        self._depth = self.ctx.texture((dw, dh), 1,
                                       np.ascontiguousarray(inv_depth, np.float32).tobytes(),
                                       dtype="f4", alignment=1)
        if self._dof is None:
            self._dof = DofRenderer(self.ctx, self.programs, (w, h), self.quality,
                                    linear_output=self.linear_output)
        else:
            self._dof.resize((w, h))
        self._conditioned = None
        if self.conditioning.refine:
            if self._conditioner is not None and self._conditioner.size != (w, h):
                self._conditioner.release()
                self._conditioner = None
            if self._conditioner is None:
                self._conditioner = DepthConditioner(self.ctx, self.programs, (w, h))
            self.depth_detail = detail_scale(inv_depth, (h, w)) or 1.0
            self._conditioned = self._conditioner.run(self._color, self._depth,
                                                      color_is_srgb=not self._linear_input,
                                                      detail=self.depth_detail)

    def conditioned_depth(self) -> npt.NDArray[np.float32] | None:
        """The inverse depth the renderer uses after conditioning (None when refinement is off)."""
        if self._conditioner is None or self._conditioned is None:
            return None
        return self._conditioner.read()

    @property
    def dof(self) -> DofRenderer:
        if self._dof is None:
            raise RuntimeError("upload() an image first")
        return self._dof

    def render(
        self,
        lens: LensState,
        highlight: HighlightBoost | None = None,
        character: LensCharacter | None = None,
    ) -> npt.NDArray[np.uint8]:
        """The rendered frame as HxWx3 uint8 (sRGB)."""
        if self.linear_output:
            raise RuntimeError("this renderer outputs linear light: use render_linear()")
        self._render(lens, highlight, character)
        w, h = self.dof.size
        return np.frombuffer(self.dof.read_output(), np.uint8).reshape(h, w, 3).copy()

    def render_linear(
        self,
        lens: LensState,
        highlight: HighlightBoost | None = None,
        character: LensCharacter | None = None,
    ) -> npt.NDArray[np.float32]:
        """The rendered frame as HxWx3 float32 linear light, unclamped (``linear_output``)."""
        if not self.linear_output:
            raise RuntimeError("create the renderer with linear_output=True for render_linear()")
        self._render(lens, highlight, character)
        w, h = self.dof.size
        return np.frombuffer(self.dof.read_output(), np.float32).reshape(h, w, 3).copy()

    def _render(self, lens: LensState, highlight: HighlightBoost | None,
                character: LensCharacter | None) -> None:
        if self._color is None or self._depth is None:
            raise RuntimeError("upload() an image first")
        depth = self._conditioned if self._conditioned is not None else self._depth
        self.dof.render(self._color, depth, lens, color_is_srgb=not self._linear_input,
                        highlight=highlight, scene_linear=self._scene_linear,
                        character=character)

    def _release_inputs(self) -> None:
        for tex in (self._color, self._depth):
            if tex is not None:
                tex.release()
        self._color = self._depth = self._conditioned = None

    def release(self) -> None:
        self._release_inputs()
        if self._conditioner is not None:
            self._conditioner.release()
            self._conditioner = None
        if self._dof is not None:
            self._dof.release()
            self._dof = None
        self.programs.release()
