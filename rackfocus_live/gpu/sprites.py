"""Bokeh sprites: a quad per 2x2 block of half-res texels, drawn additively.

Used for bright isolated sources far out of focus (see ``sprite_detect.frag``), whose discs a
gather can only sample sparsely. One point is drawn per block; ``sprite.geom`` turns the points
of blocks with sprite light into quads and drops the rest, so the cost follows the number of
sprites and their area. Not instances of one quad: llvmpipe runs its vertex pipeline once per
instance, which cost a 1080p frame with no sprite at all 11 copies' time; and not six vertices
per block, each of which read the block's four texels again (3.5 copies at 1080p). One quad
serves a block's up to four sources (they cluster), so a pixel is shaded and blended once for
all four.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import moderngl

from rackfocus_live.gpu.programs import ProgramCache


class SpritePass:
    """Owns the sprite program's empty VAO; ``render`` adds the sprites of a half-res layer of
    ``half_size`` texels into ``target``."""

    def __init__(self, programs: ProgramCache, defines: Mapping[str, object]) -> None:
        self.programs = programs
        self.defines = dict(defines)
        self.program = self._program()
        self._vao = programs.ctx.vertex_array(self.program, [])

    def render(
        self,
        target: moderngl.Framebuffer,
        half_size: tuple[int, int],
        textures: Sequence[tuple[str, moderngl.Texture]],
        uniforms: Mapping[str, object],
    ) -> None:
        program = self._program()
        if program is not self.program:
            self._vao.release()
            self._vao = self.programs.ctx.vertex_array(program, [])
            self.program = program
        for unit, (name, texture) in enumerate(textures):
            texture.use(unit)
            _set_uniform(program, name, unit)
        for name, value in uniforms.items():
            _set_uniform(program, name, value)
        ctx = self.programs.ctx
        target.use()
        target.clear(0.0, 0.0, 0.0, 0.0)
        ctx.enable(moderngl.BLEND)
        ctx.blend_func = moderngl.ONE, moderngl.ONE
        try:
            blocks = ((half_size[0] + 1) // 2) * ((half_size[1] + 1) // 2)
            self._vao.render(moderngl.POINTS, vertices=blocks)
        finally:
            ctx.disable(moderngl.BLEND)
            ctx.blend_func = moderngl.SRC_ALPHA, moderngl.ONE_MINUS_SRC_ALPHA

    def _program(self) -> moderngl.Program:
        return self.programs.get("sprite_point.vert", "sprite.frag", self.defines,
                                 geom="sprite.geom")

    def release(self) -> None:
        self._vao.release()


def _set_uniform(program: moderngl.Program, name: str, value: object) -> None:
    """Set a uniform the program uses (the compiler drops unused ones)."""
    member = program.get(name, None)
    if isinstance(member, moderngl.Uniform):
        member.value = value
