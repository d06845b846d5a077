"""probe_clip and open_depth: what they report for generated clips, and how depth is aligned."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from rackfocus_live.media.depthsource import SequenceDepth, StillDepth, VideoDepth, open_depth
from rackfocus_live.media.probe import PLANE_LAYOUTS, delivery_format, probe_clip
from rackfocus_live.media.probe import open_depth as probe_open_depth
from tests import media_factory as mf

NTSC = Fraction(24000, 1001)


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".mov"])
def test_probe_reports_rate_count_duration_and_format(tmp_path: Path, suffix: str) -> None:
    clip = mf.make_clip(tmp_path / f"c{suffix}", frames=30, fps=NTSC, size=(64, 48), audio=True)
    info = probe_clip(clip)
    assert info.fps == NTSC
    assert info.frame_count == 30  # MKV stores no count: found from the last frame
    assert info.duration == pytest.approx(30 * 1001 / 24000)
    assert (info.width, info.height, info.display_size) == (64, 48, (64, 48))
    assert info.pix_fmt == info.source_pix_fmt == "yuv420p" and not info.converted
    assert (info.color_matrix, info.color_range) == ("bt709", "limited")
    assert info.has_audio and info.rotation == 0 and info.codec == "h264"
    assert info.path == clip


def test_frame_index_and_pts_round_trip(tmp_path: Path) -> None:
    info = probe_clip(mf.make_clip(tmp_path / "c.mkv", frames=5, fps=NTSC))
    # Matroska's millisecond time base cannot hold NTSC frame times exactly; indices still match.
    for k in range(0, 100_000, 997):
        assert info.index_of_pts(info.pts_of_index(k)) == k
    assert info.time_of_index(24) == pytest.approx(1.001)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"matrix": "bt601"}, ("bt601", "limited")),
        ({"matrix": "bt2020", "pix_fmt": "yuv420p10le"}, ("bt2020", "limited")),
        ({"matrix": "bt709", "color_range": "full"}, ("bt709", "full")),
        ({"matrix": None}, ("bt601", "limited")),  # untagged SD: BT.601
        ({"matrix": None, "size": (1280, 720), "frames": 2}, ("bt709", "limited")),  # HD: BT.709
    ],
)
def test_colour_tags(tmp_path: Path, kwargs: dict[str, object], expected: tuple[str, str]) -> None:
    info = probe_clip(mf.make_clip(tmp_path / "c.mp4", **{"frames": 4, **kwargs}))  # type: ignore[arg-type]
    assert (info.color_matrix, info.color_range) == expected


@pytest.mark.parametrize("pix_fmt", ["yuv444p", "yuv420p10le", "yuv422p"])
def test_planar_formats_pass_through(tmp_path: Path, pix_fmt: str) -> None:
    info = probe_clip(mf.make_clip(tmp_path / "c.mp4", frames=3, pix_fmt=pix_fmt))
    assert info.pix_fmt == pix_fmt and info.layout == PLANE_LAYOUTS[pix_fmt]


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotation_metadata(tmp_path: Path, rotation: int) -> None:
    info = probe_clip(mf.make_clip(tmp_path / "r.mp4", frames=2, size=(64, 32), rotation=rotation))
    assert info.rotation == rotation
    assert info.display_size == ((32, 64) if rotation in (90, 270) else (64, 32))


def test_rgb_streams_are_converted_to_planar_444(tmp_path: Path) -> None:
    path = tmp_path / "rgb.mkv"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=24)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "bgr0"
        for _ in range(3):
            frame = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")
            container.mux(stream.encode(frame.reformat(format="bgr0")))
        container.mux(stream.encode(None))
    info = probe_clip(path)
    assert info.source_pix_fmt == "bgr0" and info.pix_fmt == "yuv444p" and info.converted
    assert (info.color_matrix, info.color_range) == ("bt709", "full")


def test_delivery_format_table() -> None:
    assert delivery_format("yuvj420p") == ("yuvj420p", False)
    assert delivery_format("nv12") == ("yuv444p", False)  # repacked, same colours
    assert delivery_format("p010le") == ("yuv444p16le", False)
    assert delivery_format("rgb24") == ("yuv444p", True)
    assert delivery_format("gbrp10le") == ("yuv444p16le", True)


# -- depth -------------------------------------------------------------------------------------


def clip_info(tmp_path: Path, frames: int = 24, fps: Fraction = Fraction(24)):  # type: ignore[no-untyped-def]
    return probe_clip(mf.make_clip(tmp_path / "clip.mp4", frames=frames, fps=fps))


def test_depth_video_same_count_is_one_to_one_and_silent(tmp_path: Path) -> None:
    info = clip_info(tmp_path)
    warnings: list[str] = []
    src = open_depth(mf.make_depth_video(tmp_path / "d.mkv", frames=24), mf.DEPTH_MAPPING, info,
                     warnings.append)
    assert isinstance(src, VideoDepth) and src.kind == "video"
    assert [src.index_for(i) for i in range(24)] == list(range(24))
    assert (src.width, src.height, src.frame_count) == (64, 48, 24)
    assert warnings == [] and src.warning is None


def test_depth_video_other_rate_same_count_matches_frame_by_frame(tmp_path: Path) -> None:
    info = clip_info(tmp_path, fps=NTSC)
    warnings: list[str] = []
    src = open_depth(mf.make_depth_video(tmp_path / "d.mkv", frames=24, fps=30), mf.DEPTH_MAPPING,
                     info, warnings.append)
    assert [src.index_for(i) for i in range(24)] == list(range(24))
    assert len(warnings) == 1 and "frame by frame" in warnings[0] and "\n" not in warnings[0]


def test_depth_video_at_half_rate_aligns_by_timestamp(tmp_path: Path) -> None:
    info = clip_info(tmp_path)
    warnings: list[str] = []
    src = open_depth(mf.make_depth_video(tmp_path / "d.mkv", frames=12, fps=12), mf.DEPTH_MAPPING,
                     info, warnings.append)
    assert [src.index_for(i) for i in range(24)] == [i // 2 for i in range(24)]
    assert len(warnings) == 1 and "aligned by timestamp" in warnings[0]


def test_short_depth_video_holds_its_last_frame(tmp_path: Path) -> None:
    info = clip_info(tmp_path)
    warnings: list[str] = []
    src = open_depth(mf.make_depth_video(tmp_path / "d.mkv", frames=16), mf.DEPTH_MAPPING, info,
                     warnings.append)
    assert [src.index_for(i) for i in range(24)] == [*range(16), *([15] * 8)]
    assert "held" in warnings[0]


def test_depth_sequence_with_fewer_images_is_spread_over_the_clip(tmp_path: Path) -> None:
    info = clip_info(tmp_path)
    warnings: list[str] = []
    pattern = mf.make_depth_sequence(tmp_path / "seq", frames=8, start=1)
    src = open_depth(pattern, mf.DEPTH_MAPPING, info, warnings.append)
    assert isinstance(src, SequenceDepth) and src.frame_count == 8
    assert src.files[0].name == "depth_00001.png"
    assert [src.index_for(i) for i in range(24)] == [i // 3 for i in range(24)]
    assert len(warnings) == 1 and "spread evenly" in warnings[0]


def test_exr_sequence_and_still(tmp_path: Path) -> None:
    info = clip_info(tmp_path)
    seq = open_depth(mf.make_depth_sequence(tmp_path / "x", frames=24, pattern="d_%d.exr"),
                     mf.DEPTH_MAPPING, info)
    assert seq.frame_count == 24 and seq.index_for(23) == 23
    still = open_depth(mf.make_depth_still(tmp_path / "s.exr", index=3), mf.DEPTH_MAPPING, info)
    assert isinstance(still, StillDepth) and still.index_for(17) == 0
    reader = still.reader()
    assert mf.read_depth_index(reader.read(5)) == 3
    assert reader.read(6) is reader.read(9)  # one array: uploaded once


def test_half_resolution_depth_is_fine_other_aspect_warns(tmp_path: Path) -> None:
    info = clip_info(tmp_path)
    warnings: list[str] = []
    half = open_depth(mf.make_depth_still(tmp_path / "h.png", size=(32, 24)), mf.DEPTH_MAPPING,
                      info, warnings.append)
    assert (half.width, half.height) == (32, 24) and warnings == []
    open_depth(mf.make_depth_still(tmp_path / "w.png", size=(64, 16)), mf.DEPTH_MAPPING, info,
               warnings.append)
    assert len(warnings) == 1 and "aspect" in warnings[0]


def test_default_warning_goes_to_stderr_as_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    info = clip_info(tmp_path)
    depth = mf.make_depth_video(tmp_path / "d.mkv", frames=12, fps=12)
    probe_open_depth(depth, mf.DEPTH_MAPPING, info)
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"rackfocus-live: warning: {depth}: depth video has 12 frames")
