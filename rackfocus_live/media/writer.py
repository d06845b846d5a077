"""The export encoder: rendered RGBA frames in, a video file out, on its own thread.

The main thread (the GL thread) hands over one ``av.VideoFrame`` (``rgba``) per output frame with
its presentation timestamp through a bounded queue; the writer thread converts it to the codec's
pixel format (swscale, with the clip's YUV matrix and range), encodes it, and interleaves the
clip's audio packets, copied untouched (no decode, no re-encode), by time.

What the output keeps from the clip: frame rate, the time base (where the container can store it:
Matroska always uses 1/1000 s), every frame's timestamp, the colour tags (primaries, transfer,
matrix, range) and the sample aspect ratio. The rendered image is display-encoded R'G'B' in the
clip's own transfer, so re-encoding it with the clip's matrix and range and copying the tags over
is what keeps colours as they were. Rotation is baked into the pixels (the renderer works in
display orientation), so the output carries none.

Files: through :class:`rackfocus_live.files.AtomicOutput`: the output is locked against a second
writer, everything is written to a unique hidden temporary file in the output's folder and renamed
to ``NAME.EXT`` once the trailer is written (an existing ``NAME.EXT`` is kept as ``NAME.EXT.bak``).
A failure or a cancel deletes the temporary file, unless ``keep_partial`` is set: then a cancelled
export is finalised (encoder flushed, trailer written) so what was encoded plays, and it is moved
to ``NAME.partial.EXT`` (or ``NAME.partial-2.EXT``... when taken: never over a file). Write errors
(full disk, permissions) become one ``InputError`` line.
"""

from __future__ import annotations

import contextlib
import errno
import os
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av

from rackfocus_live.errors import InputError
from rackfocus_live.files import AtomicOutput, resolve_output
from rackfocus_live.media.probe import MediaInfo, reason

#: Thread name prefix (tests look for leaked threads by it).
THREAD_NAME_PREFIX = "rackfocus-writer"
#: Audio is muxed this far ahead of the video being written, so the muxer's interleaving buffer
#: always holds both streams and never has to flush one-sided.
AUDIO_LEAD_S = 0.5
_POLL_S = 0.05
_JOIN_TIMEOUT_S = 30.0

# AVColorSpace codes per YUV matrix, and the swscale name of each.
_MATRIX_CODE = {"bt709": 1, "bt601": 6, "bt2020": 9}
_SWS_MATRIX = {"bt709": "itu709", "bt601": "itu601", "bt2020": "bt2020"}
_RANGE_CODE = {"limited": 1, "full": 2}
# Matrix codes the probe reads as each of our matrices (keep the clip's own code when it is one).
_SAME_MATRIX = {"bt709": {1, 7}, "bt601": {4, 5, 6}, "bt2020": {9, 10}}
_AVCOL_SPC_RGB = 0
_UNSPECIFIED = 2


@dataclass(frozen=True, slots=True)
class CodecSpec:
    """One ``--codec`` choice.

    Attributes:
        encoder: FFmpeg encoder name.
        pix_fmt: pixel format it encodes.
        suffix: default container suffix when the output name has none.
        lossless: the codec stores the rendered RGB exactly.
        crf: default constant rate factor, or None where the codec has no CRF.
        options: encoder options (``crf`` and ``preset`` are added for x264/x265).
        min_size: smallest (width, height) the encoder accepts.
    """

    encoder: str
    pix_fmt: str
    suffix: str
    lossless: bool = False
    crf: int | None = None
    options: dict[str, str] = field(default_factory=dict)
    min_size: tuple[int, int] = (1, 1)

    @property
    def rgb(self) -> bool:
        return self.pix_fmt in ("bgr0", "rgb24", "gbrp")


