"""Join rendered chunks into one file without re-encoding, and copy the clip's audio once (for
h264/hevc: FFV1 chunks encoded once, by the export's writer).

Every chunk is checked before the output is created: it must exist under its final name (so a
chunk whose render died is missing, never half there) and hold exactly the frames of its range,
each at the time of its source frame. Timestamps are not added up from the chunks (Matroska
rounds them to milliseconds): each packet gets the exact timestamp of the source frame it was
rendered from, less the start of the export, which is what a single ``export`` writes. The audio
follows the export's rules (``docs/export.md``): packets that start inside the exported range,
copied whole, shifted with the video.

The output is written under a temporary name beside it and renamed when the trailer is written.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from rackfocus_live.errors import InputError
from rackfocus_live.farm.paths import CONTAINER_OF_SUFFIX
from rackfocus_live.farm.plan import Chunk, joins_by_remux, shown_frames, source_pts
from rackfocus_live.files import AtomicOutput, resolve_output
from rackfocus_live.media.probe import MediaInfo
from rackfocus_live.media.writer import (
    AUDIO_LEAD_S,
    DEFAULT_PRESET,
    VideoWriter,
    WriterConfig,
    audio_packets_in_window,
)


@dataclass(frozen=True, slots=True)
class _ChunkCheck:
    path: Path
    source_pts: list[int]  # exact source timestamp of each packet to copy
    skip_last: bool  # the next chunk starts with this chunk's last frame (a VFR gap)


def join_chunks(
    info: MediaInfo,
    chunks: Sequence[Chunk],
    chunk_files: Sequence[Path],
    output: Path,
    *,
    codec: str = "ffv1",
    crf: int | None = None,
    preset: str = DEFAULT_PRESET,
    audio: bool = True,
    on_chunk: Callable[[int, int], None] | None = None,
) -> Path:
    """Join ``chunk_files`` (in order, covering ``chunks``) into ``output`` with the clip's audio.

    Chunks in the export's own (intra-only) codec are remuxed; FFV1 chunks of an h264 or hevc
    export are decoded and encoded once, by the export's own writer (``VideoWriter``), with the
    export's timestamps and audio rules, so the file is what a single export writes.

    Args:
        info: the clip the chunks were rendered from.
        chunks: the frame ranges, contiguous and in order.
        codec, crf, preset: the export's codec settings.
        on_chunk: called with (chunks joined, total) as the join proceeds.

    Raises:
        InputError: a chunk is missing, unreadable or does not hold its frames (nothing is
            written then), or writing failed (the temporary file is removed).
    """
    all_pts = source_pts(info)
    checks = _check_chunks(info, all_pts, chunks, chunk_files)
    start, end = chunks[0].start, chunks[-1].end
    offset = info.pts_of_index(start) - info.start_pts
    tb = info.time_base
    window = (float(info.pts_of_index(start) * tb) if start > 0 else 0.0,
              None if end >= info.frame_count else float(info.pts_of_index(end) * tb))
    if not joins_by_remux(codec):
        config = WriterConfig(output=output, info=info, codec=codec, crf=crf, preset=preset,
                              audio=audio, audio_window=window,
                              audio_shift_s=float(offset * tb))
        _encode(config, checks, offset, on_chunk)
        return output
    with AtomicOutput(resolve_output(output)) as target:
        try:
            _remux(info, checks, target.temp, output, offset, window if audio else None,
                   on_chunk)
        except (av.FFmpegError, OSError) as exc:
            raise InputError(f"cannot write the joined file ({exc})", output) from None
        target.commit()
    return output


def _check_chunks(info: MediaInfo, all_pts: list[int], chunks: Sequence[Chunk],
                  files: Sequence[Path]) -> list[_ChunkCheck]:
    if len(chunks) != len(files) or not chunks:
        raise InputError(f"{len(files)} chunk files for {len(chunks)} chunks")
    for a, b in itertools.pairwise(chunks):
        if a.end != b.start:
            raise InputError(f"chunks {a.index} and {b.index} are not contiguous")
    checks: list[_ChunkCheck] = []
    for chunk, path in zip(chunks, files, strict=True):
        if not path.is_file():
            raise InputError(f"chunk {chunk.index} (frames {chunk.start}:{chunk.end}) is missing: "
                             "not rendered, or its render did not finish", path)
        expected = shown_frames(info, all_pts, chunk.start, chunk.end)
        times = _packet_times(path)
        if len(times) != len(expected):
            raise InputError(f"chunk {chunk.index} has {len(times)} frames, frames "
                             f"{chunk.start}:{chunk.end} need {len(expected)}", path)
        # Compared relative to the chunk's first frame: Matroska keeps milliseconds, and shifts
        # a chunk whose first slot repeats an earlier frame (negative time) to zero.
        tolerance = Fraction(1, 1000) + info.time_base
        for t, want in zip(times, expected, strict=True):
            if abs((t - times[0]) - (want - expected[0]) * info.time_base) > tolerance:
                raise InputError(f"chunk {chunk.index}: the frame at {float(t):.4f} s does not "
                                 "match the clip's frame there (rendered from another clip?)",
                                 path)
        checks.append(_ChunkCheck(path, expected, False))
    # A chunk whose first slot repeats the frame before it (a gap in a variable-rate clip)
    # renders that frame again. The earlier copy is the one dropped: the later one opens its
    # chunk as a keyframe, and FFV1 frames after a keyframe carry its coder state.
    for k in range(len(checks) - 1):
        if checks[k + 1].source_pts[0] == checks[k].source_pts[-1]:
            checks[k] = dataclasses.replace(checks[k], skip_last=True)
    return checks


def _packet_times(path: Path) -> list[Fraction]:
    """Presentation times (seconds, exact) of the video packets of a chunk, in file order."""
    try:
        with av.open(os.fspath(path)) as container:
            stream = container.streams.video[0]
            if stream.time_base is None:
                raise InputError("chunk has no time base", path)
            tb = Fraction(stream.time_base)
            return [p.pts * tb for p in container.demux(stream) if p.size and p.pts is not None]
    except (av.FFmpegError, OSError, IndexError) as exc:
        raise InputError(f"unreadable chunk ({exc})", path) from None


def _remux(info: MediaInfo, checks: list[_ChunkCheck], temp: Path, output: Path, offset: int,
           audio_window: tuple[float, float | None] | None,
           on_chunk: Callable[[int, int], None] | None) -> None:
    fmt = CONTAINER_OF_SUFFIX[output.suffix.lower()]
    options = {"movflags": "+write_colr" + ("+faststart" if fmt == "mp4" else "")} if fmt in (
        "mp4", "mov") else {}
    tb = info.time_base
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(av.open(os.fspath(temp), mode="w", format=fmt,
                                          options=options))
        first = stack.enter_context(av.open(os.fspath(checks[0].path)))
        video = out.add_stream_from_template(first.streams.video[0])
        video.time_base = tb
        rate = info.fps if info.fps.denominator != 1 else int(info.fps)
        video.codec_context.framerate = rate  # type: ignore[assignment]
        audio_packets: Iterator[av.Packet] = iter(())
        audio_map: dict[int, av.stream.Stream] = {}
        if audio_window is not None and info.has_audio:
            source = stack.enter_context(av.open(os.fspath(info.path)))
            for stream in source.streams.audio:
                try:
                    audio_map[stream.index] = out.add_stream_from_template(stream)
                except ValueError:
                    raise InputError(f"a {output.suffix} file cannot hold the clip's audio; "
                                     "use .mkv or --no-audio", output) from None
            audio_packets = audio_packets_in_window(source, list(audio_map), audio_window)
        out.start_encoding()
        shift = Fraction(offset) * tb
        pending: av.Packet | None = None
        for n, check in enumerate(checks):
            with av.open(os.fspath(check.path)) as chunk:
                chunk_video = chunk.streams.video[0]
                packets = (p for p in chunk.demux(chunk_video) if p.size)
                keep = check.source_pts[:-1] if check.skip_last else check.source_pts
                for packet, src in zip(packets, keep, strict=False):
                    pts = src - offset
                    pending = _mux_audio_until(out, audio_packets, audio_map, pending, shift,
                                               pts * tb + Fraction(AUDIO_LEAD_S))
                    packet.stream = video
                    packet.time_base = tb  # type: ignore[assignment]
                    packet.pts = packet.dts = pts
                    packet.duration = 0
                    out.mux(packet)
            if on_chunk is not None:
                on_chunk(n + 1, len(checks))
        _mux_audio_until(out, audio_packets, audio_map, pending, shift, None)


def _encode(config: WriterConfig, checks: list[_ChunkCheck], offset: int,
            on_chunk: Callable[[int, int], None] | None) -> None:
    """Decode the (lossless) chunks and encode them once with the export's writer."""
    writer = VideoWriter(config).open()
    try:
        for n, check in enumerate(checks):
            keep = check.source_pts[:-1] if check.skip_last else check.source_pts
            try:
                with av.open(os.fspath(check.path)) as chunk:
                    frames = chunk.decode(chunk.streams.video[0])
                    for src, frame in zip(keep, frames, strict=False):
                        # bgr0 -> rgba is a lossless reorder: the rendered pixels, as the
                        # export hands them to its writer. A decoded frame is marked I, which
                        # would force the encoder to make every frame a keyframe; a rendered
                        # frame leaves the choice to the encoder.
                        rgba = frame.reformat(format="rgba")
                        rgba.pict_type = av.video.frame.PictureType.NONE
                        writer.put(rgba, src - offset, timeout=None)
            except (av.FFmpegError, OSError) as exc:
                raise InputError(f"cannot decode the chunk ({exc})", check.path) from None
            if on_chunk is not None:
                on_chunk(n + 1, len(checks))
        writer.finish()
        writer.wait()
    except BaseException:
        writer.abort()
        raise


def _mux_audio_until(out: av.container.OutputContainer, packets: Iterator[av.Packet],
                     streams: dict[int, av.stream.Stream], pending: av.Packet | None,
                     shift: Fraction, limit: Fraction | None) -> av.Packet | None:
    """Mux audio packets whose shifted decode time is <= ``limit`` (all when None); returns the
    first packet not muxed yet."""
    while True:
        packet = pending if pending is not None else next(packets, None)
        pending = None
        if packet is None:
            return None
        assert packet.dts is not None and packet.time_base is not None
        if limit is not None and packet.dts * packet.time_base - shift > limit:
            return packet
        if shift:
            ticks = round(shift / packet.time_base)
            packet.dts -= ticks
            if packet.pts is not None:
                packet.pts -= ticks
        packet.stream = streams[packet.stream_index]
        out.mux(packet)
