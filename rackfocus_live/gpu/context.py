"""GL contexts: a standalone headless EGL context for render/export/tests, or a window's."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import moderngl

from rackfocus_live.errors import InputError

#: OpenGL 3.3 core is enough for every pass (no compute shaders, so Mesa llvmpipe and macOS work).
REQUIRED_GL_VERSION = 330


#: Largest frame, in pixels, the renderer takes (8K DCI is 35.4 MP): the DOF keeps several
#: full-resolution float targets, so a 16000x16000 still would need ~8 GB before failing.
MAX_FRAME_PIXELS = 40_000_000


class GLUnavailableError(RuntimeError):
    """No OpenGL context could be created (no EGL driver, no display)."""


def create_headless_context() -> moderngl.Context:
    """A standalone EGL context (GPU driver or Mesa llvmpipe), falling back to the platform default.

    Raises:
        GLUnavailableError: one line saying what was tried and what to install.
    """
    errors: list[str] = []
    # create_context's options, of mixed types; Any also passes moderngl's stub, which types
    # each keyword as a dict (``**settings: Dict[str, Any]``).
    attempts: tuple[dict[str, Any], ...] = ({"backend": "egl"}, {})
    for kwargs in attempts:
        try:
            ctx = moderngl.create_standalone_context(require=REQUIRED_GL_VERSION, **kwargs)
        except Exception as exc:  # moderngl raises plain Exception for missing drivers
            errors.append(f"{kwargs.get('backend', 'default')}: {str(exc).splitlines()[0]}")
            continue
        configure(ctx)
        return ctx
    raise GLUnavailableError(
        "no OpenGL 3.3 context (" + "; ".join(errors) + "); install Mesa EGL: "
        "apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri"
    )


def configure(ctx: moderngl.Context) -> None:
    """Settings every context we use shares."""
    # GL objects must die on the GL thread: collect them explicitly with ctx.gc() each frame.
    ctx.gc_mode = "context_gc"


def collect_garbage(ctx: moderngl.Context) -> int:
    """Free GL objects that Python dropped without ``release()``; call on the GL thread.

    moderngl 5.13 also queues objects that *were* released (as ``InvalidObject`` handles, which
    have no ``release``) when they are garbage-collected, which makes a bare ``ctx.gc()`` raise;
    those are skipped here.
    """
    pending = ctx.objects
    live = [obj for obj in pending if hasattr(obj, "release")]
    pending.clear()
    pending.extend(live)
    return ctx.gc()


def restore_framebuffer(ctx: moderngl.Context, previous: moderngl.Framebuffer | None) -> None:
    """Bind ``previous`` again, or the default framebuffer (0) when there was none.

    moderngl re-binds "the current framebuffer" internally when it creates framebuffers, so a
    pass chain must not leave one of its own bound: once released, that name is dead and the next
    framebuffer creation fails with GL_INVALID_OPERATION. Standalone contexts start with none.
    """
    alive = previous is not None and hasattr(previous.mglo, "use")
    (previous if alive else ctx.detect_framebuffer(0)).use()  # type: ignore[union-attr]


@contextlib.contextmanager
def framebuffer_kept(ctx: moderngl.Context) -> Iterator[None]:
    """Run GL work that binds framebuffers of its own, then leave the caller's bound again
    (see ``restore_framebuffer``)."""
    previous = ctx.fbo
    try:
        yield
    finally:
        restore_framebuffer(ctx, previous)


#: Renderer names of software rasterisers: their "GPU" work runs on the same CPU cores.
SOFTWARE_RENDERERS = ("llvmpipe", "softpipe", "swrast", "lavapipe")


def software_renderer(ctx: moderngl.Context) -> bool:
    """Whether ``ctx`` renders on the CPU (Mesa llvmpipe and kin)."""
    renderer = ctx.info.get("GL_RENDERER", "").lower()
    return any(name in renderer for name in SOFTWARE_RENDERERS)


def interleave_chroma_for(ctx: moderngl.Context) -> bool:
    """Whether decoders feeding ``ctx`` should interleave chroma (``reader.frame_planes``).

    On a software rasteriser the second bilinear chroma read of the conversion costs about 3 ms
    of a 1080p frame on the cores that also decode, against 0.25 ms for the interleave on the
    decoder thread; on a GPU the read is free and the interleave would only cost the decoder.
    """
    return software_renderer(ctx)


def describe(ctx: moderngl.Context) -> str:
    info = ctx.info
    return f"{info.get('GL_RENDERER', '?')} / {info.get('GL_VERSION', '?')}"


def frame_side_limit(ctx: moderngl.Context) -> int:
    """Longest frame side this context can render: its texture, renderbuffer and viewport
    limits (every full-resolution pass renders into a texture of the frame's size)."""
    info = ctx.info
    limits = [int(info.get("GL_MAX_TEXTURE_SIZE", 4096)),
              int(info.get("GL_MAX_RENDERBUFFER_SIZE", 4096))]
    viewport = info.get("GL_MAX_VIEWPORT_DIMS")
    if isinstance(viewport, (tuple, list)) and viewport:
        limits.append(int(min(viewport)))
    return min(limits)


def check_frame_size(ctx: moderngl.Context, size: tuple[int, int],
                     path: str | os.PathLike[str] | None = None) -> None:
    """Refuse, before any work, a frame this GPU cannot render.

    Raises:
        InputError: one line naming the file, its size and the limit.
    """
    w, h = size
    side = frame_side_limit(ctx)
    if w > side or h > side:
        raise InputError(f"frames are {w}x{h}; this GPU renders at most {side} pixels per side",
                         path)
    if w * h > MAX_FRAME_PIXELS:
        raise InputError(f"frames are {w}x{h} ({w * h / 1e6:.0f} megapixels); at most "
                         f"{MAX_FRAME_PIXELS / 1e6:.0f} megapixels are supported", path)
