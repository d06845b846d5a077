"""Which frames a chunked export writes: chunk ranges, and the source frames behind each.

An export writes one frame per distinct source frame it shows. Slot ``i`` shows the last source
frame whose slot (``MediaInfo.index_of_pts``) is <= ``i`` (``media.reader``), and a slot that
shows the frame of the slot before it (a gap in a variable-rate clip) is skipped. A chunk starts
with an empty ``last pts`` of its own, so when its first slot is such a repeat it writes that
frame once more: the join drops it. Everything here is pure (no GL); reading the source
timestamps demuxes the clip without decoding it.
"""

from __future__ import annotations

import bisect
import os
from dataclasses import dataclass

import av

from rackfocus_live.errors import InputError
from rackfocus_live.media.probe import MediaInfo

#: Intra-only codecs: their chunks join packet for packet. Value: the chunk file suffix.
CHUNK_SUFFIX = {"ffv1": ".mkv", "prores": ".mov"}
#: The chunk codec of each export codec: itself when intra-only; lossless FFV1 for the codecs
#: whose frames depend on each other (h264, hevc), which the join then encodes once.
CHUNK_CODEC = {"ffv1": "ffv1", "prores": "prores", "h264": "ffv1", "hevc": "ffv1"}


@dataclass(frozen=True, slots=True)
class Chunk:
    """Frames [start, end) of the clip, rendered as chunk ``index``."""

    index: int
    start: int
    end: int

    @property
    def frames(self) -> int:
        return self.end - self.start


def plan_chunks(start: int, end: int, chunk_frames: int) -> list[Chunk]:
    """Frame slots [start, end) cut into chunks of ``chunk_frames`` (the last may be shorter)."""
    if chunk_frames < 1:
        raise InputError(f"--chunk-frames must be >= 1, got {chunk_frames}")
    if end <= start:
        raise InputError(f"nothing to export (frames {start}:{end})")
    return [Chunk(k, s, min(s + chunk_frames, end))
            for k, s in enumerate(range(start, end, chunk_frames))]


def chunk_codec(codec: str) -> str:
    """The codec the chunks of an export in ``codec`` are rendered in."""
    if codec not in CHUNK_CODEC:
        raise InputError(f"unknown codec '{codec}' (one of: {', '.join(CHUNK_CODEC)})")
    return CHUNK_CODEC[codec]


def joins_by_remux(codec: str) -> bool:
    """Whether the chunks of an export in ``codec`` are joined without re-encoding."""
    return chunk_codec(codec) == codec


def source_pts(info: MediaInfo) -> list[int]:
    """Every video frame's presentation timestamp in the clip, sorted (demuxed, not decoded)."""
    try:
        with av.open(os.fspath(info.path)) as container:
            stream = container.streams.video[0]
            found = {p.pts for p in container.demux(stream) if p.pts is not None and p.size}
    except (av.FFmpegError, OSError) as exc:
        raise InputError(f"cannot read the clip's timestamps ({exc})", info.path) from None
    return sorted(found)


def shown_frames(info: MediaInfo, all_pts: list[int], start: int, end: int) -> list[int]:
    """Source pts of the distinct frames an export of slots [start, end) writes, in order
    (the first one included even when slot ``start`` repeats the frame before it)."""
    slots = [info.index_of_pts(p) for p in all_pts]
    out: list[int] = []
    for i in range(start, end):
        k = bisect.bisect_right(slots, i) - 1  # the last frame whose slot is <= i
        pts = all_pts[max(k, 0)]
        if not out or out[-1] != pts:
            out.append(pts)
    return out
