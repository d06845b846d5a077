"""A full-screen pass: one program drawn as a single triangle into a framebuffer (or, with another
vertex shader, any primitive made from ``gl_VertexID`` alone)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import moderngl

from rackfocus_live.gpu.programs import ProgramCache


class FullscreenPass:
    """Owns an empty VAO and draws ``fullscreen.vert`` + ``frag`` with the given defines.

    The program is looked up in the cache on every ``render`` so a hot-reloaded shader takes
    effect on the next frame. ``vert``, ``vertices`` and ``mode`` draw something else than the
    covering triangle (the viewer's image quad: ``viewer.vert``, 4, ``TRIANGLE_STRIP``).
    """

    def __init__(
        self, programs: ProgramCache, frag: str, defines: Mapping[str, object] | None = None,
        *, vert: str = "fullscreen.vert", vertices: int = 3, mode: int = moderngl.TRIANGLES,
    ) -> None:
        self.programs = programs
        self.frag = frag
        self.vert = vert
        self.vertices = vertices
        self.mode = mode
        self.defines = dict(defines or {})
        self.program = programs.get(vert, frag, self.defines)
        # One VAO per program: moderngl binds the program to the VAO at creation.
        self._vao = programs.ctx.vertex_array(self.program, [])
        self._vao_program = self.program

    def render(
        self,
        target: moderngl.Framebuffer,
        textures: Sequence[tuple[str, moderngl.Texture]] = (),
        uniforms: Mapping[str, object] | None = None,
    ) -> None:
        program = self.programs.get(self.vert, self.frag, self.defines)
        if program is not self._vao_program:
            self._vao.release()
            self._vao = self.programs.ctx.vertex_array(program, [])
            self._vao_program = program
        self.program = program
        for unit, (name, texture) in enumerate(textures):
            texture.use(unit)
            if name in program:
                _uniform(program, name).value = unit
        for name, value in (uniforms or {}).items():
            if name in program:
                _uniform(program, name).value = value
        target.use()
        self._vao.render(self.mode, vertices=self.vertices)

    def release(self) -> None:
        self._vao.release()


def _uniform(program: moderngl.Program, name: str) -> moderngl.Uniform:
    """The program's uniform ``name``: a program member may also be an attribute, a varying or
    a uniform block, none of which a pass sets (our shaders have no blocks).

    Raises:
        TypeError: ``name`` is a member of the program other than a uniform.
    """
    member = program[name]
    if not isinstance(member, moderngl.Uniform):
        raise TypeError(f"'{name}' is a {type(member).__name__} of the program, not a uniform")
    return member
