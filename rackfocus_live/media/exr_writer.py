"""EXR sequence output for export: one scene-linear EXR per rendered frame, on a writer thread.

Same shape as ``media.writer.VideoWriter`` (open, put, finish, wait, abort, frames_written), so
``ExportJob`` drives either. Frames are numbered like their input frames (a plate starting at 1001
comes back as 1001, 1002, ...). Each frame is written under a hidden temporary name first; only a
complete export renames them all into place, so a crash or a cancel never leaves a half-written
sequence mixed with an older one (``keep_partial`` renames the finished frames of a cancelled run).
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from rackfocus_live.errors import InputError
from rackfocus_live.files import AtomicOutput, OutputLock, is_temporary_name
from rackfocus_live.media.exr import exr_image_data, write_exr_file
from rackfocus_live.media.sequence import printf_pattern

#: (colour HxWx3 float32 in the working space, metric depth HxW float32 or None)
ExrPayload = tuple[npt.NDArray[np.float32], npt.NDArray[np.float32] | None]


def exr_sequence_target(output: str | os.PathLike[str], inputs: list[Path]) -> Path:
    """The output pattern (``shot.%04d.exr`` or ``shot.####.exr``), checked: one frame field,
    an existing folder, not the pattern of an input. The one place export decides where an EXR
    sequence may go.

    Raises:
        InputError: one line naming the output and the problem.
    """
    pattern = Path(printf_pattern(output))
    try:
        pattern.name % 0
    except (TypeError, ValueError):
        raise InputError("an EXR sequence output needs one frame-number field, e.g. "
                         "out.%04d.exr or out.####.exr", output) from None
    if pattern.name.count("%") != 1:
        raise InputError("an EXR sequence output needs exactly one frame-number field", output)
    folder = pattern.parent if str(pattern.parent) else Path(".")
    if not folder.is_dir():
        raise InputError("output folder does not exist", folder)
    if is_temporary_name(pattern):
        raise InputError("is a name rackfocus-live uses for its own temporary files; "
                         "choose another output name", output)
    for src in inputs:
        if Path(printf_pattern(src)).resolve() == pattern.resolve():
            raise InputError("output would overwrite an input", output)
    return pattern


@dataclass(frozen=True)
class ExrSequenceConfig:
    """What to write: the pattern, colour out of the working space, half or full float."""

    pattern: Path
    to_output_space: Callable[[npt.NDArray[np.float32]], npt.NDArray[np.float32]]
    half: bool = True
    compression: str = "zip"
    keep_partial: bool = False
    queue_size: int = 4


class ExrSequenceWriter:
    """Writes EXR frames on a background thread; main-thread API as ``VideoWriter``'s."""

    def __init__(self, config: ExrSequenceConfig) -> None:
        self.config = config
        self.frames_written = 0
        self._queue: queue.Queue[tuple[ExrPayload, int] | None] = queue.Queue(config.queue_size)
        #: Frames written under their temporaries, renamed into place when all are done.
        self._written: list[AtomicOutput] = []
        #: One writer per sequence: the lock is on the pattern, held from open to the outcome.
        self._lock = OutputLock(config.pattern)
        self._error: InputError | None = None
        self._thread = threading.Thread(target=self._run, name="rackfocus-exr-writer",
                                        daemon=True)
        self._finished = False
        self._result: Path | None = None

    def open(self) -> ExrSequenceWriter:
        """Take the sequence's lock and start the writer thread.

        Raises:
            InputError: another process writes this sequence now.
        """
        self._lock.acquire()
        self._thread.start()
        return self

    def put(self, payload: ExrPayload, number: int, timeout: float | None = None) -> bool:
        """Queue frame ``number``; False when the queue stayed full for ``timeout`` seconds."""
        self._raise_if_failed()
        try:
            self._queue.put((payload, number), timeout=timeout)
        except queue.Full:
            return False
        return True

    def finish(self) -> None:
        """No more frames: write what is queued, then rename everything into place."""
        if not self._finished:
            self._finished = True
            self._queue.put(None)

    @property
    def error(self) -> InputError | None:
        return self._error

    def wait(self, timeout: float | None = None) -> Path | None:
        """The pattern once every frame is in place; None while still writing.

        Raises:
            InputError: a frame could not be written (temporaries removed).
        """
        self._thread.join(timeout)
        if self._thread.is_alive():
            return None
        self._raise_if_failed()
        if self._result is None:
            try:
                self._commit_all()
            finally:
                self._lock.release()
            self._result = self.config.pattern
        return self._result

    def abort(self) -> Path | None:
        """Stop; remove temporaries (or, with ``keep_partial``, rename the finished frames into
        place and return the pattern)."""
        self._finished = True
        while True:  # unblock the thread and drop what was not written
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._queue.put(None)
        self._thread.join()
        try:
            if self.config.keep_partial and self._written and self._error is None:
                self._commit_all()
                return self.config.pattern
            self._remove_temporaries()
            return None
        finally:
            self._lock.release()

    # -- writer thread -------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            (rgb, depth), number = item
            final = self.config.pattern.with_name(self.config.pattern.name % number)
            # A re-render replaces frames in place, without a .bak per frame.
            out = AtomicOutput(final, backup=False, lock=False, hold_open=False)
            try:
                out.open()
                header, channels = exr_image_data(
                    self.config.to_output_space(rgb), depth=depth, half=self.config.half,
                    compression=self.config.compression)
                write_exr_file(out.temp, header, channels)
            except InputError as exc:
                out.close()
                self._error = InputError(exc.problem, final)
                self._remove_temporaries()
                return
            self._written.append(out)
            self.frames_written += 1

    def _commit_all(self) -> None:
        for out in self._written:
            out.commit()
        self._written.clear()

    def _remove_temporaries(self) -> None:
        for out in self._written:
            out.close()
        self._written.clear()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error
