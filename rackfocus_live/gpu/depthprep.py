"""Depth conditioning on the GPU, between upload and the CoC pass (main thread only).

:class:`DepthConditioner` runs ``shaders/depth_refine.frag`` (edge refinement guided by the colour
frame, and the temporal blend) into a full-resolution RG32F texture that the DofRenderer reads
instead of the raw depth. :class:`StreamConditioner` drives it frame by frame for a clip: it
owns the stabiliser's state (the affine drift fit, a reduction over a coarse grid done in numpy
by :class:`rackfocus_live.depthcond.TemporalStabiliser`) and resets it whenever the frames stop
being consecutive (a seek), the size changes, or a new clip opens.

The arithmetic is the numpy reference's (``rackfocus_live/depthcond.py``); tests compare them.
"""

from __future__ import annotations

import enum

import moderngl
import numpy as np
import numpy.typing as npt

from rackfocus_live import depthcond
from rackfocus_live.arrays import is_integer_array
from rackfocus_live.depthcond import DepthConditioning, TemporalStabiliser, fit_grid
from rackfocus_live.depthdetail import ShotDetail
from rackfocus_live.gpu.context import framebuffer_kept, software_renderer
from rackfocus_live.gpu.fullscreen import FullscreenPass
from rackfocus_live.gpu.programs import ProgramCache

#: Block size (pixels) of the refinement's tile classification; a pixel's taps must reach no
#: further than one block (depthcond.radius_px caps the radius at 14 px).
TILE = 32
#: The first of the two reductions of the block ranges (TILE is a multiple of it).
_RANGE_STEP = 8


class Draw(enum.Enum):
    """Which part of the frame a refinement draw covers, and so which program it needs."""

    WHOLE = "whole"                 # any pixel: taps may fall outside the frame
    INTERIOR = "interior"           # taps all inside, both paths
    EDGE_BLOCKS = "edge blocks"     # taps all inside, blocks that may hold a depth edge
    SMOOTH_BLOCKS = "smooth blocks"  # taps all inside, blocks that cannot: no colour test
    EDGE_BORDER = "edge border"     # the border strips' parts in blocks that may hold an edge
    SMOOTH_BORDER = "smooth border"  # those that cannot

    @property
    def sorted(self) -> bool:
        """Drawn as rectangles that depth_tiles.vert sorts by the block ranges."""
        return self not in (Draw.WHOLE, Draw.INTERIOR)

    @property
    def border(self) -> bool:
        return self in (Draw.EDGE_BORDER, Draw.SMOOTH_BORDER)


def _defines() -> dict[str, object]:
    return {
        "TAPS": depthcond.TAPS,
        "BAND_ABS": depthcond.BAND_ABS,
        "CLASS_SPLIT": depthcond.CLASS_SPLIT,
        "EDGE_REL": depthcond.EDGE_REL,
        "NEAR_BIAS": depthcond.NEAR_BIAS,
        "STRUCTURE_FLOOR": depthcond.STRUCTURE_FLOOR,
        "PLANAR_REL": depthcond.PLANAR_REL,
        "PLANE_RIDGE": depthcond.PLANE_RIDGE,
        "SIGMA_COLOR": depthcond.SIGMA_COLOR,
        "UNLIKE_FULL": depthcond.UNLIKE_FULL,
        "TAIL_PLATEAU": depthcond.TAIL_PLATEAU,
        "TAIL_UNLIKE": depthcond.TAIL_UNLIKE,
        "COVER_PLATEAU": depthcond.COVER_PLATEAU,
        "LIGHT_LEVEL": depthcond.LIGHT_LEVEL,
        "LIGHT_MAX_SHARE": depthcond.LIGHT_MAX_SHARE,
        "LIGHT_BUMP_REL": depthcond.LIGHT_BUMP_REL,
        "LUMA_STILL": depthcond.LUMA_STILL,
        "DEPTH_STILL_REL": depthcond.DEPTH_STILL_REL,
        "TEMPORAL_KEEP": depthcond.TEMPORAL_KEEP,
    }


def _glsl_floats(values: npt.NDArray[np.float64]) -> str:
    """A GLSL float array constructor with ``values`` (full float32 precision)."""
    return "float[](" + ", ".join(f"{float(np.float32(v))!r}" for v in values) + ")"


