"""VideoWriter: codecs and containers, timestamps, colour tags, audio copied packet for packet,
the partial file's life (rename, removal, --keep-partial) and write errors as one line. No GL:
frames are made in numpy."""

from __future__ import annotations

import errno
import os
import threading
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from rackfocus_live.errors import InputError
from rackfocus_live.media import writer as writer_mod
from rackfocus_live.media.probe import MediaInfo, probe_clip
from rackfocus_live.media.writer import (
    CODECS,
    VideoWriter,
    WriterConfig,
    output_path,
)
from tests import media_factory as mf

pytestmark = pytest.mark.timeout(60)

NTSC = Fraction(24000, 1001)
SIZE = (64, 48)


def rgba_frames(n: int, rng: np.random.Generator, size: tuple[int, int] = SIZE) -> list[np.ndarray]:
    w, h = size
    frames = rng.integers(0, 256, (n, h, w, 4), dtype=np.uint8)
    frames[..., 3] = 255
    return list(frames)


def write(cfg: WriterConfig, frames: list[np.ndarray], pts: list[int] | None = None) -> Path:
    """Run a writer over ``frames`` at the clip's own timestamps (or ``pts``)."""
    info = cfg.info
    w = VideoWriter(cfg).open()
    for i, rgba in enumerate(frames):
        stamp = pts[i] if pts is not None else info.pts_of_index(i)
        assert w.put(av.VideoFrame.from_ndarray(rgba, format="rgba"), stamp, timeout=None)
    w.finish()
    out = w.wait(timeout=30)
    assert out is not None
    return out


def decode_rgb(path: Path) -> tuple[list[int], list[np.ndarray]]:
    with av.open(os.fspath(path)) as c:
        frames = list(c.decode(video=0))
        return [f.pts for f in frames], [f.to_ndarray(format="rgb24") for f in frames]


def audio_packets(path: Path) -> list[tuple[int | None, int | None, int | None, bytes]]:
    with av.open(os.fspath(path)) as c:
        return [(p.pts, p.dts, p.duration, bytes(p)) for p in c.demux(c.streams.audio[0])
                if p.size]


def writer_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(writer_mod.THREAD_NAME_PREFIX)]


@pytest.fixture
def clip(tmp_path: Path) -> tuple[Path, MediaInfo]:
    path = mf.make_clip(tmp_path / "clip.mp4", frames=12, size=SIZE, fps=NTSC, audio=True)
    return path, probe_clip(path)


# -- names --------------------------------------------------------------------------------------


def test_output_path_adds_the_codec_default_suffix_and_checks_the_folder(tmp_path: Path) -> None:
    assert output_path(tmp_path / "shot", "prores") == tmp_path / "shot.mov"
    assert output_path(tmp_path / "shot", "ffv1") == tmp_path / "shot.mkv"
    assert output_path(tmp_path / "shot", "h264") == tmp_path / "shot.mp4"
    assert output_path(tmp_path / "shot.mkv", "h264") == tmp_path / "shot.mkv"
    with pytest.raises(InputError, match="output folder does not exist"):
        output_path(tmp_path / "missing" / "shot.mp4", "h264")
    with pytest.raises(InputError, match="must end in one of"):
        output_path(tmp_path / "shot.avi", "h264")
    with pytest.raises(InputError, match="unknown codec"):
        output_path(tmp_path / "shot.mp4", "vp9")


# -- pixels, timestamps, tags -------------------------------------------------------------------


def test_ffv1_stores_the_rendered_rgb_bit_exactly(clip, tmp_path: Path, rng) -> None:
    _, info = clip
    frames = rgba_frames(5, rng)
    out = write(WriterConfig(tmp_path / "out.mkv", info, codec="ffv1", audio=False), frames)
    _, rgb = decode_rgb(out)
    assert len(rgb) == 5
    for got, want in zip(rgb, frames, strict=True):
        np.testing.assert_array_equal(got, want[..., :3])
    assert mf.leftovers(tmp_path) == []
    assert writer_threads() == []


@pytest.mark.parametrize("codec", ["h264", "hevc", "prores"])
def test_lossy_codecs_keep_timestamps_rate_and_colour_tags(clip, tmp_path: Path,
                                                          codec: str) -> None:
    path, info = clip
    # Smooth frames (a codec's easy case) so the PSNR checks the colour maths, not the codec.
    w, h = SIZE
    ramp = np.linspace(20, 235, w, dtype=np.float64)[None, :, None]
    frames = []
    for i in range(6):
        img = np.broadcast_to(ramp + 3 * i, (h, w, 1)) * np.array([1.0, 0.8, 0.6])
        rgba = np.concatenate([img, np.full((h, w, 1), 255.0)], axis=2)
        frames.append(np.clip(rgba, 0, 255).astype(np.uint8))
    out = write(WriterConfig(tmp_path / f"out{CODECS[codec].suffix}", info, codec=codec,
                             audio=False), frames)
    pts, rgb = decode_rgb(out)
    assert pts == [info.pts_of_index(i) for i in range(6)]
    for got, want in zip(rgb, frames, strict=True):
        mse = np.mean((got.astype(np.float64) - want[..., :3]) ** 2)
        assert 10 * np.log10(255**2 / max(mse, 1e-12)) >= 40.0
    with av.open(os.fspath(out)) as c, av.open(os.fspath(path)) as src:
        s, t = c.streams.video[0], src.streams.video[0]
        assert s.average_rate == NTSC
        assert s.time_base == t.time_base  # MP4 and MOV store the clip's 1/24000
        cc, tc = s.codec_context, t.codec_context
        assert (cc.color_primaries, cc.color_trc, cc.colorspace) == (
            tc.color_primaries, tc.color_trc, tc.colorspace)
        assert cc.color_range == tc.color_range == 1  # limited, as the clip
    assert probe_clip(out).color_matrix == info.color_matrix


