"""Make depth from the app: "Make depth..." when the open clip has none, the job running in the
background with progress and cancel, then the result opened as the clip's depth.

``DepthMakerController`` is plain Python (no window): ``start(clip)`` resolves the model (a first
use downloads it, on a background thread) and runs ``depthgen.pipeline.DepthJob`` on its own
threads; the app calls ``update()`` once per UI frame, which returns the made depth once, for the
app to open with the disparity convention. Every problem (no depth extra, offline, a bad model, a
full disk) ends as a one-line ``message``, never an exception. ``draw_depth_maker`` is the thin
ImGui layer over it. The pipeline is imported only after the extra was found to be installed:
the app runs without it.
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imgui_bundle import imgui

from rackfocus_live.depth import DEFAULT_FAR_M, DEFAULT_NEAR_M, DepthMapping
from rackfocus_live.depthgen.deps import require_depth_extra
from rackfocus_live.depthgen.models import DEFAULT_MODEL, resolve_model
from rackfocus_live.depthgen.outputs import depth_output_paths
from rackfocus_live.errors import InputError

_RED = imgui.ImVec4(1.0, 0.45, 0.4, 1.0)
_DIM = imgui.ImVec4(0.7, 0.7, 0.7, 1.0)
#: Labels the tests find the widgets by.
MAKE_LABEL = "Make depth..."
CANCEL_LABEL = "Cancel depth"


@dataclass(frozen=True, slots=True)
class MadeDepth:
    """A finished depth video and the mapping to open it with."""

    video: Path
    mapping: DepthMapping


class DepthMakerController:
    """One depth job at a time for the app; see the module docstring.

    Attributes:
        model: ``--model`` as typed in the panel (a name or an .onnx path).
        message: the last problem or outcome (one line), or None.
        stage: what the job is doing, for the panel.
        done, total: frames made and to make (0, 0 before the job runs).
        button_rect: (x0, y0, x1, y1) of the section's button as last drawn, in window units
            (what a test clicks through ImGui's mouse input), None when none was drawn.
    """

    def __init__(self) -> None:
        self.model = DEFAULT_MODEL
        self.message: str | None = None
        self.stage = ""
        self.done = 0
        self.total = 0
        self._job: Any = None  # depthgen.pipeline.DepthJob (imported with the extra)
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._error: InputError | None = None
        self.button_rect: tuple[float, float, float, float] | None = None

    @property
    def busy(self) -> bool:
        return self._thread is not None

    def start(self, clip: Path) -> bool:
        """Start making depth for ``clip`` beside it (``CLIP_depth.mkv``). False with a message
        when it cannot start."""
        if self.busy:
            self.message = "depth is already being made"
            return False
        try:
            require_depth_extra()
            outputs = depth_output_paths(clip, None)
        except InputError as exc:
            self.message = str(exc)
            return False
        self.message = None
        self._error = None
        self._cancel.clear()
        self.stage, self.done, self.total = "preparing model", 0, 0
        self._thread = threading.Thread(target=self._prepare, args=(clip, outputs, self.model),
                                        name="rackfocus-depthgen-prepare", daemon=True)
        self._thread.start()
        return True

    def cancel(self) -> None:
        """Stop the job; it deletes its temp file. The panel shows "cancelled" once it has."""
        self._cancel.set()
        with self._lock:
            if self._job is not None:
                self._job.cancel()

    def update(self) -> MadeDepth | None:
        """Once per UI frame: progress, and the made depth once when the job has finished."""
        thread = self._thread
        if thread is None:
            return None
        alive = thread.is_alive()  # read before the job: a finished thread has set it for good
        job = self._job
        if job is not None:
            self.stage, self.done, self.total = job.stage, job.done, job.total
        if alive or (job is not None and not job.wait(0)):
            return None
        # Both the preparing thread and the job have ended.
        thread.join()
        self._thread = None
        with self._lock:
            self._job = None
        if self._error is not None:
            self.message = str(self._error)
            return None
        if job is None or job.error is not None:
            self.message = str(job.error) if job is not None else "depth making was cancelled"
            return None
        if job.result is None:
            self.message = "depth making was cancelled; nothing was written"
            return None
        result = job.result
        self.message = (f"made {result.outputs.video.name}: {result.frames} frames, "
                        f"{result.fps:.2f} fps (relative depth: set near/far to the scene)")
        return MadeDepth(result.outputs.video,
                         DepthMapping(kind="disparity", near=DEFAULT_NEAR_M, far=DEFAULT_FAR_M))

    def close(self) -> None:
        """Cancel and join (the window is closing). Idempotent."""
        self.cancel()
        thread = self._thread
        if thread is not None:
            thread.join()
        job = self._job
        if job is not None:
            job.wait()
        self._thread = None
        self._job = None

    def _prepare(self, clip: Path, outputs: Any, model_spec: str) -> None:
        try:
            # The pipeline needs the depth extra, checked in start(): imported here, not at the
            # top (a broken install still ends as a message).
            pipeline = importlib.import_module("rackfocus_live.depthgen.pipeline")
            runtime = importlib.import_module("rackfocus_live.depthgen.runtime")
            model = resolve_model(model_spec.strip() or None, progress=self._download_progress)
            if self._cancel.is_set():
                return
            config = pipeline.DepthJobConfig(
                clip=clip, outputs=outputs, model=model,
                providers=tuple(runtime.choose_providers("auto")))
            job = pipeline.DepthJob(config)
            with self._lock:
                if self._cancel.is_set():
                    return
                self._job = job.start()
        except InputError as exc:
            self._error = exc
        except Exception as exc:  # never a traceback in the app
            self._error = InputError(f"cannot make depth ({type(exc).__name__}: {exc})", clip)

    def _download_progress(self, received: int, total: int | None) -> None:
        self.stage = (f"downloading model {received / 1e6:.0f}/{total / 1e6:.0f} MB" if total
                      else f"downloading model {received / 1e6:.0f} MB")


def draw_depth_maker(ctl: DepthMakerController, has_clip: bool, has_depth: bool) -> bool:
    """The panel section; True when the user asked to make depth (the app calls ``start``)."""
    pressed = False
    ctl.button_rect = None
    if ctl.busy:
        imgui.separator_text("Making depth")
        fraction = ctl.done / ctl.total if ctl.total else 0.0
        label = f"{ctl.done}/{ctl.total} frames" if ctl.total and ctl.done else ctl.stage
        imgui.progress_bar(fraction, imgui.ImVec2(-1, 0), label)
        if imgui.button(CANCEL_LABEL):
            ctl.cancel()
        ctl.button_rect = _item_rect()
    elif has_clip and not has_depth:
        imgui.separator_text("Make depth")
        imgui.push_text_wrap_pos(0.0)
        imgui.text_colored(_DIM, "This clip has no depth: everything is at infinity. Make it "
                                 "from the picture (monocular model, relative depth).")
        imgui.pop_text_wrap_pos()
        _, ctl.model = imgui.input_text("model##depthgen", ctl.model)
        pressed = imgui.button(MAKE_LABEL)
        ctl.button_rect = _item_rect()
    if ctl.message:
        imgui.push_text_wrap_pos(0.0)
        imgui.text_colored(_RED if not ctl.message.startswith("made ") else _DIM, ctl.message)
        imgui.pop_text_wrap_pos()
    return pressed


def _item_rect() -> tuple[float, float, float, float]:
    lo, hi = imgui.get_item_rect_min(), imgui.get_item_rect_max()
    return (lo.x, lo.y, hi.x, hi.y)
