"""Export: render a clip's rack focus to a video file, frame for frame as the preview shows it.

Pipeline (one direction, three threads)::

    DecoderThread ──► FrameUploader ──► DofRenderer ──► PBO readback ──► VideoWriter thread
    (decode thread)   (main thread: GL only here)       (double-buffered)  (swscale + encode + mux)

Each frame is rendered with the lens of its media time: ``FocusTrack.lens_at(index / fps, lens)``
(the track evaluated at the time the preview's transport gives that frame), or a constant focus.
The output keeps the clip's timestamps; a variable-frame-rate clip's held slots (the decoder
repeats a frame where the clip has none) are skipped, so every input frame gives exactly one
output frame.

Readback never makes the GPU wait: frame *n* is read into one pixel-buffer object
(``glReadPixels`` into a PBO returns at once) and frame *n-1*'s PBO, filled a frame earlier, is
copied out meanwhile.

Two ways to drive a job, both on the thread that owns the GL context:

* the app: ``job.start()``, then ``job.step(max_frames=..., timeout=0.0)`` once per UI frame (never
  blocks with ``timeout=0``), ``job.cancel()`` from a button, until ``job.finished``;
* the CLI: ``job.run(on_progress)``, which blocks until done or cancelled.

``cancel()`` only sets a flag (safe from a signal handler or another thread); the next ``step``
tears the job down. ``close()`` releases everything and deletes an unfinished output.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import moderngl
import numpy as np

from rackfocus_live.colour import DEFAULT_DISPLAY, DEFAULT_VIEW, ColourPlan, check_view
from rackfocus_live.depth import DepthMapping
from rackfocus_live.depthcond import DepthConditioning
from rackfocus_live.errors import InputError
from rackfocus_live.files import check_output
from rackfocus_live.gpu.context import (
    check_frame_size,
    framebuffer_kept,
    interleave_chroma_for,
)
from rackfocus_live.gpu.dof import DofRenderer
from rackfocus_live.gpu.ocio_view import OcioViewPass
from rackfocus_live.gpu.programs import ProgramCache
from rackfocus_live.gpu.upload import FrameUploader
from rackfocus_live.lens import LensState
from rackfocus_live.lens_character import LensCharacter
from rackfocus_live.media.decoder import DecoderThread, FramePacket
from rackfocus_live.media.depthsource import DepthSource
from rackfocus_live.media.exr_writer import (
    ExrPayload,
    ExrSequenceConfig,
    ExrSequenceWriter,
    exr_sequence_target,
)
from rackfocus_live.media.probe import MediaInfo
from rackfocus_live.media.sequence import open_clip_depth, probe_media
from rackfocus_live.media.writer import (
    CODECS,
    DEFAULT_PRESET,
    X26X_PRESETS,
    VideoWriter,
    WriterConfig,
    output_path,
)
from rackfocus_live.settings import HighlightBoost, quality_preset
from rackfocus_live.timeline.keyframes import FocusTrack

ExportState = Literal["ready", "running", "finishing", "done", "cancelled", "failed"]
#: States after which ``step`` does nothing.
FINAL_STATES: frozenset[str] = frozenset({"done", "cancelled", "failed"})
#: Packets the decoder works ahead.
DECODE_AHEAD = 8
#: Seconds of history behind the reported frames per second.
_FPS_WINDOW_S = 2.0


@dataclass(frozen=True, slots=True)
class ExportSettings:
    """Everything an export needs; no GL, no files opened.

    Attributes:
        clip: the video clip.
        depth: depth video, image sequence pattern or still; None puts everything at infinity.
        output: output file; without a suffix the codec's default is added (.mp4, .mov, .mkv).
        lens: the lens; its focus is used when there is no track.
        mapping: how raw depth maps to inverse depth.
        track: the focus pull; None exports at the constant ``lens.focus_m``.
        codec: h264, hevc, prores or ffv1 (see ``media.writer.CODECS``).
        crf: constant rate factor for h264/hevc (None: the codec's default).
        preset: x264/x265 speed preset.
        frame_range: frames [start, end) to export; None exports the whole clip.
        quality: DOF quality preset.
        highlight: clipped-highlight boost, as in the preview.
        character: lens character (cat-eye, axial CA, aperture image), as in the preview.
        audio: copy the clip's audio streams.
        keep_partial: keep (and finalise) the partial file when the export is cancelled.
        pull_file: the keyframe file the track came from (only checked: the output may not
            replace it).
        conditioning: depth conditioning (refinement, stabilisation), as in the preview.
        condition_from: the first frame of the shot this export is a part of (a farm chunk's
            shot start). Stabilised depth is a chain from that frame on, so frames from there to
            ``frame_range``'s start are decoded and conditioned (not rendered): the part gets the
            depth a single export of the whole shot has. None: the range's own start.
        fps: frame rate of an image-sequence clip (None: 24).
        colour: colour plan of an image-sequence clip and of EXR output (None: defaults).
        depth_channel: EXR channel of the depth (``depth="same"``: the clip's own files).
        exr_half: EXR output in half float (else 32-bit float).
        exr_depth: write the depth (metres) as a Z channel of each output EXR.
        exr_compression: EXR compression (``media.exr.EXR_COMPRESSIONS``).
    """

    clip: Path
    depth: Path | str | None
    output: Path
    lens: LensState = field(default_factory=LensState)
    mapping: DepthMapping = field(default_factory=DepthMapping)
    track: FocusTrack | None = None
    codec: str = "h264"
    crf: int | None = None
    preset: str = DEFAULT_PRESET
    frame_range: tuple[int, int] | None = None
    quality: str = "default"
    highlight: HighlightBoost = field(default_factory=HighlightBoost)
    character: LensCharacter = field(default_factory=LensCharacter)
    audio: bool = True
    keep_partial: bool = False
    pull_file: Path | None = None
    conditioning: DepthConditioning = field(default_factory=DepthConditioning)
    condition_from: int | None = None
    fps: Fraction | None = None
    colour: ColourPlan | None = None
    depth_channel: str | None = None
    exr_half: bool = True
    exr_depth: bool = False
    exr_compression: str = "zip"


def is_exr_output(output: Path) -> bool:
    """EXR output is an image sequence (``out.%04d.exr``); everything else a video file."""
    return output.suffix.lower() == ".exr"


@dataclass(frozen=True, slots=True)
class ExportProgress:
    """A snapshot for a progress bar.

    Attributes:
        state: ready, running, finishing (encoder draining), done, cancelled, failed.
        frames: frame slots rendered (or skipped as held VFR slots) so far.
        total: frame slots to export.
        encoded: frames the encoder has written.
        fps: frames per second over the last two seconds.
        elapsed_s: seconds since ``start()``.
        eta_s: seconds left at the current rate, None before there is a rate.
        output: the finished file (state done), the kept partial file, or None.
    """

    state: ExportState
    frames: int
    total: int
    encoded: int
    fps: float
    elapsed_s: float
    eta_s: float | None
    output: Path | None = None

    @property
    def fraction(self) -> float:
        return 1.0 if self.total <= 0 else min(1.0, self.frames / self.total)


class ExportJob:
    """One export; see the module docstring.

    Args:
        ctx: the GL context (the app's window context, or a standalone one). Every method except
            ``cancel`` must run on the thread that owns it.
        settings: what to export.
        programs: a shader cache to share (the app's); None makes one for this job.
        warn: receives one-line warnings (depth alignment); default: printed to stderr.

    Raises:
        InputError: on construction, for anything wrong with the clip, depth, range, codec,
            output name or folder; nothing is opened or started then.
    """

    def __init__(
        self,
        ctx: moderngl.Context,
        settings: ExportSettings,
        *,
        programs: ProgramCache | None = None,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.ctx = ctx
        self.settings = settings
        quality_preset(settings.quality)
        if settings.codec not in CODECS:
            raise InputError(f"unknown codec '{settings.codec}' (one of: {', '.join(CODECS)})")
        if settings.crf is not None and CODECS[settings.codec].crf is None:
            raise InputError(f"--crf applies to h264 and hevc, not {settings.codec}")
        if settings.crf is not None and not 0 <= settings.crf <= 51:
            raise InputError("--crf must be within 0..51")
        if settings.track is not None and len(settings.track.keys) == 0:
            raise InputError("the focus pull has no keys")
        if CODECS[settings.codec].crf is not None and settings.preset not in X26X_PRESETS:
            raise InputError(f"--preset must be one of {', '.join(X26X_PRESETS)}, "
                             f"got '{settings.preset}'")
        self.info: MediaInfo = probe_media(settings.clip, fps=settings.fps,
                                           plan=settings.colour)
        same = settings.depth == "same"
        depth_input = None if settings.depth is None or same else Path(settings.depth)
        self.exr = is_exr_output(Path(settings.output))
        if self.exr:
            self.output = exr_sequence_target(
                settings.output, [self.info.path] + ([depth_input] if depth_input else []))
        else:
            self.output = check_output(output_path(settings.output, settings.codec), {
                "clip": self.info.path, "depth": depth_input, "pull": settings.pull_file})
        check_frame_size(ctx, self.info.display_size, self.info.path)
        self.start_index, self.end_index = _check_range(settings.frame_range, self.info)
        self.depth_source: DepthSource | None = None
        if settings.depth is not None:
            self.depth_source = open_clip_depth(settings.depth, settings.depth_channel,
                                                settings.mapping, self.info, warn=warn)
            check_frame_size(ctx, (self.depth_source.width, self.depth_source.height),
                             settings.depth)
        plate = self.info.plate
        self.colour = settings.colour or (plate.plan if plate is not None else ColourPlan())
        #: Video output through an OCIO view other than plain sRGB: the DOF renders linear
        #: light and an OCIO pass on the GPU (the preview's) encodes it for the display.
        self.ocio_view = not self.exr and (self.colour.display, self.colour.view) != (
            DEFAULT_DISPLAY, DEFAULT_VIEW)
        if self.ocio_view:
            check_view(self.colour.display, self.colour.view)  # a bad name fails here, not later
        #: Output frame number of clip frame 0 (a plate's own first number; 1 for video).
        self.first_number = plate.sequence.first if plate is not None else 1
        self._programs = programs
        self._own_programs = programs is None
        self._cancel = threading.Event()
        self.state: ExportState = "ready"
        self.error: InputError | None = None
        self.kept: Path | None = None
        self._decoder: DecoderThread | None = None
        self._writer: VideoWriter | ExrSequenceWriter | None = None
        self._uploader: FrameUploader | None = None
        self._dof: DofRenderer | None = None
        self._view: OcioViewPass | None = None
        self._view_tex: moderngl.Texture | None = None
        self._view_fbo: moderngl.Framebuffer | None = None
        self._pbos: list[moderngl.Buffer] = []
        self._inflight: tuple[int, int] | None = None  # (pbo slot, output pts)
        self._held: tuple[av.VideoFrame | ExrPayload, int] | None = None
        self._inflight_depth: np.ndarray | None = None
        self._next_index = self.start_index
        self._last_pts: int | None = None
        self._rendered = 0
        self._t0 = 0.0
        self._t_end: float | None = None
        self._history: deque[tuple[float, int]] = deque()
        # Output pts = clip pts - offset: a --range starts where the clip starts.
        info = self.info
        self._pts_offset = info.pts_of_index(self.start_index) - info.start_pts

    # -- properties ----------------------------------------------------------------------------


    @property
    def total(self) -> int:
        """Frame slots to export."""
        return self.end_index - self.start_index

    @property
    def finished(self) -> bool:
        """Done, cancelled or failed; ``step`` does nothing more."""
        return self.state in FINAL_STATES

    @property
    def progress(self) -> ExportProgress:
        now = time.perf_counter() if self._t_end is None else self._t_end
        frames = max(0, self._next_index - self.start_index)
        elapsed = now - self._t0 if self._t0 else 0.0
        fps = self._rate(now)
        eta = (self.total - frames) / fps if fps > 0 else None
        out: Path | None  # the finished file, else the kept partial one (if any)
        if self.state == "done":
            eta, out = 0.0, self.output
        else:
            out = self.kept
        encoded = self._writer.frames_written if self._writer is not None else 0
        return ExportProgress(self.state, frames, self.total, encoded, fps, elapsed, eta, out)

    def lens_at(self, time_s: float) -> LensState:
        """The lens of the frame at clip time ``time_s``: the track's focus (and f-stop), or the
        constant lens. Frames are rendered at ``index / fps``, where the preview's transport
        stands on that frame, and the preview evaluates the same ``FocusTrack`` there."""
        track = self.settings.track
        return self.settings.lens if track is None else track.lens_at(time_s, self.settings.lens)

    def _first_decoded(self) -> int:
        """Where decoding starts: the range's start, or ``condition_from`` when the depth is
        stabilised (a chain from the shot's first frame) and that lies before it."""
        s = self.settings
        moving = self.depth_source is not None and self.depth_source.kind != "still"
        if (s.condition_from is None or s.condition_from >= self.start_index
                or not s.conditioning.stabilise_for(s.mapping.kind, moving)):
            return self.start_index
        return max(0, s.condition_from)

    # -- control -------------------------------------------------------------------------------

    def start(self) -> ExportJob:
        """Open the output (partial file), start the decoder and writer, make GL objects.

        Raises:
            InputError: the output cannot be written or set up; nothing is left behind.
        """
        if self.state != "ready":
            raise RuntimeError(f"export already {self.state}")
        info, s = self.info, self.settings
        tb = info.time_base
        t_start = float((info.pts_of_index(self.start_index)) * tb)
        t_end = None if self.end_index >= info.frame_count else float(
            info.pts_of_index(self.end_index) * tb)
        if self.exr:
            self._writer = ExrSequenceWriter(ExrSequenceConfig(
                pattern=self.output, to_output_space=self.colour.from_working,
                half=s.exr_half, compression=s.exr_compression, keep_partial=s.keep_partial))
        else:
            self._writer = VideoWriter(WriterConfig(
                output=self.output, info=info, codec=s.codec, crf=s.crf, preset=s.preset,
                audio=s.audio,
                audio_window=(t_start if self.start_index > 0 else 0.0, t_end),
                audio_shift_s=float(self._pts_offset * tb), keep_partial=s.keep_partial,
            ))
        self._writer.open()
        self.state = "running"
        try:
            self._decoder = DecoderThread(info.path, self.depth_source, DECODE_AHEAD, None,
                                          info=info,
                                          interleave_chroma=interleave_chroma_for(self.ctx))
            self._next_index = self._first_decoded()
            if self._next_index:
                self._decoder.seek(self._next_index)
            self._decoder.start()
            if self._programs is None:
                self._programs = ProgramCache(self.ctx)
            w, h = info.display_size
            moving = self.depth_source is not None and self.depth_source.kind != "still"
            self._uploader = FrameUploader(
                self.ctx, self._programs, w, h, conditioning=self.settings.conditioning,
                depth_kind=self.settings.mapping.kind, depth_moving=moving)
            if self.depth_source is not None:
                # From the shot's start, as the stabiliser's chain: every chunk of a farm job
                # refines with the reach of the export in one piece.
                shot_start = (s.condition_from if s.condition_from is not None
                              else self.start_index)
                self._uploader.measure_depth_detail(self.depth_source, shot_start)
            self._dof = DofRenderer(self.ctx, self._programs, (w, h), s.quality,
                                    timer_query=False, linear_output=self.exr or self.ocio_view)
            if self.ocio_view:
                self._view = OcioViewPass(self.ctx, self.colour.display, self.colour.view)
                self._view_tex = self.ctx.texture((w, h), 4, dtype="f1")
                self._view_fbo = self.ctx.framebuffer(color_attachments=[self._view_tex])
            texel = 16 if self.exr else 4  # RGBA32F linear light, or RGBA8 display
            self._pbos = [self.ctx.buffer(reserve=w * h * texel) for _ in range(2)]
        except BaseException:
            self._teardown("failed")
            raise
        self._t0 = time.perf_counter()
        return self

    def cancel(self) -> None:
        """Ask the job to stop; the next ``step`` (or ``run``) tears it down. Thread-safe."""
        self._cancel.set()

    def step(self, max_frames: int = 1, timeout: float = 0.0) -> ExportProgress:
        """Advance the export by up to ``max_frames`` frames; main (GL) thread only.

        Args:
            max_frames: frames to render in this call at most.
            timeout: seconds to wait for a decoded frame or room at the encoder; 0 never waits
                (the app's loop), so a step may render nothing.

        Raises:
            InputError: decoding or writing failed; the job is torn down (state failed) and the
                partial file removed.
        """
        if self.state == "ready":
            raise RuntimeError("start() the export first")
        if self.finished:
            return self.progress
        if self._cancel.is_set():
            self._teardown("cancelled")
            return self.progress
        try:
            self._advance(max_frames, time.perf_counter() + max(0.0, timeout))
        except BaseException as exc:
            if isinstance(exc, InputError):
                self.error = exc
            self._teardown("failed")
            raise
        return self.progress

    def run(self, on_progress: Callable[[ExportProgress], None] | None = None,
            interval_s: float = 0.1) -> ExportProgress:
        """Start (if needed) and export to the end, or until ``cancel()``; blocks.

        Args:
            on_progress: called about every ``interval_s`` seconds and once at the end.

        Returns:
            The final progress (state done or cancelled).

        Raises:
            InputError: the export failed; nothing is left behind.
        """
        if self.state == "ready":
            self.start()
        last = 0.0
        try:
            while not self.finished:
                p = self.step(max_frames=16, timeout=0.05)
                now = time.perf_counter()
                if on_progress is not None and now - last >= interval_s:
                    on_progress(p)
                    last = now
        finally:
            if not self.finished:
                self.close()  # KeyboardInterrupt and the like: leave nothing behind
        final = self.progress
        if on_progress is not None:
            on_progress(final)
        return final

    def close(self) -> None:
        """Release everything; an unfinished export is cancelled (partial file removed unless
        ``keep_partial``). Idempotent; main thread."""
        if not self.finished:
            self._teardown("cancelled")

    def __enter__(self) -> ExportJob:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals -----------------------------------------------------------------------------

    def _advance(self, max_frames: int, deadline: float) -> None:
        writer = self._writer
        assert writer is not None
        rendered = 0
        while True:
            left = max(0.0, deadline - time.perf_counter())
            if self._held is not None:
                frame, pts = self._held
                if not writer.put(frame, pts, timeout=left):  # type: ignore[arg-type]
                    return  # the encoder is behind: come back later, the GPU stays free
                self._held = None
            if self._next_index >= self.end_index:
                if self._inflight is not None:
                    self._collect()
                    continue
                self._finish(left)
                return
            if rendered >= max_frames:
                return
            assert self._decoder is not None
            packet = self._decoder.get(left)
            if packet is None:
                return
            if packet.index != self._next_index:
                # Cannot happen with one seek per job; skip rather than render out of order.
                continue
            self._next_index = packet.index + 1
            if packet.pts == self._last_pts:
                continue  # a held slot of a variable-rate clip: that frame is already out
            self._last_pts = packet.pts
            if packet.index < self.start_index:
                # Before the range (condition_from): only the depth's stabiliser sees it.
                assert self._uploader is not None
                self._uploader.upload(packet, self.info)
                rendered += 1
                continue
            self._render(packet)
            rendered += 1
            self._history.append((time.perf_counter(), self._next_index))

    def _render(self, packet: FramePacket) -> None:
        assert self._uploader is not None and self._dof is not None
        self._uploader.upload(packet, self.info)
        self._dof.render(self._uploader.color, self._uploader.depth, self.lens_at(packet.time),
                         color_is_srgb=False, highlight=self.settings.highlight,
                         scene_linear=self.info.scene_linear, character=self.settings.character)
        slot = self._rendered % 2
        # Asynchronous: into a pixel-buffer object, copied out one frame later.
        source = self._dof.output_fbo
        if self._view is not None and self._view_fbo is not None:
            self._view.render(self._dof.output, self._view_fbo)
            source = self._view_fbo
        with framebuffer_kept(self.ctx):
            source.read_into(self._pbos[slot], components=4, alignment=1,
                             dtype="f4" if self.exr else "f1")
        self._rendered += 1
        self._collect()
        # EXR frames are named by frame number, video frames placed by timestamp.
        stamp = self.first_number + packet.index if self.exr else packet.pts - self._pts_offset
        self._inflight = (slot, stamp)
        self._inflight_depth = packet.depth if self.settings.exr_depth else None

    def _collect(self) -> None:
        """Copy the in-flight PBO (the frame before the one just rendered) into a VideoFrame."""
        if self._inflight is None:
            return
        slot, pts = self._inflight
        self._inflight = None
        w, h = self.info.display_size
        if self.exr:
            rgba = np.frombuffer(self._pbos[slot].read(), np.float32).reshape(h, w, 4)
            rgb = np.ascontiguousarray(rgba[..., :3])
            depth = self._inflight_depth
            metric = None if depth is None else metric_depth(depth, (w, h))
            self._held = ((rgb, metric), pts)
            return
        frame = av.VideoFrame(w, h, "rgba")
        plane = frame.planes[0]
        if plane.line_size == w * 4:
            self._pbos[slot].read_into(memoryview(plane))
        else:  # padded rows: go through numpy
            data = np.frombuffer(self._pbos[slot].read(), np.uint8).reshape(h, w, 4)
            frame = av.VideoFrame.from_ndarray(data, format="rgba")
        self._held = (frame, pts)

    def _finish(self, wait_s: float) -> None:
        writer = self._writer
        assert writer is not None
        if self.state == "running":
            self.state = "finishing"
            writer.finish()
            self._close_decoder()
        if writer.wait(wait_s) is not None:  # raises InputError if writing failed
            self._teardown("done")

    def _rate(self, now: float) -> float:
        h = self._history
        while len(h) > 2 and now - h[0][0] > _FPS_WINDOW_S:
            h.popleft()
        if len(h) >= 2 and h[-1][0] > h[0][0]:
            return (h[-1][1] - h[0][1]) / (h[-1][0] - h[0][0])
        elapsed = now - self._t0 if self._t0 else 0.0
        frames = max(0, self._next_index - self.start_index)
        return frames / elapsed if elapsed > 0 and frames else 0.0

    def _close_decoder(self) -> None:
        if self._decoder is not None:
            decoder, self._decoder = self._decoder, None
            decoder.close()

    def _teardown(self, state: ExportState) -> None:
        self._t_end = time.perf_counter()
        self.state = state
        errors: list[BaseException] = []
        try:
            self._close_decoder()
        except BaseException as exc:  # keep going: the GL objects and the file must go too
            errors.append(exc)
        if self._writer is not None and state != "done":
            try:
                self.kept = self._writer.abort()
            except BaseException as exc:
                errors.append(exc)
        self._held = None
        self._inflight = None
        for obj in (self._uploader, self._dof, *self._pbos, self._view, self._view_fbo,
                    self._view_tex):
            if obj is not None:
                obj.release()
        self._uploader = self._dof = None
        self._view = self._view_fbo = self._view_tex = None
        self._pbos = []
        if self._own_programs and self._programs is not None:
            self._programs.release()
            self._programs = None
        if errors:
            raise errors[0]


#: Largest frame number or time (s) ``--range`` takes: beyond any clip, within int64 maths.
MAX_RANGE_VALUE = 10**9


def metric_depth(inverse: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Inverse depth (1/m, any size) as metres at the frame size (nearest sample; infinity where
    the inverse depth is 0), for the Z channel of EXR output."""
    w, h = size
    ih, iw = inverse.shape
    if (iw, ih) != (w, h):
        rows = np.minimum((np.arange(h) + 0.5) * ih / h, ih - 1).astype(np.intp)
        cols = np.minimum((np.arange(w) + 0.5) * iw / w, iw - 1).astype(np.intp)
        inverse = inverse[rows[:, None], cols[None, :]]
    with np.errstate(divide="ignore"):
        return np.where(inverse > 0, 1.0 / np.maximum(inverse, 1e-30), np.inf).astype(np.float32)


def _check_range(frame_range: tuple[int, int] | None, info: MediaInfo) -> tuple[int, int]:
    n = info.frame_count
    if frame_range is None:
        return 0, n
    start, end = frame_range
    if not 0 <= start < n:
        raise InputError(f"--range starts at frame {start}, the clip has frames 0..{n - 1}")
    if end <= start:
        raise InputError(f"--range is empty ({start}:{end})")
    return start, min(end, n)


def parse_range(text: str, fps: float | None = None) -> tuple[int | float | None,
                                                                 int | float | None]:
    """``START:END`` of ``--range``: frame numbers, or seconds with an ``s`` suffix; either side
    may be empty. Returns the two sides (ints are frames, floats seconds, None open)."""
    if text.count(":") != 1:
        raise InputError(f"--range must look like START:END (frames, or seconds with 's'), "
                         f"got '{text}'")
    sides: list[int | float | None] = []
    for name, part in zip(("START", "END"), text.split(":"), strict=True):
        part = part.strip()
        if not part:
            sides.append(None)
            continue
        try:
            value: int | float = float(part[:-1]) if part.endswith("s") else int(part)
        except ValueError:
            raise InputError(f"--range: '{part}' is neither a frame number nor seconds "
                             "(like 2.5s)") from None
        if value != value or value in (math.inf, -math.inf) or abs(value) > MAX_RANGE_VALUE:
            raise InputError(f"--range: {name} '{part}' is not a usable frame number or time")
        if value < 0:
            raise InputError(f"--range: {name} '{part}' is before the clip's first frame "
                             "(frames count from 0, seconds from the clip's start)")
        sides.append(value)
    return sides[0], sides[1]


def resolve_range(sides: tuple[int | float | None, int | float | None],
                  info: MediaInfo) -> tuple[int, int]:
    """Frames [start, end) of parsed ``--range`` sides for this clip (seconds round to the frame
    shown at that time; END is exclusive)."""

    def frame(v: int | float | None, default: int) -> int:
        if v is None:
            return default
        if isinstance(v, int):
            return v
        return math.floor(v * float(info.fps) + 1e-6)

    return frame(sides[0], 0), frame(sides[1], info.frame_count)
