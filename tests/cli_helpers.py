"""Running the CLI in-process from GL tests.

A command makes (and releases) its own standalone GL context, which leaves no valid context
current: the session's context (``conftest._session_ctx``, registered here while it lives) is
made current again after each run, for the GL work of the test that follows.
"""

from __future__ import annotations

from typing import Any

from rackfocus_live.cli import main

#: The test session's GL context while it exists (set by conftest's ``_session_ctx``).
SESSION_CONTEXT: list[Any] = []


def run_cli(*args: object) -> int:
    """``rackfocus-live ARGS...`` in this process; returns its exit code."""
    try:
        return main([str(a) for a in args])
    finally:
        for ctx in SESSION_CONTEXT:
            ctx.__enter__()