def test_ffv1_is_tagged_rgb_with_the_clips_primaries_and_transfer(tmp_path: Path, rng) -> None:
    path = mf.make_clip(tmp_path / "c601.mkv", frames=3, size=SIZE, matrix="bt601",
                        color_range="full", pix_fmt="yuvj420p")
    info = probe_clip(path)
    out = write(WriterConfig(tmp_path / "out.mkv", info, codec="ffv1"), rgba_frames(3, rng))
    with av.open(os.fspath(out)) as c, av.open(os.fspath(path)) as src:
        cc, tc = c.streams.video[0].codec_context, src.streams.video[0].codec_context
        assert cc.colorspace == 0  # RGB
        assert cc.color_primaries == tc.color_primaries == 6
        assert cc.color_range == 2


def test_full_range_bt601_clip_keeps_matrix_and_range_in_h264(tmp_path: Path, rng) -> None:
    path = mf.make_clip(tmp_path / "c601.mp4", frames=3, size=SIZE, matrix="bt601",
                        color_range="full", pix_fmt="yuvj420p")
    info = probe_clip(path)
    out = write(WriterConfig(tmp_path / "out.mp4", info, codec="h264"), rgba_frames(3, rng))
    got = probe_clip(out)
    assert (got.color_matrix, got.color_range) == ("bt601", "full")


def test_odd_frame_size_asks_for_ffv1(tmp_path: Path) -> None:
    path = mf.make_clip(tmp_path / "odd.mkv", frames=2, size=(63, 47), pix_fmt="yuv444p",
                        codec="ffv1")
    info = probe_clip(path)
    with pytest.raises(InputError, match=r"even frame size.*ffv1"):
        VideoWriter(WriterConfig(tmp_path / "out.mp4", info, codec="h264")).open()
    assert not (tmp_path / "out.partial.mp4").exists()


# -- audio --------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_audio_is_copied_packet_for_packet(clip, tmp_path: Path, rng, suffix: str) -> None:
    path, info = clip
    out = write(WriterConfig(tmp_path / f"out{suffix}", info, codec="h264"),
                rgba_frames(info.frame_count, rng))
    src, got = audio_packets(path), audio_packets(out)
    assert [p[3] for p in got] == [p[3] for p in src]  # the same bytes
    with av.open(os.fspath(path)) as a, av.open(os.fspath(out)) as b:
        sa, sb = a.streams.audio[0], b.streams.audio[0]
        va, vb = a.streams.video[0], b.streams.video[0]
        # Relative to the first video frame: Matroska cannot store the AAC priming's negative
        # timestamp, so FFmpeg shifts the whole file (both streams) by it.
        zero_a = float(va.start_time * va.time_base)
        zero_b = float(vb.start_time * vb.time_base)
        src_s = [float(p[0] * sa.time_base) - zero_a for p in src]
        got_s = [float(p[0] * sb.time_base) - zero_b for p in got]
        np.testing.assert_allclose(got_s, src_s, atol=1.5e-3)  # Matroska rounds to 1 ms
        if suffix == ".mp4":
            assert got == src and sb.duration == sa.duration  # timestamps too, exactly
        dur_a = float((src[-1][0] + src[-1][2] - src[0][0]) * sa.time_base)
        dur_b = float((got[-1][0] + got[-1][2] - got[0][0]) * sb.time_base)
        assert abs(dur_b - dur_a) < 2e-3  # same duration


def test_audio_window_copies_whole_packets_and_shifts_them(clip, tmp_path: Path, rng) -> None:
    path, info = clip
    start, end = 4, 10
    t0 = float(info.pts_of_index(start) * info.time_base)
    t1 = float(info.pts_of_index(end) * info.time_base)
    cfg = WriterConfig(tmp_path / "out.mp4", info, codec="h264", audio_window=(t0, t1),
                       audio_shift_s=t0)
    frames = rgba_frames(end - start, rng)
    out = write(cfg, frames, [info.pts_of_index(i) for i in range(end - start)])
    src = audio_packets(path)
    got = audio_packets(out)
    tb = Fraction(1, 48000)
    kept = [p for p in src if t0 <= p[0] * tb < t1]
    assert [p[3] for p in got] == [p[3] for p in kept]
    first = float(got[0][0] * tb)
    assert 0.0 <= first < 1024 / 48000  # the first packet starting in the window, shifted