CODECS: dict[str, CodecSpec] = {
    "h264": CodecSpec("libx264", "yuv420p", ".mp4", crf=18),
    "hevc": CodecSpec("libx265", "yuv420p", ".mp4", crf=20,
                      options={"x265-params": "log-level=error"}),
    # Profile 3 = ProRes 422 HQ, the usual delivery flavour; "apl0" is what Apple's encoder writes.
    "prores": CodecSpec("prores_ks", "yuv422p10le", ".mov",
                        options={"profile": "3", "vendor": "apl0"}),
    # Masters: ProRes 4444 (profile 4, 4:4:4 10-bit, no alpha written) and DNxHR HQX (10-bit
    # 4:2:2, any resolution), the two formats finishing and VFX houses take as masters.
    "prores4444": CodecSpec("prores_ks", "yuv444p10le", ".mov",
                            options={"profile": "4", "vendor": "apl0"}),
    "dnxhr": CodecSpec("dnxhd", "yuv422p10le", ".mov", options={"profile": "dnxhr_hqx"},
                       min_size=(256, 120)),
    # Level 3 with slices: multi-threaded and checksummed; bgr0 keeps the render's RGB bit-exact.
    "ffv1": CodecSpec("ffv1", "bgr0", ".mkv", lossless=True,
                      options={"level": "3", "slicecrc": "1"}),
}
#: Codecs that are limited range by definition, whatever the clip's range.
LIMITED_RANGE_CODECS = frozenset({"prores", "prores4444", "dnxhr"})
#: AVColorPrimaries BT.709 and AVColorTransferCharacteristic IEC 61966-2-1 (sRGB).
_BT709, _IEC61966_2_1 = 1, 13
#: x264/x265 speed preset when none is given.
DEFAULT_PRESET = "medium"
#: The speed presets x264 and x265 both know, fastest first.
X26X_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow",
                "slower", "veryslow", "placebo")
_CONTAINER_OF_SUFFIX = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska",
                        ".webm": "webm"}


def output_path(out: str | os.PathLike[str], codec: str) -> Path:
    """The output file for ``codec``: ``out`` as given, or with the codec's default suffix added
    when it has none (``shot`` -> ``shot.mov`` for ProRes).

    Raises:
        InputError: unknown codec, a container suffix we do not write, or no such folder.
    """
    if codec not in CODECS:
        raise InputError(f"unknown codec '{codec}' (one of: {', '.join(CODECS)})")
    p = Path(out)
    if not p.suffix:
        p = p.with_name(p.name + CODECS[codec].suffix)
    if p.suffix.lower() not in _CONTAINER_OF_SUFFIX:
        raise InputError(f"output must end in one of {', '.join(_CONTAINER_OF_SUFFIX)}", p)
    return resolve_output(p)


def write_error(exc: BaseException, path: Path) -> InputError:
    """One line for a failed write: full disk and permissions by name, FFmpeg's reason otherwise."""
    if isinstance(exc, InputError):
        return exc
    code = getattr(exc, "errno", None)
    if code in (errno.ENOSPC, errno.EDQUOT):
        return InputError("disk full while writing the export (no space left on device)", path)
    if code in (errno.EACCES, errno.EPERM):
        return InputError("cannot write here (permission denied)", path)
    if code == errno.EROFS:
        return InputError("cannot write here (read-only file system)", path)
    if isinstance(exc, OSError):
        text = exc.strerror or reason(exc)
        return InputError(f"cannot write the export ({text})", path)
    return InputError(f"encoding failed ({type(exc).__name__}: {reason(exc)})", path)


@dataclass(frozen=True, slots=True)
class WriterConfig:
    """What to write.

    Attributes:
        output: the final file (see :func:`output_path`).
        info: the clip being exported (size after rotation, rate, time base, matrix, range).
        codec: a key of :data:`CODECS`.
        crf: constant rate factor for h264/hevc (None: the codec's default).
        preset: x264/x265 speed preset.
        audio: copy the clip's audio streams.
        audio_window: (start, end) of the clip's audio to copy, seconds, end None = to the end of
            the file: packets that start inside it are copied whole (with a start > 0 the audio
            begins up to one packet after the video; at the end it may run one packet past).
        audio_shift_s: subtracted from copied audio timestamps (the start of a ``--range``).
        keep_partial: on cancel, finalise the partial file instead of deleting it.
        queue_size: frames waiting for the encoder at most.
    """

    output: Path
    info: MediaInfo
    codec: str = "h264"
    crf: int | None = None
    preset: str = DEFAULT_PRESET
    audio: bool = True
    audio_window: tuple[float, float | None] = (0.0, None)
    audio_shift_s: float = 0.0
    keep_partial: bool = False
    queue_size: int = 4


