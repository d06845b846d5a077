"""An OpenColorIO display view on the GPU: scene-linear working-space light to a display.

OCIO writes the view as GLSL (``GpuShaderDesc``): a function ``OCIODisplay(vec4)`` and, for views
with look-up tables (the ACES 2.0 output transforms), the tables' values. This pass compiles that
function under ``fullscreen.vert`` with a small ``main`` around it, makes the tables 2D float
textures (moderngl has no 1D ones; OCIO is told not to use them) or 3D textures, and draws the
view of a linear RGBA texture into an RGBA8 target. Main thread only; ``release()`` when done.
The result matches ``colour.to_display`` on the CPU (checked in the tests).
"""

from __future__ import annotations

import moderngl
import numpy as np
import PyOpenColorIO as ocio  # noqa: N813 (the name OCIO documents)

from rackfocus_live.colour import WORKING_SPACE, check_view, config
from rackfocus_live.gpu.context import framebuffer_kept
from rackfocus_live.gpu.programs import preprocess, shader_dir

_FUNCTION = "OCIODisplay"
_MAIN = """
uniform sampler2D u_linear;
out vec4 f_color;

void main() {
    vec4 c = texelFetch(u_linear, ivec2(gl_FragCoord.xy), 0);
    f_color = vec4(clamp(OCIODisplay(vec4(c.rgb, 1.0)).rgb, 0.0, 1.0), 1.0);
}
"""


class OcioViewPass:
    """Draws ``display``/``view`` of a linear working-space texture into an RGBA8 framebuffer.

    Raises:
        InputError: unknown display or view (from ``colour.check_view``).
    """

    def __init__(self, ctx: moderngl.Context, display: str, view: str) -> None:
        self.ctx = ctx
        self.display, self.view = check_view(display, view)
        processor = config().getProcessor(WORKING_SPACE, self.display, self.view,
                                          ocio.TRANSFORM_DIR_FORWARD)
        desc = ocio.GpuShaderDesc.CreateShaderDesc(
            language=ocio.GPU_LANGUAGE_GLSL_4_0, functionName=_FUNCTION,
            resourcePrefix="ocio_")
        desc.setAllowTexture1D(False)
        processor.getDefaultGPUProcessor().extractGpuShaderInfo(desc)
        vert, _ = preprocess(shader_dir() / "fullscreen.vert")
        frag = "#version 330 core\n" + desc.getShaderText() + _MAIN
        self.program = ctx.program(vertex_shader=vert, fragment_shader=frag)
        self._vao = ctx.vertex_array(self.program, [])
        self._luts: list[tuple[str, moderngl.Texture | moderngl.Texture3D]] = []
        for t in desc.getTextures():
            comps = 1 if t.channel == ocio.GpuShaderDesc.TEXTURE_RED_CHANNEL else 3
            values = np.ascontiguousarray(t.getValues(), np.float32)
            tex = ctx.texture((t.width, t.height), comps, values.tobytes(), dtype="f4")
            self._setup_lut(tex, t.interpolation)
            self._luts.append((t.samplerName, tex))
        for t in desc.get3DTextures():
            values = np.ascontiguousarray(t.getValues(), np.float32)
            n = t.edgeLen
            tex3 = ctx.texture3d((n, n, n), 3, values.tobytes(), dtype="f4")
            self._setup_lut(tex3, t.interpolation)
            self._luts.append((t.samplerName, tex3))

    @staticmethod
    def _setup_lut(tex: moderngl.Texture | moderngl.Texture3D, interpolation: object) -> None:
        flt = moderngl.NEAREST if interpolation == ocio.INTERP_NEAREST else moderngl.LINEAR
        tex.filter = (flt, flt)
        tex.repeat_x = tex.repeat_y = False
        if isinstance(tex, moderngl.Texture3D):
            tex.repeat_z = False

    def render(self, linear: moderngl.Texture, target: moderngl.Framebuffer) -> None:
        """The view of ``linear`` (working-space light, same size as ``target``) into
        ``target``; the caller's framebuffer binding is left as found."""
        with framebuffer_kept(self.ctx):
            units = [("u_linear", linear), *self._luts]
            for unit, (name, tex) in enumerate(units):
                tex.use(unit)
                uniform = self.program.get(name, None)
                if isinstance(uniform, moderngl.Uniform):
                    uniform.value = unit
            target.use()
            self._vao.render(moderngl.TRIANGLES, vertices=3)

    def release(self) -> None:
        for _, tex in self._luts:
            tex.release()
        self._luts.clear()
        self._vao.release()
        self.program.release()