def test_no_audio_when_asked(clip, tmp_path: Path, rng) -> None:
    _, info = clip
    out = write(WriterConfig(tmp_path / "out.mp4", info, audio=False), rgba_frames(2, rng))
    with av.open(os.fspath(out)) as c:
        assert not c.streams.audio


# -- partial file and errors --------------------------------------------------------------------


def test_abort_removes_the_partial_file(clip, tmp_path: Path, rng) -> None:
    _, info = clip
    w = VideoWriter(WriterConfig(tmp_path / "out.mp4", info)).open()
    assert w.partial.exists()
    w.put(av.VideoFrame.from_ndarray(rgba_frames(1, rng)[0], format="rgba"), 0)
    assert w.abort() is None
    assert not w.partial.exists() and not (tmp_path / "out.mp4").exists()
    assert writer_threads() == []


def test_abort_with_keep_partial_leaves_a_playable_partial(clip, tmp_path: Path, rng) -> None:
    _, info = clip
    w = VideoWriter(WriterConfig(tmp_path / "out.mp4", info, keep_partial=True)).open()
    for i, rgba in enumerate(rgba_frames(4, rng)):
        w.put(av.VideoFrame.from_ndarray(rgba, format="rgba"), info.pts_of_index(i))
    kept = w.abort()
    assert kept == tmp_path / "out.partial.mp4" and kept.exists()
    assert not (tmp_path / "out.mp4").exists()
    pts, _ = decode_rgb(kept)
    assert pts == [info.pts_of_index(i) for i in range(4)]  # queued frames encoded, finalised


def test_full_disk_is_one_clear_error_and_no_partial(clip, tmp_path: Path, rng,
                                                     monkeypatch) -> None:
    _, info = clip
    calls = {"n": 0}
    real_mux = VideoWriter._mux

    def mux(self: VideoWriter, packet: av.Packet) -> None:
        calls["n"] += 1
        if calls["n"] > 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_mux(self, packet)

    monkeypatch.setattr(VideoWriter, "_mux", mux)
    w = VideoWriter(WriterConfig(tmp_path / "out.mp4", info)).open()
    with pytest.raises(InputError) as err:
        for i, rgba in enumerate(rgba_frames(info.frame_count, rng)):
            w.put(av.VideoFrame.from_ndarray(rgba, format="rgba"), info.pts_of_index(i),
                  timeout=None)
        w.finish()
        w.wait(timeout=30)
    assert str(err.value) == f"{tmp_path / 'out.mp4'}: disk full while writing the export " \
                             "(no space left on device)"
    assert w.abort() is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]
    assert writer_threads() == []


def unwritable_folder(tmp_path: Path) -> Path:
    """A folder this process cannot create files in (a read-only one, or sysfs for root)."""
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        (folder / "probe").write_bytes(b"")
    except PermissionError:
        return folder
    # Root writes anywhere; sysfs refuses new files even to root.
    (folder / "probe").unlink()
    folder.chmod(0o755)
    try:
        Path("/sys/rackfocus-probe.mp4").write_bytes(b"")
    except PermissionError:
        return Path("/sys")
    except OSError:
        pass
    pytest.skip("no unwritable folder available (running as root without sysfs)")


def test_unwritable_folder_is_one_clear_error(clip, tmp_path: Path) -> None:
    _, info = clip
    folder = unwritable_folder(tmp_path)
    try:
        with pytest.raises(InputError, match=r"cannot write here \(permission denied\)$"):
            VideoWriter(WriterConfig(folder / "out.mp4", info)).open()
    finally:
        if folder != Path("/sys"):
            folder.chmod(0o755)
    assert not (folder / "out.partial.mp4").exists()
    assert writer_threads() == []


@pytest.mark.parametrize(("codec", "profile", "pix_fmt"), [
    ("prores4444", "4444", "yuv444p12le"),  # FFmpeg's ProRes decoder reports 12-bit 4:4:4
    ("dnxhr", "DNXHR HQX", "yuv422p10le"),
])
def test_master_codecs_write_their_profile(tmp_path: Path, rng, codec, profile, pix_fmt) -> None:
    size = (256, 128)
    path = mf.make_clip(tmp_path / "clip.mp4", frames=4, size=size, fps=Fraction(25))
    info = probe_clip(path)
    frames = rgba_frames(4, rng, size)
    out = write(WriterConfig(tmp_path / "out.mov", info, codec=codec, audio=False), frames)
    with av.open(os.fspath(out)) as c:
        cc = c.streams.video[0].codec_context
        assert (cc.profile, cc.pix_fmt) == (profile, pix_fmt)
        assert cc.color_range == 1  # both are limited range by definition
        assert sum(1 for _ in c.decode(video=0)) == 4


def test_dnxhr_refuses_frames_below_its_minimum(clip, tmp_path: Path) -> None:
    _, info = clip
    with pytest.raises(InputError, match=r"out\.mov: dnxhr needs frames of at least 256x120"):
        VideoWriter(WriterConfig(tmp_path / "out.mov", info, codec="dnxhr", audio=False)).open()
    assert list(tmp_path.glob("out*")) == []
