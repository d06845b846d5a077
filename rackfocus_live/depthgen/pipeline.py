"""The depth-making job: clip frames -> model -> post-processing hook -> 16-bit disparity video.

Threads: a reader thread decodes clip frame ``i`` for every slot ``0 .. frame_count - 1`` (the
same frames and slots the player shows), turns it into display-oriented RGB and the model's
input, and hands both through a bounded queue; the job's worker thread loads the model, runs it
on batches, up-samples each result to the output size, applies the post-processing hook in
frame order and quantises; an encoder thread writes frame ``i`` at the clip's timestamp of frame
``i`` (FFV1, so encoding overlaps the model). The caller's
thread only polls :attr:`DepthJob.progress` and may :meth:`DepthJob.cancel`: a cancelled or
failed job deletes its temp file and leaves no output.
"""

from __future__ import annotations

import contextlib
import math
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from rackfocus_live.depth import DEFAULT_FAR_M, DEFAULT_NEAR_M
from rackfocus_live.depthgen.models import ModelFile
from rackfocus_live.depthgen.outputs import DepthOutputs
from rackfocus_live.depthgen.postprocess import (
    DepthPostProcessor,
    default_postprocessor,
    hook_name,
)
from rackfocus_live.depthgen.preprocess import (
    CARD_SIZE,
    PATCH,
    model_input,
    network_size,
    resize_rgb,
    upsample_depth,
)
from rackfocus_live.depthgen.quantise import MARGIN, DisparityQuantiser
from rackfocus_live.depthgen.runtime import DepthModel, ModelTerminatedError
from rackfocus_live.depthgen.writer import (
    DepthEncoderThread,
    SidecarInfo,
    sidecar_document,
    write_sidecar,
)
from rackfocus_live.errors import InputError
from rackfocus_live.media.probe import MediaInfo, probe_clip, reason
from rackfocus_live.media.reader import StreamEndedError, VideoReader

#: Thread name prefix (tests look for leaked threads by it).
THREAD_NAME_PREFIX = "rackfocus-depthgen"
_POLL_S = 0.05
_SWS_MATRIX = {"bt709": "itu709", "bt601": "itu601", "bt2020": "bt2020"}
_SWS_RANGE = {"limited": 1, "full": 2}


@dataclass(frozen=True, slots=True)
class DepthJobConfig:
    """What to make.

    Attributes:
        clip: the clip.
        outputs: where the video and sidecar go (``outputs.depth_output_paths``).
        model: the resolved model file.
        providers: onnxruntime execution providers.
        input_size: the card's input size (518); sides end up multiples of 14.
        max_res: longest side of the written depth, None = the clip's display size.
        batch: frames per model call (a model with a fixed batch of 1 runs one at a time).
        threads: onnxruntime intra-op threads, 0 = all cores.
        near_hint_m: metres suggested for the near end (sidecar only).
        far_hint_m: metres suggested for the far end (sidecar only).
    """

    clip: Path
    outputs: DepthOutputs
    model: ModelFile
    providers: tuple[str, ...] = ("CPUExecutionProvider",)
    input_size: int = CARD_SIZE
    max_res: int | None = None
    batch: int = 4
    threads: int = 0
    near_hint_m: float = DEFAULT_NEAR_M
    far_hint_m: float = DEFAULT_FAR_M

    def __post_init__(self) -> None:
        if self.batch < 1:
            raise InputError("--batch must be >= 1")
        if self.input_size < PATCH:
            raise InputError(f"--input-size must be >= {PATCH}")
        if self.max_res is not None and self.max_res < 16:
            raise InputError("--max-res must be >= 16")


@dataclass(frozen=True, slots=True)
class DepthResult:
    """A finished job.

    Attributes:
        outputs: the files written.
        frames: frames written (the clip's frame count).
        size: (width, height) of the depth video.
        input_size: (height, width) of the model input.
        seconds: wall time from start to the renamed file.
        clipped_fraction: share of samples beyond the first frame's range (clipped).
        providers: the providers onnxruntime used.
    """

    outputs: DepthOutputs
    frames: int
    size: tuple[int, int]
    input_size: tuple[int, int]
    seconds: float
    clipped_fraction: float
    providers: list[str]

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else math.inf


def output_size(display: tuple[int, int], max_res: int | None) -> tuple[int, int]:
    """(width, height) of the depth video: the clip's display size, the long side capped at
    ``max_res`` with the aspect ratio kept."""
    width, height = display
    if max_res is None or max(width, height) <= max_res:
        return width, height
    scale = max_res / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


