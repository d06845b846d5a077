"""The depth video (FFV1 ``gray16le`` in Matroska) and its JSON sidecar.

Frames go to a unique temp file beside the output; ``finish`` writes the trailer and renames it
(an existing output is kept as NAME.bak), ``abort`` closes and deletes it, so a failure or a
cancel never leaves a partial file. Frame ``i`` is stamped with the clip's own timestamp of frame
``i`` (Matroska stores milliseconds, so a timestamp is within 0.5 ms of the clip's).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import queue
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from rackfocus_live.errors import InputError
from rackfocus_live.files import AtomicOutput, atomic_write
from rackfocus_live.media.writer import write_error

SIDECAR_FORMAT = "rackfocus-live depth sidecar"
SIDECAR_VERSION = 1


def depth_write_error(exc: BaseException, path: Path) -> InputError:
    """One line for a failed depth write: a full disk by name, else as the export says it."""
    if isinstance(exc, InputError):
        return exc
    if getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT):
        return InputError("disk full while writing the depth video (no space left on device)",
                          path)
    return write_error(exc, path)


class DepthVideoWriter:
    """Writes 16-bit disparity frames. Belongs to one thread (PyAV objects are not shared).

    Args:
        output: the final file.
        size: (width, height) of the depth frames.
        fps: the clip's frame rate.
        time_base: the clip's time base (timestamps are given in it).

    Attributes:
        frames_written: frames encoded so far.
        temp: the file being written.
    """

    def __init__(self, output: Path, size: tuple[int, int], fps: Fraction,
                 time_base: Fraction) -> None:
        self.output = output
        self.size = size
        self.frames_written = 0
        self._file = AtomicOutput(output).open()  # locked, unique temporary name beside it
        self.temp = self._file.temp
        try:
            self._container = av.open(os.fspath(self.temp), mode="w", format="matroska")
            rate = fps if fps.denominator != 1 else int(fps)
            self._stream = self._container.add_stream("ffv1", rate=rate)
            self._stream.width, self._stream.height = size
            self._stream.pix_fmt = "gray16le"
            self._stream.codec_context.time_base = time_base
            # Level 3 with per-slice CRCs: multi-threaded and self-checking, as the export's FFV1.
            self._stream.codec_context.options = {"level": "3", "slicecrc": "1"}
            self._time_base = time_base
        except BaseException as exc:
            self._discard()
            raise depth_write_error(exc, output) from None

    def write(self, samples: npt.NDArray[np.uint16], pts: int) -> None:
        """One frame (HxW uint16, 65535 = nearest) shown at ``pts`` (clip time base)."""
        if samples.shape != (self.size[1], self.size[0]) or samples.dtype != np.uint16:
            raise ValueError(f"expected {self.size[1]}x{self.size[0]} uint16, got "
                             f"{samples.shape} {samples.dtype}")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(samples), format="gray16le")
        frame.pts = pts
        frame.time_base = self._time_base
        try:
            self._container.mux(self._stream.encode(frame))
        except BaseException as exc:
            self.abort()
            raise depth_write_error(exc, self.output) from None
        self.frames_written += 1

    def finish(self) -> None:
        """Flush, write the trailer, rename into place."""
        try:
            self._container.mux(self._stream.encode(None))
            self._container.close()
            self._file.commit()
            self._file.close()
        except BaseException as exc:
            self._discard()
            raise depth_write_error(exc, self.output) from None

    def abort(self) -> None:
        """Close and delete the temp file. Idempotent."""
        self._discard()

    def _discard(self) -> None:
        container = getattr(self, "_container", None)
        if container is not None:
            with contextlib.suppress(Exception):
                container.close()
        self._file.close()  # removes the temporary file unless it was committed


_POLL_S = 0.05


class DepthEncoderThread:
    """A :class:`DepthVideoWriter` on its own thread, fed through a bounded queue, so encoding
    overlaps the model (FFV1 at 1080p costs a few hundred ms a frame on a CPU core).

    The PyAV objects are created, used and closed on the encoder thread only. Use from one
    thread: ``start`` (raises what opening failed with), ``put`` each frame, then ``finish``
    (raises an encoding failure) or ``abort`` (deletes the temp file; idempotent).
    """

    def __init__(self, output: Path, size: tuple[int, int], fps: Fraction, time_base: Fraction,
                 name: str, queue_size: int = 4) -> None:
        self._args = (output, size, fps, time_base)
        # (samples, pts) per frame; None = finish.
        self._queue: queue.Queue[tuple[npt.NDArray[np.uint16], int] | None] = queue.Queue(
            queue_size)
        self._abort = threading.Event()
        self._opened = threading.Event()
        self.error: BaseException | None = None
        self.frames_written = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> DepthEncoderThread:
        self._thread.start()
        self._opened.wait()
        if self.error is not None:
            self._thread.join()
            raise self.error
        return self

    def put(self, samples: npt.NDArray[np.uint16], pts: int) -> None:
        while True:
            if self.error is not None:
                raise self.error
            try:
                self._queue.put((samples, pts), timeout=_POLL_S)
                return
            except queue.Full:
                continue

    def finish(self) -> None:
        """Encode what is queued, write the trailer, rename into place; raise on failure."""
        while self._thread.is_alive():
            try:
                self._queue.put(None, timeout=_POLL_S)
                break
            except queue.Full:
                continue
        self._thread.join()
        if self.error is not None:
            raise self.error

    def abort(self) -> None:
        self._abort.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            writer = DepthVideoWriter(*self._args)
        except BaseException as exc:
            self.error = exc
            self._opened.set()
            return
        self._opened.set()
        try:
            while not self._abort.is_set():
                try:
                    item = self._queue.get(timeout=_POLL_S)
                except queue.Empty:
                    continue
                if item is None:
                    writer.finish()
                    return
                writer.write(*item)
                self.frames_written = writer.frames_written
            writer.abort()
        except BaseException as exc:
            writer.abort()
            self.error = depth_write_error(exc, self._args[0])


@dataclass(frozen=True, slots=True)
class SidecarInfo:
    """What the sidecar records besides the clip (see :func:`write_sidecar`)."""

    model: str
    licence: str
    model_sha256: str | None
    model_source: str | None
    providers: list[str]
    input_size: tuple[int, int]
    postprocess: str
    disparity_low: float
    disparity_high: float
    margin: float
    near_hint_m: float
    far_hint_m: float


def sidecar_document(video: Path, clip: Path, frame_count: int, fps: Fraction,
                     size: tuple[int, int], info: SidecarInfo) -> dict[str, object]:
    return {
        "format": SIDECAR_FORMAT,
        "version": SIDECAR_VERSION,
        "depth": video.name,
        "clip": clip.name,
        "frame_count": frame_count,
        "fps": [fps.numerator, fps.denominator],
        "width": size[0],
        "height": size[1],
        "depth_mapping": {
            "kind": "disparity",
            "near": info.near_hint_m,
            "far": info.far_hint_m,
            "note": ("relative inverse depth from a monocular model, 65535 = nearest; its metric "
                     "scale is unknown, so near/far are hints: adjust --near/--far to the scene"),
        },
        "quantisation": {
            "model_units_at": {"margin_low": info.disparity_low,
                               "margin_high": info.disparity_high},
            "margin": info.margin,
            "note": ("the first frame's 0.5..99.5 percentile range of the post-processed "
                     "disparity is mapped to [margin, 1 - margin] of the 16-bit range"),
        },
        "model": {
            "name": info.model,
            "licence": info.licence,
            "sha256": info.model_sha256,
            "source": info.model_source,
            "providers": info.providers,
            "input_size": list(info.input_size),
        },
        "postprocess": info.postprocess,
        "command": (f"rackfocus-live {clip.name} --depth {video.name} --depth-kind disparity "
                    f"--near {info.near_hint_m:g} --far {info.far_hint_m:g}"),
    }


def write_sidecar(path: Path, document: dict[str, object]) -> None:
    """Atomic write (temp, fsync, rename; the previous sidecar kept as .bak)."""
    try:
        atomic_write(path, (json.dumps(document, indent=2) + "\n").encode("utf-8"))
    except OSError as exc:
        raise depth_write_error(exc, path) from None
