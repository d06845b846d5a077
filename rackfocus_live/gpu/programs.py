"""Shader programs from ``shaders/``: ``#include`` resolution, ``#define`` overrides, hot reload.

A program is built from files (``fullscreen.vert`` + ``coc.frag``). ``#include "x.glsl"`` is
resolved recursively (depth-limited, each file once) from ``shaders/include``. Defines given from
Python are inserted right after ``#version``, which is how quality presets set compile-time
sample counts. ``ProgramCache.reload_changed()`` rebuilds programs whose files changed and keeps
the last good program when the new source does not compile, reporting the failing lines.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import moderngl

MAX_INCLUDE_DEPTH = 8
_INCLUDE_RE = re.compile(r'^\s*#include\s+"([^"]+)"\s*$', re.MULTILINE)
_VERSION_RE = re.compile(r"^\s*#version[^\n]*\n", re.MULTILINE)


class ShaderError(RuntimeError):
    """A shader failed to load or compile; the message names the file and the failing lines."""


def shader_dir() -> Path:
    """The shaders folder: inside the installed package, or the repository's ``shaders/``."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "shaders", here.parent / "shaders"):
        if (candidate / "fullscreen.vert").is_file():
            return candidate
    raise ShaderError(f"shader folder not found next to {here}")


def preprocess(
    path: Path, defines: Mapping[str, object] | None = None, root: Path | None = None
) -> tuple[str, list[Path]]:
    """Source text with includes resolved and defines inserted; also the files it read."""
    root = root or path.parent
    used: list[Path] = []

    def expand(file: Path, depth: int) -> str:
        if depth > MAX_INCLUDE_DEPTH:
            raise ShaderError(f"{file}: #include nested deeper than {MAX_INCLUDE_DEPTH}")
        if file in used:
            return f"// (already included: {file.name})\n"
        if not file.is_file():
            raise ShaderError(f"{file}: shader file not found")
        used.append(file)
        text = file.read_text()

        def include(m: re.Match[str]) -> str:
            name = m.group(1)
            # The product's include folder comes last, so extra shader roots (benchmarks,
            # user shaders) can include the shared helpers.
            for base in (file.parent, root / "include", root, shader_dir() / "include"):
                if (base / name).is_file():
                    return expand((base / name).resolve(), depth + 1)
            raise ShaderError(f"{file}: #include \"{name}\" not found")

        return _INCLUDE_RE.sub(include, text)

    source = expand(path.resolve(), 0)
    version = _VERSION_RE.search(source)
    if version is None or source[: version.start()].strip():
        raise ShaderError(f"{path}: the first line must be #version")
    lines = "".join(f"#define {k} {_glsl_literal(v)}\n" for k, v in (defines or {}).items())
    # #line keeps compiler line numbers pointing at the original file after the inserted defines.
    source = source[: version.end()] + lines + "#line 2\n" + source[version.end() :]
    return source, used


def _glsl_literal(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(value) if "." in repr(value) or "e" in repr(value) else f"{value}.0"
    return str(value)


def _annotate(error: str, source: str, name: str) -> str:
    """Compiler log with the offending source lines attached (Mesa/NVIDIA 0:LINE(...) formats)."""
    src_lines = source.splitlines()
    out = [f"{name}: shader compile error"]
    for line in error.strip().splitlines():
        out.append("  " + line)
        m = re.search(r"\b0[:(](\d+)", line)
        if m:
            n = int(m.group(1))
            # The "#line 2" directive makes reported numbers file-relative; show that file line.
            for i, text in enumerate(src_lines):
                if text.startswith("#line 2"):
                    idx = i + n - 1
                    if 0 <= idx < len(src_lines):
                        out.append(f"    {n:4d} | {src_lines[idx]}")
                    break
    return "\n".join(out)


@dataclass
class _Entry:
    vert: str
    frag: str
    defines: dict[str, object]
    program: moderngl.Program
    files: list[Path]
    geom: str | None = None
    mtimes: dict[Path, float] = field(default_factory=dict)


class ProgramCache:
    """Builds and caches programs by (vertex file, fragment file, defines). Main thread only."""

    def __init__(self, ctx: moderngl.Context, root: Path | None = None) -> None:
        self.ctx = ctx
        self.root = root or shader_dir()
        self._entries: dict[tuple[str, str, tuple[tuple[str, str], ...], str | None], _Entry] = {}

    def _build(
        self, vert: str, frag: str, defines: Mapping[str, object], geom: str | None = None
    ) -> tuple[moderngl.Program, list[Path]]:
        vsrc, vfiles = preprocess(self._locate(vert), defines, self.root)
        fsrc, ffiles = preprocess(self._locate(frag), defines, self.root)
        gsrc, gfiles = (preprocess(self._locate(geom), defines, self.root) if geom
                        else (None, []))
        try:
            program = self.ctx.program(vertex_shader=vsrc, geometry_shader=gsrc,
                                       fragment_shader=fsrc)
        except Exception as exc:
            message = str(exc).lower()
            source = (fsrc if "fragment" in message
                      else gsrc if gsrc is not None and "geometry" in message else vsrc)
            names = " + ".join(n for n in (vert, geom, frag) if n)
            raise ShaderError(_annotate(str(exc), source, names)) from None
        return program, vfiles + gfiles + ffiles

    def _locate(self, name: str) -> Path:
        """A shader file in this cache's root, else in the product's shader folder."""
        own = self.root / name
        return own if own.is_file() else shader_dir() / name

    def get(
        self, vert: str, frag: str, defines: Mapping[str, object] | None = None,
        geom: str | None = None,
    ) -> moderngl.Program:
        key = (vert, frag, tuple(sorted((k, repr(v)) for k, v in (defines or {}).items())), geom)
        entry = self._entries.get(key)
        if entry is None:
            program, files = self._build(vert, frag, defines or {}, geom)
            entry = _Entry(vert, frag, dict(defines or {}), program, files, geom)
            entry.mtimes = {f: f.stat().st_mtime for f in files}
            self._entries[key] = entry
        return entry.program

    def reload_changed(self) -> list[str]:
        """Rebuild programs whose files changed on disk.

        Returns the error reports of programs that failed to compile; those keep their last good
        program (programs are swapped in place, so holders of the old object must call ``get``
        again: the renderer does this every frame).
        """
        errors: list[str] = []
        for entry in self._entries.values():
            try:
                changed = any(f.stat().st_mtime != t for f, t in entry.mtimes.items())
            except OSError:
                changed = True
            if not changed:
                continue
            try:
                program, files = self._build(entry.vert, entry.frag, entry.defines, entry.geom)
            except ShaderError as exc:
                errors.append(str(exc))
                entry.mtimes = {f: f.stat().st_mtime for f in entry.files if f.exists()}
                print(f"rackfocus-live: keeping the last good shader: {exc}", file=sys.stderr)
                continue
            entry.program.release()
            entry.program = program
            entry.files = files
            entry.mtimes = {f: f.stat().st_mtime for f in files}
        return errors

    def release(self) -> None:
        for entry in self._entries.values():
            entry.program.release()
        self._entries.clear()
