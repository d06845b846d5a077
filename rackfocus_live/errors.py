"""User-facing errors: one clear line naming the file and the problem."""

from __future__ import annotations

import os


class InputError(Exception):
    """Bad user input (a file, a flag value). The CLI prints it as one line and exits with 2.

    Args:
        problem: what is wrong, phrased for the user ("no video stream", "f-stop must be > 0").
        path: the file the problem is about, if any; it leads the message.
    """

    def __init__(self, problem: str, path: str | os.PathLike[str] | None = None) -> None:
        self.problem = problem
        self.path = None if path is None else os.fspath(path)
        super().__init__(f"{self.path}: {problem}" if self.path else problem)