class DepthConditioner:
    """One conditioning pass at one output size; keeps the previous output for the temporal blend.

    Args:
        ctx: the GL context.
        programs: the shader cache.
        size: output (width, height): the colour frame's size.
        pack_taps: read the blocks' depth taps four to a texel from a packed copy of the depth
            (``depth_pack.frag``): a software rasteriser pays per fetch, and 10 fetches a pixel
            instead of 25 outweigh the packing pass; a GPU does not gain from it. None: decide
            from the renderer. The output is the same either way.
    """

    def __init__(self, ctx: moderngl.Context, programs: ProgramCache,
                 size: tuple[int, int], *, pack_taps: bool | None = None) -> None:
        self.ctx = ctx
        self.size = (int(size[0]), int(size[1]))
        self._programs = programs
        self.pack_taps = software_renderer(ctx) if pack_taps is None else pack_taps
        #: One program per (tap radius, steps, colour encoding, and the part drawn: Draw).
        self._passes: dict[tuple[float, bool, bool, bool, bool, Draw], FullscreenPass] = {}
        #: The packing pass per tap radius, and its target (made on first use).
        self._packs: dict[float, FullscreenPass] = {}
        self._packed: moderngl.Texture | None = None
        self._packed_fbo: moderngl.Framebuffer | None = None
        self._targets = [self._target() for _ in range(2)]
        self._fbos = [ctx.framebuffer(color_attachments=[t]) for t in self._targets]
        #: The raw depth at the output size, drift-corrected (depth_upsample.frag).
        self._upsample = FullscreenPass(programs, "depth_upsample.frag")
        self._upsampled = ctx.texture(self.size, 1, dtype="f4")
        self._upsampled.filter = (moderngl.NEAREST, moderngl.NEAREST)
        self._upsampled_fbo = ctx.framebuffer(color_attachments=[self._upsampled])
        #: The depth range of each TILE x TILE block (depth_tiles.frag), through 8 x 8 blocks.
        fine = (-(-self.size[0] // _RANGE_STEP), -(-self.size[1] // _RANGE_STEP))
        self._blocks = (-(-fine[0] // (TILE // _RANGE_STEP)), -(-fine[1] // (TILE // _RANGE_STEP)))
        #: The first reduction per (notes lights, colour is display-encoded), then the second.
        self._first_ranges: dict[tuple[bool, bool], FullscreenPass] = {}
        self._range_from_ranges = FullscreenPass(
            programs, "depth_tiles.frag", {"STEP": TILE // _RANGE_STEP, "FROM_RANGES": True})
        # (min, max, light): RGBA, as RGB float is not a renderable format everywhere.
        self._range_targets = [ctx.texture(fine, 4, dtype="f4"),
                               ctx.texture(self._blocks, 4, dtype="f4")]
        for tex in self._range_targets:
            tex.filter = (moderngl.NEAREST, moderngl.NEAREST)
        self._range_fbos = [ctx.framebuffer(color_attachments=[t]) for t in self._range_targets]
        self._ranges = self._range_targets[1]
        self._current = 0
        self._has_previous = False

    def _target(self) -> moderngl.Texture:
        tex = self.ctx.texture(self.size, 2, dtype="f4")
        tex.repeat_x = tex.repeat_y = False
        tex.filter = (moderngl.NEAREST, moderngl.NEAREST)
        return tex

    @property
    def output(self) -> moderngl.Texture:
        """The last conditioned depth (r = inverse depth at the colour's resolution)."""
        return self._targets[self._current]

    def reset(self) -> None:
        """Forget the previous output: the next frame is not blended with it."""
        self._has_previous = False

    def run(
        self,
        color: moderngl.Texture,
        depth: moderngl.Texture,
        *,
        color_is_srgb: bool,
        refine: bool = True,
        affine: tuple[float, float] = (1.0, 0.0),
        temporal: bool = False,
        detail: float = 1.0,
    ) -> moderngl.Texture:
        """Condition ``depth`` (raw inverse depth, any size) for ``color``; returns ``output``.

        ``detail``: the size (depth texels) of the texels whose detail the depth really carries
        (``depthdetail``; 1: as sharp as its grid): the taps reach as for depth that much
        coarser, as ``depthcond.refine_edges`` does."""
        if color.size != self.size:
            raise ValueError(f"colour is {color.size}, conditioner is {self.size}")
        depth.filter = (moderngl.LINEAR, moderngl.LINEAR)
        depth.repeat_x = depth.repeat_y = False
        dw, dh = depth.size
        ratio = max(self.size[0] / dw, self.size[1] / dh) * detail
        previous = self._targets[self._current]
        self._current ^= 1
        radius = depthcond.radius_px(ratio)
        # Depth of the output's size is read as it is, the drift correction applied per tap;
        # other depth is upsampled (and corrected) once by a pass of its own.
        raw = depth.size == self.size
        corrected = (float(affine[0]), float(affine[1]))
        identity = (1.0, 0.0)
        size = (float(self.size[0]), float(self.size[1]))
        with framebuffer_kept(self.ctx):
            if not raw:
                self._upsample.render(self._upsampled_fbo, [("u_depth", depth)],
                                      {"u_affine": corrected, "u_size": size})
            source = depth if raw else self._upsampled
            tap_affine = corrected if raw else identity
            textures = [("u_depth", source), ("u_color", color), ("u_prev", previous),
                        ("u_range", self._ranges)]
            target = self._fbos[self._current]
            steps = (radius, refine, temporal and self._has_previous, color_is_srgb, raw)
            draws = self._draws(radius) if refine else [(Draw.WHOLE, (0, 0, *self.size))]
            if any(d.sorted for d, _ in draws):
                lights = depthcond.restoration_weight(radius) > 0.0
                self._first_range(lights, color_is_srgb).render(
                    self._range_fbos[0], [("u_input", source), ("u_color", color)],
                    {"u_affine": tap_affine})
                self._range_from_ranges.render(self._range_fbos[1],
                                               [("u_input", self._range_targets[0])])
                if self.pack_taps:
                    textures.append(("u_packed", self._pack(radius, source, tap_affine)))
            pad = self._pad(radius)
            for draw, box in draws:
                target.scissor = box
                self._pass_for(*steps, draw).render(target, textures, {
                    "u_size": size, "u_affine": tap_affine, "u_pad": pad})
            target.scissor = (0, 0, *self.size)  # the whole target again
        self._has_previous = True
        return self.output

    def _first_range(self, lights: bool, color_is_srgb: bool) -> FullscreenPass:
        """The first block reduction: the depth's range, and (``lights``: where small lights'
        depth is restored) whether a light is in the block, which sends it to the program with
        the colour test (depth_tiles.vert)."""
        key = (lights, color_is_srgb)
        found = self._first_ranges.get(key)
        if found is None:
            found = self._first_ranges[key] = FullscreenPass(
                self._programs, "depth_tiles.frag",
                {**_defines(), "STEP": _RANGE_STEP, "LIGHTS": lights,
                 "COLOR_IS_SRGB": color_is_srgb})
        return found

    def _pack(self, radius: float, source: moderngl.Texture,
              affine: tuple[float, float]) -> moderngl.Texture:
        """The depth with four taps of a row a texel (depth_pack.frag), drift-corrected."""
        if self._packed is None or self._packed_fbo is None:
            self._packed = self.ctx.texture(self.size, 4, dtype="f4")
            self._packed.filter = (moderngl.NEAREST, moderngl.NEAREST)
            self._packed_fbo = self.ctx.framebuffer(color_attachments=[self._packed])
        step = self._packs.get(radius)
        if step is None:
            offsets = depthcond.tap_offsets(radius)
            dx = ", ".join(str(int(o - offsets[0])) for o in offsets[1:4])
            step = self._packs[radius] = FullscreenPass(
                self._programs, "depth_pack.frag", {"PACK_DX": f"ivec3({dx})"})
        step.render(self._packed_fbo, [("u_depth", source)], {"u_affine": affine})
        return self._packed

    @staticmethod
    def _pad(radius: float) -> int:
        """How far the taps reach (px): the border where some fall outside the frame."""
        return int(np.abs(depthcond.tap_offsets(radius)).max())

    def _draws(self, radius: float) -> list[tuple[Draw, tuple[int, int, int, int]]]:
        """The draws of the refinement and their scissor boxes: the frame less a border as
        wide as the taps reach, in blocks sorted by whether they may hold a depth edge (the
        colour test, a third of the pass, runs only there); then the border strips, sorted the
        same way, by the programs that test which taps are inside the frame."""
        w, h = self.size
        pad = self._pad(radius)
        if w <= 2 * pad or h <= 2 * pad:
            return [(Draw.WHOLE, (0, 0, w, h))]
        inner = (pad, pad, w - 2 * pad, h - 2 * pad)
        # Blocks see their neighbours only: taps must not reach further (radius_px caps them).
        if pad > TILE:
            return [(Draw.INTERIOR, inner),
                    (Draw.WHOLE, (0, 0, w, pad)), (Draw.WHOLE, (0, h - pad, w, pad)),
                    (Draw.WHOLE, (0, pad, pad, h - 2 * pad)),
                    (Draw.WHOLE, (w - pad, pad, pad, h - 2 * pad))]
        whole = (0, 0, w, h)
        return [(Draw.SMOOTH_BLOCKS, inner), (Draw.EDGE_BLOCKS, inner),
                (Draw.SMOOTH_BORDER, whole), (Draw.EDGE_BORDER, whole)]

    def _pass_for(self, radius: float, refine: bool, temporal: bool,
                  color_is_srgb: bool, raw: bool, draw: Draw) -> FullscreenPass:
        """The program for this tap radius, these steps and this part of the frame: the tap
        grid and the switches are compiled in (a SIMD rasteriser pays for both sides of a
        runtime branch, and constant offsets and weights fold away). A clip uses one radius,
        so a few programs."""
        key = (radius, refine, temporal, color_is_srgb, raw, draw)
        found = self._passes.get(key)
        if found is None:
            offsets = depthcond.tap_offsets(radius).astype(np.float64)
            dx, dy = np.meshgrid(offsets, offsets)  # row j, column i: tap k = j * TAPS + i
            restore = depthcond.restoration_weight(radius)
            weights = np.exp(-(dx * dx + dy * dy) / (2.0 * radius * radius)).ravel()
            defines = {**_defines(), "REFINE": refine, "TEMPORAL": temporal,
                       "COLOR_IS_SRGB": color_is_srgb, "RAW_DEPTH": raw,
                       "INTERIOR": draw in (Draw.INTERIOR, Draw.EDGE_BLOCKS, Draw.SMOOTH_BLOCKS),
                       "EDGES": draw not in (Draw.SMOOTH_BLOCKS, Draw.SMOOTH_BORDER),
                       "TILE": TILE, "BORDER": draw.border, "LIGHTS": restore > 0.0,
                       "PACKED": self.pack_taps and draw.sorted and not draw.border,
                       "WANT_EDGES": draw in (Draw.EDGE_BLOCKS, Draw.EDGE_BORDER),
                       "TAP_OFFSETS": _glsl_floats(offsets), "TAP_WEIGHTS": _glsl_floats(weights),
                       "RESTORE": restore > 0.0, "RESTORE_WEIGHT": float(np.float32(restore))}
            if draw.sorted:  # six vertices a rectangle, sorted by depth_tiles.vert
                bx, by = self._blocks
                rectangles = 2 * (bx + by) if draw.border else bx * by
                found = FullscreenPass(self._programs, "depth_refine.frag", defines,
                                       vert="depth_tiles.vert", vertices=6 * rectangles)
            else:
                found = FullscreenPass(self._programs, "depth_refine.frag", defines)
            self._passes[key] = found
        return found

    def read(self) -> npt.NDArray[np.float32]:
        """The conditioned inverse depth as HxW float32 (tests, click-to-focus)."""
        w, h = self.size
        with framebuffer_kept(self.ctx):
            data = self._fbos[self._current].read(components=2, dtype="f4", alignment=1)
        return np.frombuffer(data, np.float32).reshape(h, w, 2)[..., 0].copy()

    def release(self) -> None:
        for p in [*self._passes.values(), *self._packs.values()]:
            p.release()
        self._passes.clear()
        self._packs.clear()
        if self._packed is not None and self._packed_fbo is not None:
            self._packed_fbo.release()
            self._packed.release()
            self._packed = self._packed_fbo = None
        self._upsample.release()
        self._upsampled_fbo.release()
        self._upsampled.release()
        for step in [*self._first_ranges.values(), self._range_from_ranges]:
            step.release()
        self._first_ranges.clear()
        for objects in (self._range_fbos, self._range_targets):
            for obj in objects:
                obj.release()
        for fbo in self._fbos:
            fbo.release()
        for target in self._targets:
            target.release()
        self._fbos.clear()
        self._targets.clear()


def luma_grid_of_plane(
    luma_plane: npt.NDArray[np.integer], bits: int, rotation: int
) -> npt.NDArray[np.float64]:
    """Display luma (0..1) at the stabiliser's fit grid, from a decoded Y plane."""
    plane = np.rot90(luma_plane, k=rotation // 90) if rotation else luma_plane
    ys, xs = fit_grid(plane.shape[:2])
    return plane[np.ix_(ys, xs)].astype(np.float64) / float((1 << bits) - 1)


def luma_grid_of_rgb(rgb: npt.NDArray[np.generic]) -> npt.NDArray[np.float64]:
    """Luma (0..1) at the stabiliser's fit grid, from an HxWx3 plate as stored: integers
    normalised by their range, float light compressed by x / (1 + x) (HDR values stay ordered
    and distinct, which is all the stabiliser's change test needs)."""
    ys, xs = fit_grid(rgb.shape[:2])
    grid = rgb[np.ix_(ys, xs)].astype(np.float64)
    if is_integer_array(rgb):
        grid /= float(np.iinfo(rgb.dtype).max)
    else:
        grid = np.nan_to_num(np.maximum(grid, 0.0), posinf=1e6)
        grid = grid / (1.0 + grid)
    return grid @ np.array([0.2126, 0.7152, 0.0722])


class StreamConditioner:
    """Conditions the depth of consecutive clip frames: refinement, and for depth that changes
    from frame to frame, the stabiliser (reset on any jump in frame index).

    Args:
        ctx: the GL context.
        programs: the shader cache.
        size: the colour frame's (width, height).
        settings: which steps run.
        depth_kind: the depth convention (``DepthMapping.kind``): stabilisation is automatic for
            relative kinds.
        moving: whether the depth changes per frame (a video or sequence, not a still).
    """

    def __init__(self, ctx: moderngl.Context, programs: ProgramCache, size: tuple[int, int],
                 settings: DepthConditioning, depth_kind: str, moving: bool) -> None:
        self.pass_ = DepthConditioner(ctx, programs, size)
        self.settings = settings
        self.depth_kind = depth_kind
        self.moving = moving
        self.stabiliser = TemporalStabiliser()
        #: How fine this clip's depth really is (measured on its first frames; kept on seeks).
        self.detail = ShotDetail()
        self._last_index: int | None = None
        #: The drift correction applied to the last frame (a, b): for the HUD and tests.
        self.last_affine = (1.0, 0.0)

    @property
    def active(self) -> bool:
        """Whether any step runs (otherwise the raw depth goes to the renderer as it is)."""
        return self.settings.refine or self.stabilising

    @property
    def stabilising(self) -> bool:
        return self.settings.stabilise_for(self.depth_kind, self.moving)

    def set_settings(self, settings: DepthConditioning) -> None:
        if settings != self.settings:
            self.settings = settings
            self.reset()

    def reset(self) -> None:
        self.stabiliser.reset()
        self.pass_.reset()
        self._last_index = None

    def process(
        self,
        index: int,
        color: moderngl.Texture,
        depth_tex: moderngl.Texture,
        depth: npt.NDArray[np.float32],
        luma_grid: npt.NDArray[np.float64],
        *,
        color_is_srgb: bool,
    ) -> moderngl.Texture:
        """Condition frame ``index``; ``luma_grid`` is ``luma_grid_of_plane`` of its colour."""
        if self._last_index is None or index != self._last_index + 1:
            self.reset()
        self._last_index = index
        affine = (1.0, 0.0)
        if self.stabilising:
            ys, xs = fit_grid(depth.shape)
            affine = self.stabiliser.drift(luma_grid, depth[np.ix_(ys, xs)])
        self.last_affine = affine
        size = self.pass_.size
        detail = self.detail.update(depth, (size[1], size[0])) if self.settings.refine else 1.0
        return self.pass_.run(color, depth_tex, color_is_srgb=color_is_srgb,
                              refine=self.settings.refine, affine=affine,
                              temporal=self.stabilising, detail=detail)

    def release(self) -> None:
        self.pass_.release()
