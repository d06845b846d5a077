"""DofRenderer: physical thin-lens depth of field as a chain of full-screen GLSL passes.

Passes (see shaders/ for the details of each):

1. ``coc.frag``        full res    signed CoC diameter (px) from inverse depth and the lens, and
                                   the input in linear light beside it
2. ``tiles.frag``      1/16 res    largest near and far CoC radius per tile
3. ``tile_dilate.frag`` 1/16 res   spread those over the tiles they reach (scatter-as-gather)
4. ``downsample.frag`` half res    CoC-aware prefilter in linear light, highlight boost
   ``lit.frag``        full res    the same boost for the composite's slight-defocus gathers
   ``sprite_detect.frag`` half res  light of bright isolated far sources moves to sprites; the
                                   background hidden by thin sharp objects is filled in
5. ``gather_far.frag`` half res    far / in-focus layer with occlusion, hole fill for near pixels
6. ``gather_near.frag`` half res   near layer with coverage alpha
   ``sprite.geom/.frag`` full res   those sources drawn as exact aperture images (scatter)
   ``postfilter.frag``  half res    3x3 CoC-aware tent over both layers against sampling noise
7. ``composite.frag``  full res    sharp + slight full-res gather + far layer + sprites, near
                                   laid over

Sample counts per pixel follow the tile's largest reachable CoC (``sample_count`` in
sampling.glsl), capped by the quality preset, so in-focus regions cost almost nothing.
"""

from __future__ import annotations

import contextlib
import math

import moderngl
import numpy as np

from rackfocus_live.gpu.context import framebuffer_kept
from rackfocus_live.gpu.fullscreen import FullscreenPass
from rackfocus_live.gpu.programs import ProgramCache
from rackfocus_live.gpu.sprites import SpritePass
from rackfocus_live.lens import LensState
from rackfocus_live.lens_character import RIM_BINS, LensCharacter
from rackfocus_live.settings import HighlightBoost, QualityPreset, quality_preset

TILE_SIZE = 16
#: Full-res CoC radius (px) up to which the composite gathers at full resolution.
SLIGHT_END_PX = 4.0
#: The footprint table for the full-res gather: radii 0 .. FOOTPRINT_MAX px in 1/8 px steps.
FOOTPRINT_STEPS_PER_PX = 8
FOOTPRINT_MAX_PX = 5
#: Near CoC radius (half-res px) over which sources hand over from the full-res gather to the
#: near layer: the same band as the far hand-over, so each source is counted once.
NEAR_FADE = ((SLIGHT_END_PX - 1.0) / 2.0, SLIGHT_END_PX / 2.0)
#: Luma above which prefilter taps are down-weighted (fireflies of HDR input); above the boost.
FIREFLY_LUMA = 8.0
#: Widest thin sharp object (half-res texels) the far gather sees past (sprite_detect.frag).
SHARP_SPAN_TEXELS = 2
#: Bokeh sprites: sources whose CoC radius (full-res px) exceeds this, and whose light above
#: their surroundings (linear luma) ramps from START to FULL, are scattered, not gathered.
SPRITE_MIN_RADIUS_PX = 3.0
SPRITE_EXCESS = (0.8, 1.6)
#: Highlight boost: the ring (full-res px) around a clipped pixel that tells a small light from
#: a large over-exposed surface, and how much less a fully surrounded one is boosted.
HIGHLIGHT_RING_PX = 12.0
HIGHLIGHT_SIZE_DAMP = 0.8
#: Blur radius (full-res px) over which the slight-defocus gathers start re-expanding clipped
#: highlights (lit.frag): none within a source pixel (a light's own antialiased rim), in full
#: where the half-res layers, which re-expand them in full, start taking over.
BOOST_SPREAD = (1.0, SLIGHT_END_PX - 1.0)
#: Display level from which an unclipped pixel near a clipped one counts as the light's glow.
HUE_GLOW_START = 0.6
#: A small light's antialiased rim: how far (px) out from a clipped block to look for the first
#: unclipped pixel, and how much further the background beside it lies.
HUE_FRINGE = (4, 1)
#: A clipped light of a recovered hue is scaled until its weakest channel reaches the clip
#: level, by at most 1 / HUE_MIN_CHANNEL (docs/benchmarks.md: the least energy a light that
#: clipped to white can have, bounded for hues read too saturated).
HUE_MIN_CHANNEL = 0.8
#: One-pixel near-field dilation of the CoC (coc.frag): a pixel whose neighbour is nearer by
#: more than GAP px of CoC diameter, and blurred by more than MIN px, takes the neighbour's CoC.
NEAR_DILATE = (4.0, 2.0)
#: Post-filter of the half-res layers: blur radius (half-res px) over which it fades in.
POSTFILTER = (1.5, 4.0)
#: The firefly threshold for scene-linear plates: effectively none (half float tops out at 65504).
NO_FIREFLY_LUMA = 1.0e30


