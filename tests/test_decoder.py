"""DecoderThread and VideoReader on generated clips whose pixels and depth carry the frame index."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import pytest

from rackfocus_live.media.decoder import THREAD_NAME_PREFIX, DecoderThread, FramePacket
from rackfocus_live.media.depthsource import open_depth
from rackfocus_live.media.framecache import FrameCache
from rackfocus_live.media.probe import MediaInfo, probe_clip
from rackfocus_live.media.reader import VideoReader, frame_planes
from tests import media_factory as mf

pytestmark = pytest.mark.timeout(60)

NTSC = Fraction(24000, 1001)
WAIT = 5.0  # seconds a get may wait; a hang fails instead of blocking the run


@pytest.fixture(autouse=True)
def _no_leaked_threads() -> Iterator[None]:
    yield
    leaked = [t.name for t in threading.enumerate() if t.name.startswith(THREAD_NAME_PREFIX)]
    assert leaked == []


def check(packet: FramePacket | None, index: int, bits: int = 8) -> FramePacket:
    """The packet is frame ``index``: by its field, its pixels and its depth."""
    assert packet is not None, f"no packet for frame {index}"
    assert packet.index == index
    assert mf.read_code(packet.planes[0], bits) == index
    if packet.depth.shape != (1, 1):
        assert mf.read_depth_index(packet.depth) == index
    return packet


def play_all(dec: DecoderThread) -> list[FramePacket]:
    out = []
    while len(out) < dec.info.frame_count:
        packet = dec.get(WAIT)
        assert packet is not None, f"stalled after {len(out)} packets"
        out.append(packet)
    return out


@pytest.mark.parametrize(
    ("suffix", "fps", "pix_fmt"),
    [(".mp4", NTSC, "yuv420p"), (".mkv", Fraction(25), "yuv444p"),
     (".mov", Fraction(30000, 1001), "yuv420p10le")],
)
def test_every_packet_has_matching_clip_and_depth_index(
    tmp_path: Path, suffix: str, fps: Fraction, pix_fmt: str
) -> None:
    clip = mf.make_clip(tmp_path / f"c{suffix}", frames=40, fps=fps, gop=12, bframes=2,
                        pix_fmt=pix_fmt, audio=True)
    info = probe_clip(clip)
    depth = open_depth(mf.make_depth_video(tmp_path / "d.mkv", frames=40, fps=fps),
                       mf.DEPTH_MAPPING, info)
    bits = 10 if "10" in pix_fmt else 8
    with DecoderThread(clip, depth, queue_size=4, info=info) as dec:
        packets = play_all(dec)
        assert dec.get(0.05) is None and dec.at_end
    for i, packet in enumerate(packets):
        check(packet, i, bits)
        assert packet.format == pix_fmt and packet.epoch == 0
        assert packet.time == pytest.approx(i / fps)
        assert info.index_of_pts(packet.pts) == i
        assert not packet.planes[0].flags.writeable and not packet.depth.flags.writeable


@pytest.fixture
def gop_clip(tmp_path: Path) -> tuple[Path, MediaInfo, object]:
    clip = mf.make_clip(tmp_path / "g.mp4", frames=48, fps=NTSC, gop=12, bframes=3)
    info = probe_clip(clip)
    depth = open_depth(mf.make_depth_video(tmp_path / "d.mkv", frames=48, fps=NTSC),
                       mf.DEPTH_MAPPING, info)
    return clip, info, depth


@pytest.mark.parametrize("target", [0, 1, 5, 11, 12, 13, 30, 46, 47])
def test_seek_yields_exactly_the_target_frame(gop_clip, target: int) -> None:  # type: ignore[no-untyped-def]
    clip, info, depth = gop_clip
    with DecoderThread(clip, depth, info=info) as dec:
        assert dec.get(WAIT) is not None  # running
        dec.seek(target)
        check(dec.get(WAIT), target)
        # Playback continues from the target.
        for k in range(target + 1, min(target + 4, info.frame_count)):
            check(dec.get(WAIT), k)


def test_no_packet_from_before_a_seek_arrives_after_it(gop_clip) -> None:  # type: ignore[no-untyped-def]
    clip, info, depth = gop_clip
    rnd = random.Random(7)
    with DecoderThread(clip, depth, queue_size=3, info=info) as dec:
        time.sleep(0.1)  # let the queue fill with frames the seeks must discard
        for _ in range(25):
            target = rnd.randrange(info.frame_count)
            dec.seek(target)
            if rnd.random() < 0.3:
                dec.seek(target := rnd.randrange(info.frame_count))  # seek over a seek
            for k in range(target, min(target + rnd.randrange(1, 4), info.frame_count)):
                packet = check(dec.get(WAIT), k)
                assert packet.epoch == dec.epoch


def test_seek_while_decoding_forward_abandons_the_old_target(tmp_path: Path) -> None:
    clip = mf.make_clip(tmp_path / "long.mp4", frames=240, gop=240, size=(160, 120))
    with DecoderThread(clip, None) as dec:
        dec.seek(230)  # decodes 230 frames forward from the only keyframe
        dec.seek(3)
        check(dec.get(WAIT), 3)


def test_frame_cache_answers_seeks_without_decoding(gop_clip) -> None:  # type: ignore[no-untyped-def]
    clip, info, depth = gop_clip
    cache = FrameCache()
    with DecoderThread(clip, depth, info=info, cache=cache) as dec:
        play_all(dec)
        assert len(cache) == info.frame_count
        hits = cache.hits
        for target in (40, 3, 25, 47, 0):
            dec.seek(target)
            check(dec.get(0.0), target)  # queued by seek() itself: no wait at all
        assert cache.hits >= hits + 5


def test_get_frame_drops_late_frames_and_keeps_early_ones(gop_clip) -> None:  # type: ignore[no-untyped-def]
    clip, info, depth = gop_clip
    with DecoderThread(clip, depth, queue_size=8, info=info) as dec:
        time.sleep(0.2)
        check(dec.get_frame(5, WAIT), 5)  # 0..4 were late: dropped
        assert dec.get_frame(5, 0.0) is None  # 6 is ahead of frame 5: kept for later
        check(dec.get_frame(6, WAIT), 6)
        check(dec.get(WAIT), 7)


def test_clip_without_depth_carries_infinite_depth(tmp_path: Path) -> None:
    clip = mf.make_clip(tmp_path / "c.mp4", frames=3)
    with DecoderThread(clip, None) as dec:
        packet = dec.get(WAIT)
    assert packet is not None and packet.depth.shape == (1, 1) and packet.depth[0, 0] == 0


def test_half_resolution_depth_keeps_its_size(tmp_path: Path) -> None:
    clip = mf.make_clip(tmp_path / "c.mp4", frames=12, size=(64, 48))
    info = probe_clip(clip)
    depth = open_depth(mf.make_depth_video(tmp_path / "d.mkv", frames=12, size=(32, 24)),
                       mf.DEPTH_MAPPING, info)
    with DecoderThread(clip, depth, info=info) as dec:
        packets = play_all(dec)
    for i, packet in enumerate(packets):
        check(packet, i)
        assert packet.depth.shape == (24, 32) and packet.planes[0].shape == (48, 64)


def test_depth_with_fewer_frames_repeats_the_aligned_frame(tmp_path: Path) -> None:
    clip = mf.make_clip(tmp_path / "c.mp4", frames=24, fps=24)
    info = probe_clip(clip)
    depth = open_depth(mf.make_depth_video(tmp_path / "d.mkv", frames=12, fps=12),
                       mf.DEPTH_MAPPING, info, warn=lambda _: None)
    with DecoderThread(clip, depth, info=info) as dec:
        packets = play_all(dec)
        dec.seek(17)
        late = dec.get(WAIT)
    for i, packet in enumerate(packets):
        assert mf.read_code(packet.planes[0]) == i
        assert mf.read_depth_index(packet.depth) == i // 2
    # Frames sharing a depth frame share the array (mapped once, uploaded once).
    assert packets[4].depth is packets[5].depth
    assert late is not None and mf.read_depth_index(late.depth) == 8


def test_sequence_with_fewer_images_and_a_still(tmp_path: Path) -> None:
    clip = mf.make_clip(tmp_path / "c.mp4", frames=12)
    info = probe_clip(clip)
    seq = open_depth(mf.make_depth_sequence(tmp_path / "s", frames=4), mf.DEPTH_MAPPING, info,
                     warn=lambda _: None)
    still = open_depth(mf.make_depth_still(tmp_path / "one.png", index=9), mf.DEPTH_MAPPING, info)
    with DecoderThread(clip, seq, info=info) as dec:
        assert [mf.read_depth_index(p.depth) for p in play_all(dec)] == [i // 3 for i in range(12)]
    with DecoderThread(clip, still, info=info) as dec:
        packets = play_all(dec)
    assert all(p.depth is packets[0].depth for p in packets)
    assert mf.read_depth_index(packets[0].depth) == 9


def test_close_is_idempotent_and_joins(tmp_path: Path) -> None:
    clip = mf.make_clip(tmp_path / "c.mp4", frames=30)
    dec = DecoderThread(clip, None, queue_size=2).start()
    time.sleep(0.05)  # the thread is now blocked on a full queue
    dec.close()
    dec.close()
    assert not any(t.name.startswith(THREAD_NAME_PREFIX) for t in threading.enumerate())
    with pytest.raises(RuntimeError):
        dec.start()
    # Never started: close is fine too.
    DecoderThread(clip, None).close()


def test_seek_out_of_range_is_an_index_error(tmp_path: Path) -> None:
    clip = mf.make_clip(tmp_path / "c.mp4", frames=5)
    with DecoderThread(clip, None) as dec:
        for bad in (-1, 5):
            with pytest.raises(IndexError):
                dec.seek(bad)


# -- VideoReader: the seek policy ----------------------------------------------------------------


def test_reader_decodes_forward_within_a_gop_and_seeks_across(tmp_path: Path) -> None:
    info = probe_clip(mf.make_clip(tmp_path / "c.mkv", frames=60, fps=24, gop=12))
    reader = VideoReader(info, threads=False)
    try:
        for k in range(0, 8):
            assert reader.read(k) is not None
        assert reader.seeks == 0  # sequential reading never seeks
        reader.read(10)  # two frames ahead, same GOP
        assert reader.seeks == 0
        reader.read(50)  # far ahead: seek to the keyframe at 48 and decode two frames
        assert reader.seeks == 1
        frames_before = reader.decoded
        frame = reader.read(30)  # backwards: keyframe 24, then 6 frames forward
        assert frame is not None and info.index_of_pts(frame.pts) == 30
        assert reader.seeks == 2 and reader.decoded - frames_before <= 12
        assert reader.read(30) is frame  # the same frame again costs nothing
    finally:
        reader.close()


def test_decoding_forward_skips_frames_nothing_references(tmp_path: Path) -> None:
    info = probe_clip(mf.make_clip(tmp_path / "b.mp4", frames=48, gop=24, bframes=3))
    reader = VideoReader(info, threads=False)
    try:
        frame = reader.read(22)
        assert frame is not None and mf.read_code(frame_planes(frame, info)[0]) == 22
        # 23 frames up to the target; with IBBBP the unreferenced B-frames before it are skipped.
        assert reader.decoded < 18
        for k in range(23, 31):  # and everything after the target decodes normally
            frame = reader.read(k)
            assert frame is not None and mf.read_code(frame_planes(frame, info)[0]) == k
    finally:
        reader.close()


def test_an_abandoned_read_does_not_leave_skipped_frames_behind(tmp_path: Path) -> None:
    """A read aborted on its way to frame 40 skipped B-frames below 40; a later read of one of
    them must still return exactly that frame (it seeks again)."""
    info = probe_clip(mf.make_clip(tmp_path / "b.mp4", frames=48, gop=48, bframes=3))
    reader = VideoReader(info, threads=False)
    try:
        calls = iter(range(100))
        assert reader.read(40, abort=lambda: next(calls) >= 3) is None  # gave up early
        position = reader.position
        assert position is not None and position < 40
        for k in range(position + 1, 40):
            frame = reader.read(k)
            assert frame is not None and mf.read_code(frame_planes(frame, info)[0]) == k
    finally:
        reader.close()


def test_eight_bit_depth_video(tmp_path: Path) -> None:
    clip = mf.make_clip(tmp_path / "c.mkv", frames=10)
    info = probe_clip(clip)
    depth = open_depth(mf.make_depth_video(tmp_path / "d8.mkv", frames=10, bits=8),
                       mf.depth_mapping(8), info)
    with DecoderThread(clip, depth, info=info) as dec:
        packets = play_all(dec)
    assert [mf.read_depth_index(p.depth, bits=8) for p in packets] == list(range(10))


def test_queue_gauge_fills_to_the_queue_size(tmp_path: Path) -> None:
    clip = mf.make_clip(tmp_path / "c.mp4", frames=20)
    with DecoderThread(clip, None, queue_size=3) as dec:
        deadline = time.monotonic() + WAIT
        while dec.queued < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert dec.queued == 3
        check(dec.get(WAIT), 0)


@pytest.mark.parametrize("pix_fmt", ["yuv420p", "yuv422p10le"])
def test_frame_planes_interleave_the_decoded_chroma(tmp_path: Path, pix_fmt: str) -> None:
    """The (Y, UV) pair for a software rasteriser holds exactly the decoded planes: U in
    channel 0, V in 1."""
    sx = 1
    size = (38, 22)
    cw = (size[0] + sx) >> sx
    ch = size[1] // 2 if pix_fmt == "yuv420p" else size[1]
    bits = 10 if "10" in pix_fmt else 8

    def planes(i: int) -> mf.YuvPlanes:
        y, u, v = mf.solid_planes(100 << (bits - 8), (60 + i) << (bits - 8),
                                  (200 - i) << (bits - 8), size, pix_fmt)
        u[:, : cw // 2] = 90 << (bits - 8)  # a vertical edge, so U and V are not flat
        return y, u, v

    clip = mf.make_clip(tmp_path / "c.mkv", frames=2, size=size, codec="ffv1", pix_fmt=pix_fmt,
                        yuv=planes)
    info = probe_clip(clip)
    reader = VideoReader(info, threads=False)
    try:
        frame = reader.read(1)
        assert frame is not None
        y, uv = frame_planes(frame, info, interleave=True)
        want = planes(1)
        assert y.shape == (size[1], size[0]) and uv.shape == (ch, cw, 2)
        assert not uv.flags.writeable and uv.dtype == y.dtype
        assert (y == want[0]).all()
        assert (uv[..., 0] == want[1]).all() and (uv[..., 1] == want[2]).all()
        # Without interleaving: the three planes as decoded, zero-copy views.
        y3, u3, v3 = frame_planes(frame, info)
        assert (y3 == y).all() and (u3 == want[1]).all() and (v3 == want[2]).all()
        assert not u3.flags.owndata and not u3.flags.writeable
    finally:
        reader.close()