@dataclass(slots=True)
class _Item:
    index: int
    rgb: npt.NDArray[np.uint8]
    pixel_values: npt.NDArray[np.float32]


class _End:
    pass


@dataclass(slots=True)
class _Failure:
    error: BaseException


class DepthJob:
    """Runs one depth-making job on worker threads; see the module docstring.

    Args:
        config: what to make.
        postprocess: the hook applied to (rgb, disparity) frames in order; default
            :func:`postprocess.default_postprocessor`.
        info: the probed clip (probed here when None).

    Attributes:
        info: the clip.
        total: frames to make.
        done: frames made so far (handed to the encoder, at most a few ahead of the file).
        stage: "loading model", "making depth", "finishing", "done", "cancelled" or "failed".
        error: the failure (an InputError for anything the user can act on), or None.
        result: the finished job, or None.
    """

    def __init__(self, config: DepthJobConfig, postprocess: DepthPostProcessor | None = None,
                 info: MediaInfo | None = None) -> None:
        self.config = config
        self.info = probe_clip(config.clip) if info is None else info
        self.postprocess = default_postprocessor() if postprocess is None else postprocess
        self.total = self.info.frame_count
        self.done = 0
        self.stage = "loading model"
        self.error: BaseException | None = None
        self.result: DepthResult | None = None
        self._cancel = threading.Event()
        self._stop_reader = threading.Event()  # set on cancel, and when the worker ends
        self._model: DepthModel | None = None
        self._model_lock = threading.Lock()
        self._finished = threading.Event()
        self._thread: threading.Thread | None = None
        if self.total < 1:
            raise InputError("clip has no frames", config.clip)

    # -- control (caller's thread) -----------------------------------------------------------

    def start(self) -> DepthJob:
        self._thread = threading.Thread(target=self._run, name=f"{THREAD_NAME_PREFIX}-worker",
                                        daemon=True)
        self._thread.start()
        return self

    def cancel(self) -> None:
        """Ask the job to stop; it deletes its temp file. Returns at once (see :meth:`wait`)."""
        self._cancel.set()
        self._stop_reader.set()
        with self._model_lock:
            if self._model is not None:
                self._model.terminate()  # a batch in progress stops now, not when it is done

    def wait(self, timeout: float | None = None) -> bool:
        """True once the job has ended (done, cancelled or failed)."""
        if not self._finished.wait(timeout):
            return False
        if self._thread is not None:
            self._thread.join()
        return True

    @property
    def progress(self) -> float:
        return self.done / self.total

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def run(self) -> DepthResult:
        """Start, wait, and return the result or raise the failure (KeyboardInterrupt cancels
        and deletes the temp file before it propagates)."""
        self.start()
        try:
            while not self.wait(0.1):
                pass
        except KeyboardInterrupt:
            self.cancel()
            self.wait()
            raise
        if self.error is not None:
            raise self.error
        if self.result is None:
            raise KeyboardInterrupt  # cancelled from another thread
        return self.result

    # -- worker thread -----------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self.result = self._make()
            self.stage = "done" if self.result is not None else "cancelled"
        except BaseException as exc:  # reported to the caller's thread, never lost
            self.error = exc if isinstance(exc, InputError) else InputError(
                f"making depth failed ({type(exc).__name__}: {reason(exc)})", self.config.clip)
            self.stage = "failed"
        finally:
            self._finished.set()

    def _make(self) -> DepthResult | None:
        cfg, info = self.config, self.info
        start = time.perf_counter()
        model = DepthModel(cfg.model.path, list(cfg.providers), threads=cfg.threads)
        with self._model_lock:
            if self._cancel.is_set():
                return None
            self._model = model
        width, height = output_size(info.display_size, cfg.max_res)
        net = model.shape.size or network_size(info.display_size[1], info.display_size[0],
                                               cfg.input_size)
        batch_size = model.shape.batch or cfg.batch
        items: queue.Queue[_Item | _End | _Failure] = queue.Queue(maxsize=batch_size * 2)
        reader = threading.Thread(target=self._read, args=(items, net, (height, width)),
                                  name=f"{THREAD_NAME_PREFIX}-reader", daemon=True)
        writer = DepthEncoderThread(cfg.outputs.video, (width, height), info.fps,
                                    info.time_base, name=f"{THREAD_NAME_PREFIX}-encoder").start()
        quantiser = DisparityQuantiser()
        self.postprocess.reset()
        self.stage = "making depth"
        reader.start()
        try:
            ended = False
            while not ended:
                batch: list[_Item] = []
                while len(batch) < batch_size:
                    got = self._take(items)
                    if got is None:
                        writer.abort()
                        return None
                    if isinstance(got, _Failure):
                        raise got.error
                    if isinstance(got, _End):
                        ended = True
                        break
                    batch.append(got)
                if not batch:
                    break
                try:
                    depth = model.infer(np.stack([item.pixel_values for item in batch]))
                except ModelTerminatedError:
                    writer.abort()
                    return None
                for item, disparity in zip(batch, depth, strict=True):
                    full = upsample_depth(disparity, (height, width))
                    processed = self.postprocess(item.rgb, full)
                    writer.put(quantiser(processed), info.pts_of_index(item.index))
                    self.done += 1
                if self._cancel.is_set():
                    writer.abort()
                    return None
            if self.done != self.total:
                raise InputError(f"made {self.done} of {self.total} frames", cfg.clip)
            self.stage = "finishing"
            writer.finish()
        except BaseException:
            writer.abort()
            raise
        finally:
            self._stop(items, reader)
        assert quantiser.range is not None
        sidecar = SidecarInfo(
            model=cfg.model.name, licence=cfg.model.licence, model_sha256=cfg.model.sha256,
            model_source=cfg.model.source, providers=list(model.providers), input_size=net,
            postprocess=hook_name(self.postprocess),
            disparity_low=quantiser.range.low, disparity_high=quantiser.range.high,
            margin=MARGIN, near_hint_m=cfg.near_hint_m, far_hint_m=cfg.far_hint_m,
        )
        write_sidecar(cfg.outputs.sidecar, sidecar_document(
            cfg.outputs.video, cfg.clip, self.done, info.fps, (width, height), sidecar))
        seconds = time.perf_counter() - start
        return DepthResult(
            outputs=cfg.outputs, frames=self.done, size=(width, height), input_size=net,
            seconds=seconds, clipped_fraction=quantiser.clipped / (self.done * width * height),
            providers=list(model.providers),
        )

    def _take(self, items: queue.Queue[_Item | _End | _Failure]) -> _Item | _End | _Failure | None:
        while not self._cancel.is_set():
            try:
                return items.get(timeout=_POLL_S)
            except queue.Empty:
                continue
        return None

    def _stop(self, items: queue.Queue[_Item | _End | _Failure], reader: threading.Thread) -> None:
        self._stop_reader.set()  # the reader polls it while its queue is full
        while reader.is_alive():
            with contextlib.suppress(queue.Empty):
                items.get(timeout=_POLL_S)

    # -- reader thread -----------------------------------------------------------------------

    def _read(self, items: queue.Queue[_Item | _End | _Failure], net: tuple[int, int],
              out: tuple[int, int]) -> None:
        info = self.info
        reader: VideoReader | None = None
        try:
            reader = VideoReader(info)
            for index in range(self.total):
                if self._stop_reader.is_set():
                    return
                try:
                    frame = reader.read(index)
                except StreamEndedError as exc:
                    raise InputError(f"clip ends at frame {exc.last_index + 1} of {self.total} "
                                     "(cut short or damaged)", info.path) from None
                except av.FFmpegError as exc:
                    raise InputError(f"decode error at frame {index} ({reason(exc)})",
                                     info.path) from None
                assert frame is not None
                rgb = display_rgb(frame, info)
                item = _Item(index, resize_rgb(rgb, out), model_input([rgb], net)[0])
                if not self._put(items, item):
                    return
            self._put(items, _End())
        except BaseException as exc:
            self._put(items, _Failure(exc))
        finally:
            if reader is not None:
                reader.close()

    def _put(self, items: queue.Queue[_Item | _End | _Failure],
             item: _Item | _End | _Failure) -> bool:
        while not self._stop_reader.is_set():
            try:
                items.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False


def display_rgb(frame: av.VideoFrame, info: MediaInfo) -> npt.NDArray[np.uint8]:
    """The frame as 8-bit RGB (HxWx3) in display orientation, converted with the clip's own
    YUV matrix and range."""
    rgb: npt.NDArray[np.uint8] = frame.reformat(
        format="rgb24",
        src_colorspace=_SWS_MATRIX.get(info.color_matrix, "itu709"),
        src_color_range=_SWS_RANGE.get(info.color_range, 1),
    ).to_ndarray()  # type: ignore[assignment]
    if info.rotation:
        rgb = np.ascontiguousarray(np.rot90(rgb, k=info.rotation // 90))
    return rgb
