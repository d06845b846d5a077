"""The ONNX model through onnxruntime (needs the ``depth`` extra).

Interface checked when the model loads: an input ``pixel_values`` (float32, rank 4, [N, 3, H, W])
and an output ``predicted_depth`` ([N, H, W], or [N, 1, H, W]), which is Depth Anything V2's
ONNX form. Fixed dimensions in the model are honoured: a fixed batch of 1 runs frames one at a
time; a fixed H and W are used instead of the card's aspect-keeping size.

Execution providers: ``auto`` takes those of CUDA, DirectML and CoreML that
this onnxruntime build has, then CPU; a named one must be available.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from rackfocus_live.errors import InputError

INPUT_NAME = "pixel_values"
OUTPUT_NAME = "predicted_depth"

#: ``--provider`` choices and the onnxruntime provider each means.
PROVIDERS = {
    "cuda": "CUDAExecutionProvider",
    "directml": "DmlExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
    "cpu": "CPUExecutionProvider",
}
_AUTO_ORDER = ("cuda", "directml", "coreml", "cpu")


def choose_providers(choice: str = "auto",
                     available: list[str] | None = None) -> list[str]:
    """onnxruntime providers for ``--provider``: ``auto`` or a key of :data:`PROVIDERS`."""
    have = ort.get_available_providers() if available is None else available
    if choice == "auto":
        return [PROVIDERS[k] for k in _AUTO_ORDER if PROVIDERS[k] in have]
    if choice not in PROVIDERS:
        raise InputError(f"unknown provider '{choice}' (one of: auto, {', '.join(PROVIDERS)})")
    if PROVIDERS[choice] not in have:
        usable = ", ".join(k for k in _AUTO_ORDER if PROVIDERS[k] in have)
        raise InputError(f"provider '{choice}' is not in this onnxruntime build (available: "
                         f"{usable})")
    return [PROVIDERS[choice]] + ([] if choice == "cpu" else [PROVIDERS["cpu"]])


class ModelTerminatedError(Exception):
    """A run stopped by :meth:`DepthModel.terminate` (a cancel, not a failure)."""


@dataclass(frozen=True, slots=True)
class ModelShape:
    """What the model fixes: batch size and input (H, W), None where dynamic."""

    batch: int | None
    size: tuple[int, int] | None


class DepthModel:
    """An ONNX depth model ready to run; :meth:`infer` may be called from a worker thread.

    Args:
        path: the ONNX file.
        providers: onnxruntime execution providers, in order of preference.
        threads: intra-op threads (0: onnxruntime's default, all cores).
    """

    def __init__(self, path: str | os.PathLike[str], providers: list[str],
                 threads: int = 0) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.log_severity_level = 3  # errors only: provider fallbacks are not the user's
        try:
            self._session = ort.InferenceSession(os.fspath(path), options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own exception types for bad files
            raise InputError(f"cannot load the depth model ({_first_line(exc)})", path) from None
        self.path = path
        self.providers = self._session.get_providers()
        self.shape = _check_interface(self._session, path)
        # Shared by every run: setting its terminate flag stops a run in progress from another
        # thread, so a cancel does not wait for a whole batch (seconds per frame on a CPU).
        self._run_options = ort.RunOptions()

    def terminate(self) -> None:
        """Stop the run in progress (it raises) and every later one. Any thread."""
        self._run_options.terminate = True

    @property
    def terminated(self) -> bool:
        return bool(self._run_options.terminate)

    def infer(self, pixel_values: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Relative disparity [N, h, w] for ``pixel_values`` [N, 3, h, w]."""
        try:
            (out,) = self._session.run([OUTPUT_NAME], {INPUT_NAME: pixel_values},
                                       self._run_options)
        except Exception as exc:
            if self.terminated:
                raise ModelTerminatedError from None
            raise InputError(f"the depth model failed on a {pixel_values.shape} input "
                             f"({_first_line(exc)})", self.path) from None
        depth = np.asarray(out, dtype=np.float32)
        if depth.ndim == 4 and depth.shape[1] == 1:
            depth = depth[:, 0]
        if depth.ndim != 3 or depth.shape[0] != pixel_values.shape[0]:
            raise InputError(f"'{OUTPUT_NAME}' has shape {depth.shape}, expected "
                             f"[{pixel_values.shape[0]}, H, W]", self.path)
        return depth


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def _dim(value: object) -> int | None:
    return value if isinstance(value, int) and value > 0 else None


def _check_interface(session: ort.InferenceSession,
                     path: str | os.PathLike[str]) -> ModelShape:
    inputs = {i.name: i for i in session.get_inputs()}
    outputs = {o.name for o in session.get_outputs()}
    if INPUT_NAME not in inputs or OUTPUT_NAME not in outputs:
        raise InputError(
            f"not a depth model of the expected interface: needs input '{INPUT_NAME}' and output "
            f"'{OUTPUT_NAME}' (has inputs {sorted(inputs)}, outputs {sorted(outputs)})", path)
    spec = inputs[INPUT_NAME]
    if spec.type != "tensor(float)" or len(spec.shape) != 4 or _dim(spec.shape[1]) not in (3, None):
        raise InputError(f"input '{INPUT_NAME}' must be float32 [N, 3, H, W], the model has "
                         f"{spec.type} {spec.shape}", path)
    batch = _dim(spec.shape[0])
    height, width = _dim(spec.shape[2]), _dim(spec.shape[3])
    size = (height, width) if height is not None and width is not None else None
    return ModelShape(batch=batch, size=size)