def _display_to_linear(level: float) -> float:
    """The sRGB EOTF (IEC 61966-2-1) of a display level in 0..1, as the shaders decode."""
    return level / 12.92 if level <= 0.04045 else ((level + 0.055) / 1.055) ** 2.4


def _defines(preset: QualityPreset) -> dict[str, object]:
    return {
        "MAX_SAMPLES": preset.max_samples,
        "MIN_SAMPLES": 8,
        "SAMPLE_DENSITY": float(preset.density),
        "SLIGHT_END": SLIGHT_END_PX,
        # CoC diameter below which a pixel is entirely the full-res gather's (no far layer).
        "SHARP_COC": 2.0 * (SLIGHT_END_PX - 1.0),
        "SHARP_SPAN": SHARP_SPAN_TEXELS,
        "FOOTPRINT_STEPS": FOOTPRINT_STEPS_PER_PX,
        "FOOTPRINT_SIZE": FOOTPRINT_STEPS_PER_PX * FOOTPRINT_MAX_PX + 1,
        "NEAR_FADE_START": NEAR_FADE[0],
        "NEAR_FADE_END": NEAR_FADE[1],
        "JITTER": 1.0,
        "RIM_BINS": RIM_BINS,
        "SPRITE_MIN_RADIUS": SPRITE_MIN_RADIUS_PX,
        "SPRITE_EXCESS_START": SPRITE_EXCESS[0],
        "SPRITE_EXCESS_FULL": SPRITE_EXCESS[1],
        "HIGHLIGHT_RING": HIGHLIGHT_RING_PX,
        "HIGHLIGHT_SIZE_DAMP": HIGHLIGHT_SIZE_DAMP,
        "BOOST_SPREAD_START": BOOST_SPREAD[0],
        "BOOST_SPREAD_FULL": BOOST_SPREAD[1],
        "HUE_GLOW_START": HUE_GLOW_START,
        "FRINGE_REACH": HUE_FRINGE[0],
        "FRINGE_BACK": float(HUE_FRINGE[1]),
        "HUE_MIN_CHANNEL": HUE_MIN_CHANNEL,
        "NEAR_DILATE_MIN": NEAR_DILATE[0],
        "NEAR_DILATE_GAP": NEAR_DILATE[1],
        "POSTFILTER_START": POSTFILTER[0],
        "POSTFILTER_FULL": POSTFILTER[1],
        "POSTFILTER_STRENGTH": float(preset.postfilter),
        "POSTFILTER_ON": int(preset.postfilter > 0.0),
        "CENTRE_WEIGHTED": int(preset.centre_weighted),
    }


