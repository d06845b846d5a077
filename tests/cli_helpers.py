"""Running the CLI from tests: in-process (``run_cli``), and as a process interrupted with
Ctrl-C mid-write (``interrupt_while_writing``).

A command run in-process makes (and releases) its own standalone GL context, which leaves no
valid context current: the session's context (``conftest._session_ctx``, registered here while
it lives) is made current again after each run, for the GL work of the test that follows.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rackfocus_live.cli import main
from tests import media_factory as mf

ROOT = Path(__file__).resolve().parent.parent

#: The test session's GL context while it exists (set by conftest's ``_session_ctx``).
SESSION_CONTEXT: list[Any] = []


def run_cli(*args: object) -> int:
    """``rackfocus-live ARGS...`` in this process; returns its exit code."""
    try:
        return main([str(a) for a in args])
    finally:
        for ctx in SESSION_CONTEXT:
            ctx.__enter__()


def interrupt_while_writing(argv: Sequence[str], folder: Path, what: str) -> tuple[int, str]:
    """Run ``python ARGV...`` from the project root, send it SIGINT (Ctrl-C) once a temporary
    output has appeared in ``folder`` and a few frames are in; returns its exit code and stderr.
    ``what`` names the command in the message if it never starts writing."""
    proc = subprocess.Popen(
        [sys.executable, *argv], cwd=ROOT, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        deadline = time.monotonic() + 60
        while not mf.leftovers(folder):
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, f"{what} did not start"
            time.sleep(0.02)
        time.sleep(0.3)  # a few frames in
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, err
