"""Bad clips and depth: one clear InputError naming the file each, no hang, no leaked thread."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from rackfocus_live.errors import InputError
from rackfocus_live.media.decoder import THREAD_NAME_PREFIX, DecoderThread, FramePacket
from rackfocus_live.media.depthsource import open_depth
from rackfocus_live.media.probe import probe_clip
from tests import media_factory as mf

pytestmark = pytest.mark.timeout(60)
WAIT = 5.0


@pytest.fixture(autouse=True)
def _no_leaked_threads() -> Iterator[None]:
    yield
    leaked = [t.name for t in threading.enumerate() if t.name.startswith(THREAD_NAME_PREFIX)]
    assert leaked == []


def one_line(exc: pytest.ExceptionInfo[InputError], path: Path | str) -> str:
    """The error names the file first and is one line, as the CLI prints it."""
    message = str(exc.value)
    assert message.startswith(f"{path}: ")
    assert "\n" not in message and "Traceback" not in message
    return message





# -- clips ---------------------------------------------------------------------------------------


def test_missing_empty_and_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError) as exc:
        probe_clip(tmp_path / "nope.mp4")
    assert "file not found" in one_line(exc, tmp_path / "nope.mp4")
    empty = tmp_path / "empty.mp4"
    empty.touch()
    with pytest.raises(InputError) as exc:
        probe_clip(empty)
    assert "file is empty" in one_line(exc, empty)
    with pytest.raises(InputError) as exc:
        probe_clip(tmp_path)
    assert "is a directory" in one_line(exc, tmp_path)


def test_clip_without_a_video_stream(tmp_path: Path) -> None:
    audio = mf.make_audio_only(tmp_path / "voice.m4a")
    with pytest.raises(InputError) as exc:
        probe_clip(audio)
    assert "no video stream" in one_line(exc, audio) and "audio" in str(exc.value)


def test_zero_length_clip(tmp_path: Path) -> None:
    clip = mf.make_empty_clip(tmp_path / "zero.mkv")
    with pytest.raises(InputError) as exc:
        probe_clip(clip)
    assert "no frames" in one_line(exc, clip)


def test_not_a_video_file(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(bytes((i * 7919) % 251 for i in range(20_000)))
    with pytest.raises(InputError) as exc:
        probe_clip(garbage)
    assert "not a readable video file" in one_line(exc, garbage)
    text = tmp_path / "notes.mov"
    text.write_text("not a movie\n" * 100)
    with pytest.raises(InputError) as exc:
        probe_clip(text)
    one_line(exc, text)


def test_cut_before_the_first_frame(tmp_path: Path) -> None:
    clip = mf.make_clip(tmp_path / "c.mp4", frames=30, texture=20)
    head = mf.truncate_file(clip, 0.02, tmp_path / "head.mp4")
    with pytest.raises(InputError) as exc:
        probe_clip(head)
    one_line(exc, head)


def test_truncated_clip_plays_up_to_the_damage_then_names_the_file(tmp_path: Path) -> None:
    clip = mf.make_clip(tmp_path / "c.mp4", frames=60, texture=20)
    cut = mf.truncate_file(clip, 0.6, tmp_path / "cut.mp4")
    info = probe_clip(cut)  # the index at the front still promises 60 frames
    assert info.frame_count == 60
    with DecoderThread(cut, None, info=info) as dec:
        packets, error = mf.play_until_error(dec, WAIT)
        assert dec.error is error
        assert str(error).startswith(f"{cut}: ") and "of 60" in str(error)
        assert 10 <= len(packets) < 60
        assert [p.index for p in packets] == list(range(len(packets)))
        # The frame whose data is cut in half decodes with FFmpeg's concealment; all before it
        # are intact.
        assert all(mf.read_code(p.planes[0]) == p.index for p in packets[:-1])
        # The thread waits for a seek; seeking back before the damage plays again.
        assert dec.get(0.1) is None
        dec.seek(2)
        packet = dec.get(WAIT)
        assert packet is not None and packet.index == 2 and dec.error is None


def test_corrupt_bytes_mid_stream_never_hang(tmp_path: Path) -> None:
    """Garbage over part of the data: the decoder conceals it or reports it, never hangs."""
    clip = mf.corrupt_file(mf.make_clip(tmp_path / "c.mkv", frames=60, texture=20), 0.5, 3000)
    info = probe_clip(clip)
    with DecoderThread(clip, None, info=info) as dec:
        packets: list[FramePacket] = []
        try:
            while not dec.at_end:
                packet = dec.get(WAIT)
                assert packet is not None or dec.at_end
                if packet is not None:
                    packets.append(packet)
        except InputError as exc:
            assert str(exc).startswith(f"{clip}: ")
    assert [p.index for p in packets] == list(range(len(packets)))
    assert len(packets) >= 20


def test_file_deleted_after_probe_surfaces_in_get(tmp_path: Path) -> None:
    clip = mf.make_clip(tmp_path / "c.mp4", frames=10)
    info = probe_clip(clip)
    os.remove(clip)
    with DecoderThread(clip, None, info=info) as dec:
        with pytest.raises(InputError) as exc:
            dec.get(WAIT)
        assert "file not found" in one_line(exc, clip)


# -- depth ---------------------------------------------------------------------------------------


@pytest.fixture
def clip_info(tmp_path: Path):  # type: ignore[no-untyped-def]
    return probe_clip(mf.make_clip(tmp_path / "clip.mp4", frames=12))


def test_missing_depth_file(tmp_path: Path, clip_info) -> None:  # type: ignore[no-untyped-def]
    missing = tmp_path / "depth.mkv"
    with pytest.raises(InputError) as exc:
        open_depth(missing, mf.DEPTH_MAPPING, clip_info)
    assert "file not found" in one_line(exc, missing)


def test_depth_pattern_without_files(tmp_path: Path, clip_info) -> None:  # type: ignore[no-untyped-def]
    pattern = str(tmp_path / "depth_%05d.png")
    with pytest.raises(InputError) as exc:
        open_depth(pattern, mf.DEPTH_MAPPING, clip_info)
    assert "no files match" in one_line(exc, pattern)
    with pytest.raises(InputError) as exc:
        open_depth(str(tmp_path / "nofolder" / "d_%d.png"), mf.DEPTH_MAPPING, clip_info)
    assert "folder" in str(exc.value)


def test_depth_sequence_with_a_gap(tmp_path: Path, clip_info) -> None:  # type: ignore[no-untyped-def]
    pattern = mf.make_depth_sequence(tmp_path / "s", frames=6)
    (tmp_path / "s" / "depth_00003.png").unlink()
    with pytest.raises(InputError) as exc:
        open_depth(pattern, mf.DEPTH_MAPPING, clip_info)
    assert "has gaps: missing frame 3 (no depth_00003.png)" in str(exc.value)


def test_depth_sequence_pattern_with_hashes(tmp_path: Path, clip_info) -> None:  # type: ignore[no-untyped-def]
    # Depth sequences are found as plates are (media.numbered): #### is exactly four digits.
    mf.make_depth_sequence(tmp_path / "s", frames=6, pattern="depth.%04d.png", start=1001)
    depth = open_depth(str(tmp_path / "s" / "depth.####.png"), mf.DEPTH_MAPPING, clip_info)
    assert depth.kind == "sequence" and depth.frame_count == 6


def test_depth_without_valid_samples(tmp_path: Path, clip_info) -> None:  # type: ignore[no-untyped-def]
    zeros = mf.write_depth_image(tmp_path / "zero.png", mf.depth_raw(0, (8, 8)) * 0)
    with pytest.raises(InputError) as exc:
        open_depth(zeros, mf.DEPTH_MAPPING, clip_info)
    assert "no valid samples" in one_line(exc, zeros)


def test_audio_file_as_depth(tmp_path: Path, clip_info) -> None:  # type: ignore[no-untyped-def]
    audio = mf.make_audio_only(tmp_path / "d.m4a")
    with pytest.raises(InputError) as exc:
        open_depth(audio, mf.DEPTH_MAPPING, clip_info)
    assert "no video stream" in one_line(exc, audio)


def test_damaged_depth_image_mid_sequence(tmp_path: Path, clip_info) -> None:  # type: ignore[no-untyped-def]
    pattern = mf.make_depth_sequence(tmp_path / "s", frames=12)
    bad = tmp_path / "s" / "depth_00005.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    depth = open_depth(pattern, mf.DEPTH_MAPPING, clip_info)
    with DecoderThread(clip_info.path, depth, info=clip_info) as dec:
        packets, error = mf.play_until_error(dec, WAIT)
    assert [p.index for p in packets] == [0, 1, 2, 3, 4]
    assert str(error).startswith(f"{bad}: ")


def test_depth_image_of_another_size_mid_sequence(tmp_path: Path, clip_info) -> None:  # type: ignore[no-untyped-def]
    pattern = mf.make_depth_sequence(tmp_path / "s", frames=12)
    odd = mf.write_depth_image(tmp_path / "s" / "depth_00007.png", mf.depth_raw(7, (10, 10)))
    # PNG sequences are checked image by image when opened (headers only), naming the image.
    with pytest.raises(InputError) as err:
        open_depth(pattern, mf.DEPTH_MAPPING, clip_info)
    assert str(err.value).startswith(f"{odd}: depth image is 10x10")