class VideoWriter:
    """Encodes frames on a background thread; see the module docstring.

    Use: ``open()`` (main thread: validates, writes the header, starts the thread), ``put`` each
    frame, then ``finish()`` and ``wait()``, or ``abort()`` at any point. ``put``, ``finish``,
    ``wait`` and ``abort`` are for the thread that opened the writer.

    Attributes:
        frames_written: frames encoded and muxed so far.
        audio_packets: audio packets copied so far.
        partial: the (temporary) file being written, once open.
    """

    def __init__(self, config: WriterConfig) -> None:
        if config.codec not in CODECS:
            raise InputError(f"unknown codec '{config.codec}' (one of: {', '.join(CODECS)})")
        self.config = config
        self.spec = CODECS[config.codec]
        self.output = config.output
        self._file = AtomicOutput(config.output)
        self.partial = config.output  # the temporary file, once open()
        self.frames_written = 0
        self.audio_packets = 0
        self._queue: queue.Queue[tuple[av.VideoFrame, int]] = queue.Queue(config.queue_size)
        self._ending = threading.Event()
        self._abort = threading.Event()
        self._error: BaseException | None = None
        self._container: av.container.OutputContainer | None = None
        self._source: av.container.InputContainer | None = None
        self._video: av.VideoStream | None = None
        self._audio_map: dict[int, av.stream.Stream] = {}
        self._audio_iter: Iterator[av.Packet] | None = None
        self._audio_next: av.Packet | None = None
        self._thread: threading.Thread | None = None
        self._finalised = False

    # -- main-thread API ---------------------------------------------------------------------

    def open(self) -> VideoWriter:
        """Create the partial file, set up the streams, write the header, start the thread.

        Raises:
            InputError: the folder is not writable, the size does not suit the codec, the
                container cannot hold the codec or the clip's audio.
        """
        info, spec = self.config.info, self.spec
        width, height = info.display_size
        sub_x = spec.pix_fmt.startswith(("yuv420", "yuv422"))
        if sub_x and (width % 2 or (spec.pix_fmt.startswith("yuv420") and height % 2)):
            raise InputError(
                f"{self.config.codec} ({spec.pix_fmt}) needs an even frame size, the clip is "
                f"{width}x{height}; use --codec ffv1", info.path)
        # Locked and created here, on the calling thread, so a second writer or an unwritable
        # folder is reported before any work starts (FFmpeg opens the file only for the header).
        self._file.open()
        self.partial = self._file.temp
        try:
            self._setup()
        except BaseException as exc:
            self._close_containers()
            self._file.close()
            if isinstance(exc, (av.FFmpegError, OSError, ValueError)):
                raise self._setup_error(exc) from None
            raise
        self._thread = threading.Thread(
            target=self._run, name=f"{THREAD_NAME_PREFIX}:{self.output.name}", daemon=True)
        self._thread.start()
        return self

    def put(self, frame: av.VideoFrame, pts: int, timeout: float | None = None) -> bool:
        """Queue ``frame`` (``rgba``, display size) shown at ``pts`` (clip time base).

        Args:
            timeout: seconds to wait for room; None waits as long as the encoder works, 0 never
                waits.

        Returns:
            False when the queue stayed full (try again later).

        Raises:
            InputError: the writer thread failed (full disk...); the partial file is gone.
        """
        self._raise_if_failed()
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        while True:
            left = _POLL_S if deadline is None else deadline - time.monotonic()
            wait = min(_POLL_S, max(0.0, left))
            try:
                if wait > 0:
                    self._queue.put((frame, pts), timeout=wait)
                else:
                    self._queue.put_nowait((frame, pts))
                return True
            except queue.Full:
                self._raise_if_failed()
                if self._thread is None or not self._thread.is_alive():
                    raise RuntimeError("writer thread is not running") from None
                if deadline is not None and time.monotonic() >= deadline:
                    return False

    def finish(self) -> None:
        """No more frames: the thread flushes the encoder, copies the remaining audio, writes
        the trailer and renames the file. Returns at once; see ``done`` and ``wait``."""
        self._ending.set()

    @property
    def done(self) -> bool:
        """The thread has stopped (finished, failed or aborted)."""
        return self._thread is not None and not self._thread.is_alive()

    @property
    def queued(self) -> int:
        """Frames waiting for the encoder."""
        return self._queue.qsize()

    def wait(self, timeout: float | None = None) -> Path | None:
        """Wait for the thread after ``finish()``; the output path once it is complete, None if
        still working after ``timeout`` seconds.

        Raises:
            InputError: writing failed; the partial file has been removed.
        """
        if self._thread is None:
            raise RuntimeError("open() the writer first")
        self._thread.join(timeout)
        if self._thread.is_alive():
            return None
        self._file.close()  # committed by the thread, or removed on failure: release the lock
        self._raise_if_failed()
        return self.output

    def abort(self) -> Path | None:
        """Stop now and delete the partial file, or finalise and keep it with ``keep_partial``.

        Returns:
            The kept partial file, or None. Idempotent; safe after a failure.
        """
        self._abort.set()
        self._ending.set()
        thread = self._thread
        if thread is not None and thread.ident != threading.get_ident():
            # A kept partial file gets the frames already queued; otherwise they are dropped.
            if not self.config.keep_partial:
                with contextlib.suppress(queue.Empty):
                    while True:
                        self._queue.get_nowait()
            thread.join(_JOIN_TIMEOUT_S)
            if thread.is_alive():
                raise RuntimeError(f"{thread.name} did not stop")
        self._close_containers()
        try:
            if self._finalised and self.config.keep_partial and self.error is None:
                with contextlib.suppress(InputError, OSError):
                    return self._file.keep_partial()
            return None
        finally:
            self._file.close()

    @property
    def error(self) -> InputError | None:
        """The failure of the writer thread, as the user will see it."""
        return None if self._error is None else write_error(self._error, self.output)

    # -- set-up (calling thread) -------------------------------------------------------------

    def _setup(self) -> None:
        cfg, info, spec = self.config, self.config.info, self.spec
        # The name the user gave decided the container (output_path); a symbolic link written
        # through may point at a file named otherwise: then the codec's own container.
        fmt = _CONTAINER_OF_SUFFIX.get(self.output.suffix.lower(),
                                       _CONTAINER_OF_SUFFIX[self.spec.suffix])
        # An image-sequence plate has no container to take colour tags or audio from.
        source = None if info.plate is not None else av.open(os.fspath(info.path), mode="r")
        self._source = source
        src_video = None if source is None else next(
            (s for s in source.streams.video
             if not s.disposition & av.stream.Disposition.attached_pic), None)
        options = {}
        if fmt in ("mp4", "mov"):
            # write_colr: the colour atom even when a tag is unspecified (ProRes has its colour
            # only there); faststart: the index up front, for players that stream MP4.
            options["movflags"] = "+write_colr" + ("+faststart" if fmt == "mp4" else "")
        out = av.open(os.fspath(self.partial), mode="w", format=fmt, options=options)
        self._container = out
        if spec.encoder not in out.supported_codecs:
            raise InputError(f"a {self.output.suffix} file cannot hold {cfg.codec}; use "
                             f"{spec.suffix}", self.output)
        mw, mh = spec.min_size
        if info.display_size[0] < mw or info.display_size[1] < mh:
            raise InputError(f"{cfg.codec} needs frames of at least {mw}x{mh}; the clip is "
                             f"{info.display_size[0]}x{info.display_size[1]}", self.output)
        rate = info.fps if info.fps.denominator != 1 else int(info.fps)
        video = out.add_stream(spec.encoder, rate=rate)
        # add_stream is typed by codec name; every encoder in CODECS is a video encoder.
        assert isinstance(video, av.VideoStream)
        width, height = info.display_size
        video.width, video.height = width, height
        video.pix_fmt = spec.pix_fmt
        cc = video.codec_context
        # Frames carry the clip's own timestamps, so the encoder and the stream count in the
        # clip's time base (containers that cannot store it rescale on their own).
        cc.time_base = info.time_base
        video.time_base = info.time_base
        self._set_colour(cc, src_video)
        if info.plate is not None:
            # Plates are rendered through the sRGB display encoding of Rec.709 primaries.
            cc.color_primaries, cc.color_trc = _BT709, _IEC61966_2_1
        if src_video is not None and src_video.sample_aspect_ratio:
            sar = Fraction(src_video.sample_aspect_ratio)
            if sar > 0 and sar != 1:
                video.sample_aspect_ratio = 1 / sar if info.rotation in (90, 270) else sar
        options = dict(spec.options)  # the encoder's, not the container's
        if spec.crf is not None:
            options["crf"] = str(cfg.crf if cfg.crf is not None else spec.crf)
            options["preset"] = cfg.preset
        if cfg.codec == "ffv1":
            options["slices"] = "16" if (os.cpu_count() or 1) >= 12 else "4"
        cc.options = options
        cc.thread_count = 0  # FFmpeg's choice: one per core
        if cfg.codec == "hevc" and fmt in ("mp4", "mov"):
            cc.codec_tag = "hvc1"  # what Apple players need to open HEVC in MP4/MOV
        self._video = video
        if cfg.audio and source is not None:
            for stream in source.streams.audio:
                try:
                    self._audio_map[stream.index] = out.add_stream_from_template(stream)
                except ValueError:
                    name = stream.codec_context.name if stream.codec_context else "?"
                    raise InputError(
                        f"a {self.output.suffix} file cannot hold the clip's {name} audio; "
                        "use .mkv or --no-audio", self.output) from None
        if self._audio_map:
            self._audio_iter = self._audio_packets()
        elif source is not None:
            source.close()
            self._source = None
        out.start_encoding()

    def _set_colour(self, cc: av.video.codeccontext.VideoCodecContext,
                    src: av.VideoStream | None) -> None:
        info = self.config.info
        scc = src.codec_context if src is not None else None
        primaries = int(scc.color_primaries or _UNSPECIFIED) if scc is not None else _UNSPECIFIED
        trc = int(scc.color_trc or _UNSPECIFIED) if scc is not None else _UNSPECIFIED
        cc.color_primaries = primaries
        cc.color_trc = trc
        if self.spec.rgb:
            cc.colorspace = _AVCOL_SPC_RGB
            cc.color_range = _RANGE_CODE["full"]
            return
        code = int(scc.colorspace or _UNSPECIFIED) if scc is not None else _UNSPECIFIED
        # Always tag the matrix the pixels were converted with; keep the clip's own code for it
        # (bt470bg and smpte170m are both BT.601) so the tags read back as they were.
        cc.colorspace = code if code in _SAME_MATRIX[info.color_matrix] else (
            _MATRIX_CODE[info.color_matrix])
        # ProRes is limited range by definition.
        crange = "limited" if self.config.codec in LIMITED_RANGE_CODECS else info.color_range
        cc.color_range = _RANGE_CODE[crange]

    def _setup_error(self, exc: BaseException) -> InputError:
        if isinstance(exc, InputError):
            return exc
        if isinstance(exc, OSError) and getattr(exc, "errno", None) not in (None, errno.EINVAL):
            return write_error(exc, self.partial)
        return InputError(f"cannot set up the {self.config.codec} encoder ({reason(exc)})",
                          self.output)

    # -- writer thread -----------------------------------------------------------------------

    def _run(self) -> None:
        try:
            keep = self.config.keep_partial
            while True:
                if self._abort.is_set() and not keep:
                    return  # abort() deletes the file; nothing more to encode
                try:
                    frame, pts = self._queue.get(timeout=_POLL_S)
                except queue.Empty:
                    if self._ending.is_set():
                        break
                    continue
                self._encode(frame, pts)
            self._encode(None, 0)  # flush
            self._mux_audio_until(None)
            self._close_output()
            self._finalised = True
            if not self._abort.is_set():
                self._file.commit()
        except BaseException as exc:  # every failure reaches the main thread
            self._error = exc
            self._close_containers()
            self._file.discard()
        finally:
            if self._source is not None:
                self._source.close()
                self._source = None

    def _encode(self, frame: av.VideoFrame | None, pts: int) -> None:
        assert self._video is not None
        info = self.config.info
        if frame is not None:
            if self.spec.rgb:
                frame = frame.reformat(format=self.spec.pix_fmt)
            else:
                rng = "limited" if self.config.codec in LIMITED_RANGE_CODECS else info.color_range
                frame = frame.reformat(format=self.spec.pix_fmt,
                                       dst_colorspace=_SWS_MATRIX[info.color_matrix],
                                       dst_color_range=_RANGE_CODE[rng])
            frame.pts = pts
            frame.time_base = info.time_base
        for packet in self._video.encode(frame):
            if packet.dts is not None and packet.time_base is not None:
                self._mux_audio_until(float(packet.dts * packet.time_base) + AUDIO_LEAD_S)
            self._mux(packet)
            self.frames_written += 1  # one packet per frame for every codec we write

    def _mux(self, packet: av.Packet) -> None:
        """Write one packet (patched by tests to simulate a full disk)."""
        assert self._container is not None
        self._container.mux(packet)

    def _audio_packets(self) -> Iterator[av.Packet]:
        assert self._source is not None
        return audio_packets_in_window(self._source, list(self._audio_map),
                                       self.config.audio_window)

    def _mux_audio_until(self, limit_s: float | None) -> None:
        """Copy audio packets whose decode time is before ``limit_s`` (all when None)."""
        if self._audio_iter is None:
            return
        shift = self.config.audio_shift_s
        while True:
            packet = self._audio_next
            if packet is None:
                packet = next(self._audio_iter, None)
                if packet is None:
                    self._audio_iter = None
                    return
            assert packet.dts is not None and packet.time_base is not None
            if limit_s is not None and float(packet.dts * packet.time_base) - shift > limit_s:
                self._audio_next = packet
                return
            self._audio_next = None
            if shift:
                offset = round(Fraction(shift) / packet.time_base)
                packet.dts -= offset
                if packet.pts is not None:
                    packet.pts -= offset
            packet.stream = self._audio_map[packet.stream_index]
            self._mux(packet)
            self.audio_packets += 1

    def _close_output(self) -> None:
        out, self._container = self._container, None
        if out is not None:
            out.close()

    def _close_containers(self) -> None:
        for attr in ("_container", "_source"):
            c = getattr(self, attr)
            setattr(self, attr, None)
            if c is not None:
                with contextlib.suppress(Exception):  # already failing: the first error counts
                    c.close()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise write_error(self._error, self.output)


def audio_packets_in_window(source: av.container.InputContainer, indices: list[int],
                            window: tuple[float, float | None]) -> Iterator[av.Packet]:
    """The audio packets of streams ``indices`` of ``source`` that start inside ``window``
    (seconds; end None = to the end), in file order: what an export copies (the farm's join
    too, so a joined file has the single export's audio)."""
    start, end = window
    streams = [source.streams[i] for i in indices]
    if start > 0:
        # Land a little early: the demuxer may seek to a point after the target.
        target = max(0, int((start - 1.0) * av.time_base))
        with contextlib.suppress(av.FFmpegError):
            source.seek(target, backward=True, any_frame=False)
    for packet in source.demux(*streams):
        if packet.dts is None or packet.size == 0 or packet.time_base is None:
            continue  # the demuxer's end-of-stream marker
        t0 = float((packet.pts if packet.pts is not None else packet.dts) * packet.time_base)
        if start > 0 and t0 < start - 1e-6:
            # Not even the packet overlapping the start: it would begin before the video,
            # and Matroska shifts a whole file whose timestamps go negative.
            continue
        if end is not None and t0 >= end:
            continue  # streams may interleave late packets; keep reading the others
        yield packet
