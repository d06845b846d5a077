"""One opened clip with its depth: decoder thread, frame cache and GPU upload, driven per frame.

The app asks for the frame its playhead is on (``show(index, playing)``); the session decides
whether that is the next packet of the running decode (playback: late packets are dropped and
counted), or a jump that needs a seek (scrubbing, stepping back, looping; recent frames come from
the cache at once). A new frame is uploaded to ``color`` / ``depth`` textures and its inverse
depth is kept on the CPU for click-to-focus and the histogram.

Opening validates everything first (``probe_clip``, ``open_depth``) and raises ``InputError``
before any thread or GL object exists, so a bad file never disturbs the session already playing.
The decoder thread never touches GL; ``close`` joins it and releases the textures.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import moderngl
import numpy as np
import numpy.typing as npt

from rackfocus_live.depth import DepthMapping
from rackfocus_live.depthcond import DepthConditioning
from rackfocus_live.gpu.context import (
    check_frame_size,
    interleave_chroma_for,
    restore_framebuffer,
)
from rackfocus_live.gpu.programs import ProgramCache
from rackfocus_live.gpu.upload import FrameUploader
from rackfocus_live.media.decoder import DecoderThread, FramePacket
from rackfocus_live.media.depthsource import DepthSource
from rackfocus_live.media.framecache import FrameCache
from rackfocus_live.media.probe import MediaInfo
from rackfocus_live.media.sequence import ClipOptions, open_clip_depth, probe_media

#: Packets decoded ahead of playback.
QUEUE_SIZE = 8
#: Frame cache budget for scrubbing (bytes of decoded planes and depth).
CACHE_BYTES = 512 << 20
#: A forward jump of at most this many frames during playback is caught up by dropping the
#: packets in between; a larger one seeks.
CATCH_UP_FRAMES = QUEUE_SIZE + 4


@dataclass
class SessionStats:
    """Counters for the HUD."""

    shown: int = 0
    dropped: int = 0
    seeks: int = 0


class MediaSession:
    """A playing clip; see the module docstring. Main thread only, except the decoder inside.

    Args:
        ctx: GL context of the window (or a headless one in tests).
        programs: shader cache.
        clip: the clip path.
        depth: depth video / image sequence pattern / still, or None (everything at infinity).
        mapping: how raw depth maps to inverse depth.
        warn: receives one-line warnings (depth alignment) for the panel.
        options: a sequence's rate, a named input colour space, the EXR depth channel.

    Raises:
        InputError: the clip or the depth cannot be used (nothing is left open).
    """

    def __init__(
        self,
        ctx: moderngl.Context,
        programs: ProgramCache,
        clip: str | Path,
        depth: str | Path | None,
        mapping: DepthMapping,
        *,
        warn: list[str] | None = None,
        conditioning: DepthConditioning | None = None,
        options: ClipOptions | None = None,
    ) -> None:
        self.ctx = ctx
        self.clip_path = Path(clip)
        self.depth_path = None if depth is None else Path(depth)
        self.mapping = mapping
        self.options = options or ClipOptions()
        self.info: MediaInfo = probe_media(self.clip_path, fps=self.options.fps,
                                           plan=self.options.colour)
        check_frame_size(ctx, self.info.display_size, self.clip_path)
        notes: list[str] = [] if warn is None else warn
        self.depth_source = (
            None if depth is None else open_depth_quiet(depth, mapping, self.info, notes,
                                                        self.options.depth_channel)
        )
        if self.depth_source is not None:
            check_frame_size(ctx, (self.depth_source.width, self.depth_source.height), depth)
        self.cache = FrameCache(CACHE_BYTES)
        self.decoder = DecoderThread(self.clip_path, self.depth_source, QUEUE_SIZE, self.cache,
                                     info=self.info,
                                     interleave_chroma=interleave_chroma_for(ctx))
        w, h = self.info.display_size
        moving = self.depth_source is not None and self.depth_source.kind != "still"
        self.uploader = FrameUploader(ctx, programs, w, h,
                                      conditioning=conditioning or DepthConditioning(),
                                      depth_kind=mapping.kind, depth_moving=moving)
        if self.depth_source is not None:  # read from the clip's start, as a whole export does
            self.uploader.measure_depth_detail(self.depth_source, 0)
        self.decoder.start()
        self.stats = SessionStats()
        #: Index of the frame in the textures, or None before the first upload.
        self.current: int | None = None
        #: Inverse depth of the current frame (1/m, HxW at the depth's resolution, read-only).
        self.inv_depth: npt.NDArray[np.float32] | None = None
        self._seek_target: int | None = 0  # the decoder starts at frame 0 by itself
        self._closed = False

    # -- properties ------------------------------------------------------------------------------

    @property
    def size(self) -> tuple[int, int]:
        return self.info.display_size

    @property
    def color(self) -> moderngl.Texture:
        return self.uploader.color

    def set_conditioning(self, settings: DepthConditioning) -> bool:
        """Use ``settings`` from now on; re-conditions the shown frame. True if they changed."""
        return self.uploader.set_conditioning(settings)

    @property
    def depth(self) -> moderngl.Texture:
        return self.uploader.depth

    @property
    def depth_detail(self) -> float | None:
        """How much coarser than its pixels the clip's depth reads (``depthdetail``); None
        before it is read, where its edges cannot tell, or with no conditioning."""
        conditioner = self.uploader.conditioner
        return None if conditioner is None else conditioner.detail.scale

    @property
    def queue_fill(self) -> float:
        """How full the decoder's look-ahead queue is (0..1)."""
        if self.decoder is None:
            return 0.0
        return min(self.decoder.queued / self.decoder.queue_capacity, 1.0)

    # -- per frame -------------------------------------------------------------------------------

    def show(self, index: int, *, playing: bool, timeout: float = 0.0) -> bool:
        """Bring frame ``index`` into the textures if it is available.

        Args:
            index: the frame the playhead is on.
            playing: playback (late frames are dropped to keep up) or not (scrub/step: seek).
            timeout: seconds to wait for the frame (0: never block the UI).

        Returns:
            True when a new frame was uploaded.

        Raises:
            InputError: the decoder failed (damaged file); the last good frame stays shown.
        """
        index = min(max(index, 0), self.info.frame_count - 1)
        if index == self.current:
            return False
        ahead = self.current is not None and 0 < index - self.current <= CATCH_UP_FRAMES
        sequential = playing and ahead and self._seek_target is None
        if not sequential and index != self._seek_target:
            self.decoder.seek(index)
            self._seek_target = index
            self.stats.seeks += 1
        packet = self.decoder.get_frame(index, timeout)
        if packet is None:
            return False
        if sequential and self.current is not None:
            self.stats.dropped += index - self.current - 1
        self._seek_target = None
        self._upload(packet)
        return True

    def _upload(self, packet: FramePacket) -> None:
        self.uploader.upload(packet, self.info)
        self.current = packet.index
        self.inv_depth = packet.depth
        self.stats.shown += 1

    def inverse_depth_window(self, ix: float, iy: float, radius: int) -> npt.NDArray[np.float32]:
        """Inverse-depth samples around image pixel (ix, iy) of the clip, from the CPU copy of the
        current depth (the point is scaled to the depth's resolution, which may be lower; the
        radius counts depth samples)."""
        from rackfocus_live.ui.state import window_around

        d = self.inv_depth
        if d is None or d.size <= 1:
            return np.zeros((0, 0), np.float32)
        w, h = self.size
        dh, dw = d.shape
        return np.asarray(window_around(d, ix * dw / w, iy * dh / h, radius), np.float32)

    def histogram(self, bins: int = 64, step: int = 4) -> tuple[npt.NDArray[np.float32], float,
                                                                  float]:
        """Histogram of the current frame's inverse depth (every ``step``-th sample in x and y):
        (counts normalised to a peak of 1, inverse depth at the first and last bin edge)."""
        d = self.inv_depth
        if d is None:
            return np.zeros(bins, np.float32), 0.0, 1.0
        sub = np.asarray(d[::step, ::step], np.float64).ravel()
        sub = sub[np.isfinite(sub) & (sub >= 0)]
        if sub.size == 0:
            return np.zeros(bins, np.float32), 0.0, 1.0
        lo, hi = float(sub.min()), float(sub.max())
        if hi <= lo:
            hi = lo + 1e-6
        counts, _ = np.histogram(sub, bins=bins, range=(lo, hi))
        peak = max(int(counts.max()), 1)
        return (counts / peak).astype(np.float32), lo, hi

    def close(self) -> None:
        """Join the decoder thread and release GL objects. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            self.decoder.close()
        finally:
            # The uploader's conversion pass leaves its framebuffer bound; bind the default one
            # before that framebuffer dies (see gpu.context.restore_framebuffer).
            restore_framebuffer(self.ctx, None)
            self.uploader.release()
            self.cache.clear()


def open_depth_quiet(
    path: str | Path, mapping: DepthMapping, info: MediaInfo, notes: list[str],
    channel: str | None = None,
) -> DepthSource:
    """``open_depth`` with its warning line collected into ``notes`` (for the panel) instead of
    printed to stderr."""
    return open_clip_depth(path, channel, mapping, info, warn=notes.append)
