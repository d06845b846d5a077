"""Shader loading: includes, defines, clear errors, hot reload keeping the last good program."""

from __future__ import annotations

import os
import time
from pathlib import Path

import moderngl
import numpy as np
import pytest

from rackfocus_live.gpu.fullscreen import FullscreenPass
from rackfocus_live.gpu.programs import ProgramCache, ShaderError, preprocess, shader_dir

VERT = (shader_dir() / "fullscreen.vert").read_text()


def _tree(tmp_path: Path, frag: str) -> Path:
    (tmp_path / "include").mkdir()
    (tmp_path / "fullscreen.vert").write_text(VERT)
    (tmp_path / "include" / "value.glsl").write_text("float value() { return VALUE; }\n")
    (tmp_path / "solid.frag").write_text(frag)
    return tmp_path


SOLID = """#version 330 core
#include "value.glsl"
out vec4 f_color;
void main() { f_color = vec4(value(), 0.0, 0.0, 1.0); }
"""


def test_includes_resolve_and_defines_follow_the_version_line(tmp_path: Path) -> None:
    root = _tree(tmp_path, SOLID)
    source, files = preprocess(root / "solid.frag", {"VALUE": 0.5}, root)
    lines = source.splitlines()
    assert lines[0] == "#version 330 core"
    assert lines[1] == "#define VALUE 0.5"
    assert "float value()" in source and "#include" not in source
    assert {f.name for f in files} == {"solid.frag", "value.glsl"}


def test_missing_version_and_missing_include_are_clear_errors(tmp_path: Path) -> None:
    root = _tree(tmp_path, "void main() {}\n")
    with pytest.raises(ShaderError, match="first line must be #version"):
        preprocess(root / "solid.frag", {}, root)
    (root / "solid.frag").write_text('#version 330 core\n#include "nope.glsl"\n')
    with pytest.raises(ShaderError, match=r'"nope\.glsl" not found'):
        preprocess(root / "solid.frag", {}, root)


def test_recursive_include_is_cut_off(tmp_path: Path) -> None:
    root = _tree(tmp_path, '#version 330 core\n#include "a.glsl"\n')
    (root / "include" / "a.glsl").write_text('#include "a.glsl"\n')
    source, _ = preprocess(root / "solid.frag", {}, root)
    assert source.count("already included") == 1


def _draw(ctx, cache: ProgramCache, defines: dict) -> float:  # type: ignore[no-untyped-def]
    tex = ctx.texture((4, 4), 4)
    fbo = ctx.framebuffer(color_attachments=[tex])
    fs = FullscreenPass(cache, "solid.frag", defines)
    try:
        fs.render(fbo)
        return float(np.frombuffer(fbo.read(components=4), np.uint8)[0]) / 255.0
    finally:
        fs.release()
        fbo.release()
        tex.release()
        from rackfocus_live.gpu.context import restore_framebuffer

        restore_framebuffer(ctx, None)


def test_compile_error_names_the_line_and_reload_keeps_the_last_good_program(
    ctx, tmp_path: Path
) -> None:
    root = _tree(tmp_path, SOLID)
    cache = ProgramCache(ctx, root)
    try:
        assert _draw(ctx, cache, {"VALUE": 1.0}) == pytest.approx(1.0, abs=1 / 255)
        # Break the shader on disk: reload reports it and keeps drawing with the old program.
        broken = SOLID.replace("vec4(value(), 0.0, 0.0, 1.0)", "vec4(value(), oops, 0.0, 1.0)")
        (root / "solid.frag").write_text(broken)
        _bump_mtime(root / "solid.frag")
        errors = cache.reload_changed()
        assert len(errors) == 1 and "oops" in errors[0] and "solid.frag" in errors[0]
        assert _draw(ctx, cache, {"VALUE": 1.0}) == pytest.approx(1.0, abs=1 / 255)
        # Fix it with a visible change: the new program takes over.
        (root / "solid.frag").write_text(SOLID.replace("value(), 0.0", "value() * 0.5, 0.0"))
        _bump_mtime(root / "solid.frag")
        assert cache.reload_changed() == []
        assert _draw(ctx, cache, {"VALUE": 1.0}) == pytest.approx(0.5, abs=1 / 255)
        # A fresh build of broken source raises with the file and the offending line.
        (root / "solid.frag").write_text(broken)
        with pytest.raises(ShaderError, match="oops"):
            cache.get("fullscreen.vert", "solid.frag", {"VALUE": 2.0})
    finally:
        cache.release()


def _bump_mtime(path: Path) -> None:
    t = time.time() + 5
    os.utime(path, (t, t))


def test_every_shipped_shader_compiles(ctx, programs) -> None:
    from rackfocus_live.gpu.dof import DofRenderer

    dof = DofRenderer(ctx, programs, (32, 24), "draft")
    dof.release()
    assert ctx.error == "GL_NO_ERROR"


POINT_VERT = "#version 330 core\nvoid main() { gl_Position = vec4(0.0, 0.0, 0.0, 1.0); }\n"
QUAD_GEOM = """#version 330 core
layout(points) in;
layout(triangle_strip, max_vertices = 4) out;
void main() {
    for (int c = 0; c < 4; ++c) {
        gl_Position = vec4(float(c & 1) * 2.0 - 1.0, float(c >> 1) * 2.0 - 1.0, 0.0, SCALE);
        EmitVertex();
    }
    EndPrimitive();
}
"""


def test_a_geometry_stage_builds_reports_its_errors_and_reloads(ctx, tmp_path: Path) -> None:
    root = _tree(tmp_path, SOLID)
    (root / "point.vert").write_text(POINT_VERT)
    (root / "quad.geom").write_text(QUAD_GEOM)
    cache = ProgramCache(ctx, root)
    tex = ctx.texture((4, 4), 4)
    fbo = ctx.framebuffer(color_attachments=[tex])

    def coverage() -> float:
        """Share of the target the quad covers: SCALE = 2 shrinks it to the middle quarter."""
        program = cache.get("point.vert", "solid.frag", {"VALUE": 1.0, "SCALE": 1.0},
                            geom="quad.geom")
        vao = ctx.vertex_array(program, [])
        fbo.use()
        fbo.clear()
        vao.render(moderngl.POINTS, vertices=1)
        vao.release()
        red = np.frombuffer(fbo.read(components=4), np.uint8).reshape(4, 4, 4)[..., 0]
        return float((red > 127).mean())

    try:
        assert coverage() == 1.0
        broken = QUAD_GEOM.replace("EmitVertex();", "EmitVertex(oops);")
        (root / "quad.geom").write_text(broken)
        _bump_mtime(root / "quad.geom")
        errors = cache.reload_changed()
        assert len(errors) == 1 and "quad.geom" in errors[0] and "oops" in errors[0]
        assert coverage() == 1.0  # the last good program keeps drawing
        (root / "quad.geom").write_text(QUAD_GEOM.replace("0.0, SCALE)", "0.0, SCALE * 2.0)"))
        _bump_mtime(root / "quad.geom")
        assert cache.reload_changed() == []
        assert coverage() == 0.25
    finally:
        fbo.release()
        tex.release()
        cache.release()
        from rackfocus_live.gpu.context import restore_framebuffer

        restore_framebuffer(ctx, None)
