"""Shared fixtures: one standalone EGL context for the run, strict numpy, seeded randomness."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

#: Folders of the repository a test may read but never write into (the bundled demo: a sidecar
#: or backup left there would ship in the next commit).
_READ_ONLY_FOLDERS = [Path(__file__).resolve().parent.parent / "assets"]


@pytest.fixture(autouse=True)
def _repository_untouched() -> Iterator[None]:
    before = [set(f.iterdir()) for f in _READ_ONLY_FOLDERS]
    yield
    for folder, was in zip(_READ_ONLY_FOLDERS, before, strict=True):
        made = sorted(p.name for p in set(folder.iterdir()) - was)
        assert not made, f"the test wrote into {folder}: {made}"


@pytest.fixture(autouse=True)
def _strict_numpy() -> Iterator[None]:
    old = np.seterr(all="raise")
    yield
    np.seterr(**old)


@pytest.fixture(autouse=True)
def _gl_marked_tests_need_gl(request: pytest.FixtureRequest) -> None:
    """A test marked ``gl`` gets the session's GL context made (skipped, with the reason, where
    no GL exists at all), also when it only runs commands that make their own."""
    if request.node.get_closest_marker("gl") is not None:
        request.getfixturevalue("_session_ctx")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def _session_ctx():  # type: ignore[no-untyped-def]
    from rackfocus_live.gpu.context import GLUnavailableError, create_headless_context

    try:
        ctx = create_headless_context()
    except GLUnavailableError as exc:
        pytest.skip(f"no OpenGL available at all: {exc}")
    from tests.cli_helpers import SESSION_CONTEXT

    SESSION_CONTEXT[:] = [ctx]
    yield ctx
    SESSION_CONTEXT.clear()
    ctx.release()


@pytest.fixture
def ctx(_session_ctx):  # type: ignore[no-untyped-def]
    """The shared GL context, made current; fails a test that leaves a GL error behind.

    Commands run in-process (render, export) create and release their own context, which leaves
    none current: without re-entering, this context's calls would go nowhere or elsewhere.
    """
    _session_ctx.__enter__()
    assert _session_ctx.error == "GL_NO_ERROR"
    from rackfocus_live.gpu.context import collect_garbage

    yield _session_ctx
    collect_garbage(_session_ctx)
    assert _session_ctx.error == "GL_NO_ERROR"


@pytest.fixture
def programs(ctx):  # type: ignore[no-untyped-def]
    from rackfocus_live.gpu.programs import ProgramCache

    cache = ProgramCache(ctx)
    yield cache
    cache.release()