class DofRenderer:
    """Renders depth of field for one frame size. Main thread only; call ``release()`` when done.

    Args:
        ctx: the GL context (a window's or a standalone EGL one).
        programs: the shader cache (shared with other passes; hot reload goes through it).
        size: output (width, height) in pixels; the colour input must have this size.
        quality: a name from ``settings.QUALITY_PRESETS``.
        timer_query: time the passes with a GL timer query (``last_gpu_ms``). Timer queries do
            not nest, so a caller that times the renderer itself turns this off.
        linear_output: write scene-linear light to an RGBA32F output (no display curve, no
            clamp: values above 1.0 survive to read-back) instead of display-encoded RGBA8.
    """

    def __init__(
        self,
        ctx: moderngl.Context,
        programs: ProgramCache,
        size: tuple[int, int],
        quality: str = "default",
        *,
        timer_query: bool = True,
        linear_output: bool = False,
    ) -> None:
        self.ctx = ctx
        self.programs = programs
        self.size = (int(size[0]), int(size[1]))
        self.quality = quality
        self.linear_output = linear_output
        self._defines: dict[str, object] = {}
        self._variants: dict[tuple[tuple[str, int], ...],
                             tuple[dict[str, FullscreenPass], SpritePass]] = {}
        self._passes: dict[str, FullscreenPass] = {}
        self._sprites: SpritePass | None = None
        self._textures: list[moderngl.Texture] = []
        self._framebuffers: list[moderngl.Framebuffer] = []
        self._queries = [ctx.query(time=True), ctx.query(time=True)] if timer_query else []
        self._frame = 0
        self._footprint_key: tuple[int, float, float] | None = None
        self._footprint_table: tuple[float, ...] = ()
        self._rim_table: tuple[float, ...] = ()
        self._build_passes()
        self._allocate()

    # -- set-up -------------------------------------------------------------------------------

    def _build_passes(self) -> None:
        """Drop the programs of every aperture variant; ``_use_variant`` builds them on use."""
        self._release_passes()
        self._defines = _defines(quality_preset(self.quality))

    def _use_variant(self, variant: dict[str, int]) -> None:
        """Make the passes compiled for this aperture variant (see ``aperture_variant``) current,
        building them the first time it is used."""
        key = tuple(sorted(variant.items()))
        found = self._variants.get(key)
        if found is None:
            defines = {**self._defines, **variant}
            passes = {
                name: FullscreenPass(self.programs, f"{name}.frag", defines)
                for name in ("coc", "tiles", "tile_dilate", "downsample", "lit", "sprite_detect",
                             "gather_far", "gather_near", "postfilter", "composite")
            }
            found = self._variants[key] = (passes, SpritePass(self.programs, defines))
        self._passes, self._sprites = found

    def _release_passes(self) -> None:
        for passes, sprites in self._variants.values():
            for p in passes.values():
                p.release()
            sprites.release()
        self._variants.clear()
        self._passes = {}
        self._sprites = None

    def _texture(
        self, size: tuple[int, int], components: int, dtype: str, *, linear: bool = False
    ) -> moderngl.Texture:
        tex = self.ctx.texture(size, components, dtype=dtype)
        tex.repeat_x = tex.repeat_y = False
        flt = moderngl.LINEAR if linear else moderngl.NEAREST
        tex.filter = (flt, flt)
        self._textures.append(tex)
        return tex

    def _fbo(self, *textures: moderngl.Texture) -> moderngl.Framebuffer:
        fbo = self.ctx.framebuffer(color_attachments=list(textures))
        self._framebuffers.append(fbo)
        return fbo

    def _allocate(self) -> None:
        self._free_targets()
        w, h = self.size
        half = (max(1, (w + 1) // 2), max(1, (h + 1) // 2))
        tiles = (max(1, math.ceil(w / TILE_SIZE)), max(1, math.ceil(h / TILE_SIZE)))
        self.coc = self._texture((w, h), 1, "f2")
        self.full = self._texture((w, h), 4, "f2")
        self.tiles = self._texture(tiles, 3, "f2")
        self.tiles_dilated = self._texture(tiles, 3, "f2")
        self.half_raw = self._texture(half, 4, "f2")
        self.centroid = self._texture(half, 2, "f2")
        self.boost = self._texture(half, 1, "f2")
        self.half = self._texture(half, 4, "f2", linear=True)
        self.sprite_src = self._texture(half, 4, "f2")
        self.sprite_layer = self._texture((w, h), 4, "f2")
        self.lit = self._texture((w, h), 4, "f2")
        self.far = self._texture(half, 4, "f2", linear=True)
        self.near = self._texture(half, 4, "f2", linear=True)
        self.far_raw = self._texture(half, 4, "f2")
        self.near_raw = self._texture(half, 4, "f2")
        self.output = self._texture((w, h), 4, "f4" if self.linear_output else "f1", linear=True)
        self._coc_fbo = self._fbo(self.coc, self.full)
        self._tiles_fbo = self._fbo(self.tiles)
        self._dilate_fbo = self._fbo(self.tiles_dilated)
        self._half_fbo = self._fbo(self.half_raw, self.centroid, self.boost)
        self._detect_fbo = self._fbo(self.half, self.sprite_src)
        self._sprite_fbo = self._fbo(self.sprite_layer)
        self._lit_fbo = self._fbo(self.lit)
        self._far_raw_fbo = self._fbo(self.far_raw)
        self._near_raw_fbo = self._fbo(self.near_raw)
        self._far_fbo = self._fbo(self.far)
        self._near_fbo = self._fbo(self.near)
        self.output_fbo = self._fbo(self.output)

    def _free_targets(self) -> None:
        for fbo in self._framebuffers:
            fbo.release()
        for tex in self._textures:
            tex.release()
        self._framebuffers.clear()
        self._textures.clear()

    def resize(self, size: tuple[int, int]) -> None:
        if (int(size[0]), int(size[1])) != self.size:
            self.size = (int(size[0]), int(size[1]))
            self._allocate()

    def set_quality(self, name: str) -> None:
        quality_preset(name)  # validate before touching GL
        if name != self.quality:
            self.quality = name
            self._build_passes()

    # -- rendering ----------------------------------------------------------------------------

    @property
    def last_gpu_ms(self) -> float | None:
        """GPU time of the previous frame's passes (timer query), or None before two frames."""
        if self._frame < 2 or not self._queries:
            return None
        elapsed = self._queries[(self._frame - 1) % 2].elapsed
        return elapsed / 1e6 if elapsed else None

    def render(
        self,
        color: moderngl.Texture,
        inv_depth: moderngl.Texture,
        lens: LensState,
        *,
        color_is_srgb: bool,
        highlight: HighlightBoost | None = None,
        scene_linear: bool = False,
        character: LensCharacter | None = None,
        source_scale: float = 1.0,
    ) -> moderngl.Texture:
        """Render one frame; returns ``self.output`` (RGBA8 display-encoded sRGB, or RGBA32F
        linear light with ``linear_output``).

        Args:
            color: full-res colour, display-encoded (RGBA8, ``color_is_srgb=True``) or
                linear light (float, ``color_is_srgb=False``). Row 0 is the first image row.
            inv_depth: inverse depth in 1/m (R32F), any resolution; it is resampled bilinearly
                (in inverse depth) when its size differs from the output.
            lens: optics and focus.
            highlight: clipped-highlight re-expansion for LDR input (8/16-bit, video: also when
                the upload has converted it to linear light).
            scene_linear: the input carries true scene light (float plates, HDR): no highlight
                boost and no firefly down-weighting, so every light keeps exactly its energy.
            character: cat-eye, axial chromatic aberration, custom aperture (None: none). They
                shape blur beyond the full-res gather's radius (SLIGHT_END_PX).
            source_scale: the source's pixels per rendered pixel (2 for the preview's half-size
                picture of a moving shot): the highlight boost of slight defocus starts from a
                blur of about a source pixel (BOOST_SPREAD), whose antialiased rims it is
                about, so a reduced picture's lights keep the full picture's energy.
        """
        if color.size != self.size:
            raise ValueError(f"colour is {color.size}, renderer is {self.size}")
        highlight = highlight or HighlightBoost()
        if scene_linear:
            highlight = HighlightBoost(threshold=highlight.threshold, gain=0.0)
        w = self.size[0]
        self._use_variant(aperture_variant(lens, character))
        flt = moderngl.NEAREST if inv_depth.size == self.size else moderngl.LINEAR
        inv_depth.filter = (flt, flt)
        inv_depth.repeat_x = inv_depth.repeat_y = False
        color.repeat_x = color.repeat_y = False
        aperture = {
            "u_blades": int(lens.blades),
            "u_blade_rotation": math.radians(lens.blade_rotation_deg),
            "u_squeeze": float(lens.squeeze),
            **_character_uniforms(character or LensCharacter(), self.size),
        }
        max_coc = lens.max_coc_px(w)
        reach = max(1, math.ceil(0.5 * max_coc * max(1.0, lens.squeeze) / TILE_SIZE))
        footprint = self._footprint(lens)  # also refreshes self._rim_table
        query = self._queries[self._frame % 2] if self._queries else contextlib.nullcontext()
        self._frame += 1
        p = self._passes
        # Leave the caller's framebuffer bound (a window's screen, an export target): moderngl
        # rebinds "the current" framebuffer later, which must not be one of ours once released.
        with framebuffer_kept(self.ctx), query:
            p["coc"].render(self._coc_fbo, [("u_inv_depth", inv_depth), ("u_color", color)], {
                "u_color_is_srgb": color_is_srgb,
                "u_coc_scale": lens.coc_scale_px(w),
                "u_inv_focus": 1.0 / lens.focus_m,
                "u_max_coc": max_coc,
            })
            p["tiles"].render(self._tiles_fbo, [("u_coc", self.coc)], {"u_tile": TILE_SIZE})
            p["tile_dilate"].render(self._dilate_fbo, [("u_tiles", self.tiles)], {
                "u_tile": TILE_SIZE, "u_reach": reach, "u_squeeze": float(lens.squeeze),
            })
            # Scene-linear input carries its lights' true energy: no re-expansion.
            gain = 0.0 if scene_linear else highlight.gain
            p["downsample"].render(self._half_fbo, [("u_full", self.full)], {
                "u_highlight_threshold": highlight.threshold,
                "u_highlight_gain": gain,
                "u_firefly_luma": NO_FIREFLY_LUMA if scene_linear else FIREFLY_LUMA,
            })
            # With no gain the full-res gathers spread the input as it is: no pass to copy it.
            lit = self.full
            if gain > 0.0:
                p["lit"].render(self._lit_fbo, [("u_full", self.full), ("u_boost", self.boost)], {
                    "u_highlight_threshold": highlight.threshold,
                    "u_highlight_floor": _display_to_linear(highlight.threshold),
                    "u_source_scale": float(source_scale),
                })
                lit = self.lit
            p["sprite_detect"].render(self._detect_fbo, [("u_half", self.half_raw)])
            sprites = self._sprites
            assert sprites is not None
            sprites.render(self._sprite_fbo, self.half.size, [
                ("u_sprites", self.sprite_src), ("u_centroid", self.centroid),
                ("u_coc", self.coc),
            ], {"u_size": (float(self.size[0]), float(self.size[1])), **aperture})
            gather_inputs = [("u_half", self.half), ("u_tiles", self.tiles_dilated)]
            # Near first: the far gather skips its hole fill where the near layer is opaque.
            p["gather_near"].render(self._near_raw_fbo, gather_inputs,
                                    {"u_tile": TILE_SIZE, **aperture})
            p["gather_far"].render(self._far_raw_fbo, [*gather_inputs, ("u_near", self.near_raw)],
                                   {"u_tile": TILE_SIZE, **aperture})
            for layer, fbo, near in ((self.far_raw, self._far_fbo, False),
                                     (self.near_raw, self._near_fbo, True)):
                p["postfilter"].render(fbo, [("u_layer", layer), *gather_inputs],
                                       {"u_tile": TILE_SIZE, "u_near": near})
            p["composite"].render(self.output_fbo, [
                ("u_full", self.full), ("u_half", self.half),
                ("u_far", self.far), ("u_near", self.near), ("u_tiles", self.tiles_dilated),
                ("u_sprites", self.sprite_layer), ("u_lit", lit),
            ], {"u_footprint": footprint, "u_rim_radius": self._rim_table,
                "u_output_linear": self.linear_output,
                "u_tile": TILE_SIZE, **aperture})
        return self.output

    def _footprint(self, lens: LensState) -> tuple[float, ...]:
        """The aperture's discrete footprint per radius (see ``LensState.discrete_footprint``),
        cached per aperture shape with the rim radius table (``discrete_rim_radius``): they
        change only with blades, rotation and squeeze."""
        key = (lens.blades, lens.blade_rotation_deg, lens.squeeze)
        if self._footprint_key != key:
            steps = FOOTPRINT_STEPS_PER_PX * FOOTPRINT_MAX_PX + 1
            radii = np.arange(steps) / FOOTPRINT_STEPS_PER_PX
            self._footprint_table = tuple(float(v) for v in lens.discrete_footprint(radii))
            self._rim_table = tuple(float(v) for v in lens.discrete_rim_radius(radii))
            self._footprint_key = key
        return self._footprint_table

    def read_output(self) -> bytes:
        """The output as tightly packed RGB bytes, row 0 first (for stills, export, tests): uint8
        display-encoded, or float32 linear light with ``linear_output``."""
        with framebuffer_kept(self.ctx):
            return self.output_fbo.read(components=3, alignment=1,
                                        dtype="f4" if self.linear_output else "f1")

    def release(self) -> None:
        self._release_passes()
        self._free_targets()
        # moderngl Query objects have no release(); dropping them lets ctx.gc() free them.
        self._queries.clear()


def aperture_variant(lens: LensState, character: LensCharacter | None) -> dict[str, int]:
    """The compile-time aperture switches of aperture.glsl for this lens: a software rasteriser
    runs the code behind a uniform branch even where no pixel takes it, so each variant in use
    gets its own programs rather than one that tests the uniforms per sample."""
    character = character or LensCharacter()
    return {
        "POLYGON_APERTURE": int(lens.blades >= 3),
        "RIM_IMAGE": int(character.aperture_rim is not None),
        "CAT_EYE": int(character.cat_eye > 0.0),
        "AXIAL_CA": int(character.axial_ca_px != 0.0),
    }


def _character_uniforms(character: LensCharacter, size: tuple[int, int]) -> dict[str, object]:
    """aperture.glsl's lens-character uniforms."""
    w, h = size
    rim = character.aperture_rim
    ca = character.axial_ca_px
    return {
        "u_cat_eye": float(character.cat_eye),
        "u_frame_centre": (w / 2.0, h / 2.0),
        "u_frame_radius": math.hypot(w / 2.0, h / 2.0),
        "u_rim_bins": 0 if rim is None else RIM_BINS,
        "u_rim": tuple(rim) if rim is not None else (1.0,) * RIM_BINS,
        "u_rim_area": character.rim_area(),
        "u_axial_ca": (ca, 0.0, -ca),
    }
