"""OpenColorIO transforms on the GPU: display views of the working space, and input spaces into
the working space.

OCIO writes a transform as GLSL (``GpuShaderDesc``): a function ``OCIOTransform(vec4)`` and, for
transforms with look-up tables (the ACES 2.0 output transforms), the tables' values. A pass
compiles that function under ``fullscreen.vert`` with a small ``main`` around it, makes the tables
2D float textures (moderngl has no 1D ones; OCIO is told not to use them) or 3D textures, and
draws one texel per pixel into a target. Main thread only; ``release()`` when done. Results match
OCIO's CPU processors (``colour.to_display``, ``colour.convert``; checked in the tests).

* ``OcioViewPass``: working-space light to a display view, clamped to 0..1 (RGBA8 targets).
* ``OcioInputPass``: a plate's input space (ACEScg, log, sRGB code values) to working-space light,
  unclamped but held to half float's range with NaN zeroed (RGBA16F targets).
"""

from __future__ import annotations

import moderngl
import numpy as np
import PyOpenColorIO as ocio  # noqa: N813 (the name OCIO documents)

from rackfocus_live.colour import WORKING_SPACE, check_view, config
from rackfocus_live.gpu.context import framebuffer_kept
from rackfocus_live.gpu.programs import preprocess, shader_dir

_FUNCTION = "OCIOTransform"
_VIEW_MAIN = """
uniform sampler2D u_source;
out vec4 f_color;

void main() {
    vec4 c = texelFetch(u_source, ivec2(gl_FragCoord.xy), 0);
    f_color = vec4(clamp(OCIOTransform(vec4(c.rgb, 1.0)).rgb, 0.0, 1.0), 1.0);
}
"""
# Input transforms keep light above 1.0; only what half float cannot hold, and NaN, are fixed.
_INPUT_MAIN = """
uniform sampler2D u_source;
out vec4 f_color;

void main() {
    vec3 c = OCIOTransform(vec4(texelFetch(u_source, ivec2(gl_FragCoord.xy), 0).rgb, 1.0)).rgb;
    c = mix(c, vec3(0.0), bvec3(isnan(c.r), isnan(c.g), isnan(c.b)));
    f_color = vec4(clamp(c, -65504.0, 65504.0), 1.0);
}
"""


class OcioPass:
    """One OCIO processor as a full-screen pass (see the module docstring)."""

    def __init__(self, ctx: moderngl.Context, processor: ocio.Processor, main: str) -> None:
        self.ctx = ctx
        desc = ocio.GpuShaderDesc.CreateShaderDesc(
            language=ocio.GPU_LANGUAGE_GLSL_4_0, functionName=_FUNCTION,
            resourcePrefix="ocio_")
        desc.setAllowTexture1D(False)
        processor.getDefaultGPUProcessor().extractGpuShaderInfo(desc)
        vert, _ = preprocess(shader_dir() / "fullscreen.vert")
        frag = "#version 330 core\n" + desc.getShaderText() + main
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

    def render(self, source: moderngl.Texture, target: moderngl.Framebuffer) -> None:
        """``source`` (same size as ``target``) through the transform into ``target``; the
        caller's framebuffer binding is left as found."""
        with framebuffer_kept(self.ctx):
            units = [("u_source", source), *self._luts]
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


class OcioViewPass(OcioPass):
    """Working-space light through ``display``/``view``, clamped to 0..1.

    Raises:
        InputError: unknown display or view (from ``colour.check_view``).
    """

    def __init__(self, ctx: moderngl.Context, display: str, view: str) -> None:
        self.display, self.view = check_view(display, view)
        processor = config().getProcessor(WORKING_SPACE, self.display, self.view,
                                          ocio.TRANSFORM_DIR_FORWARD)
        super().__init__(ctx, processor, _VIEW_MAIN)


class OcioInputPass(OcioPass):
    """Colour in ``space`` (a config name; code values 0..1 for integer sources) into the
    working space, unclamped."""

    def __init__(self, ctx: moderngl.Context, space: str) -> None:
        self.space = space
        super().__init__(ctx, config().getProcessor(space, WORKING_SPACE), _INPUT_MAIN)
