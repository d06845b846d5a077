"""Depth that reads but is probably meant another way: one warning line; depth that cannot be
depth: one error line (exit 2); calibration of relative depth from two known distances."""

from __future__ import annotations

import hashlib
from pathlib import Path

import av
import numpy as np
import pytest

from rackfocus_live.calibrate import CalibrationPoint, calibrate, parse_point, solve
from rackfocus_live.cli import main
from rackfocus_live.depth import DepthMapping
from rackfocus_live.errors import InputError
from rackfocus_live.media.depthsource import open_depth
from rackfocus_live.media.images import read_depth_raw, read_rgb, write_depth, write_png
from rackfocus_live.media.probe import probe_clip
from tests import media_factory as mf

W, H = 96, 64


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _render(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str]:
    code = main(["render", *map(str, args)])
    return code, capsys.readouterr().err


def _write_png(path: Path, arr: np.ndarray, pix_fmt: str) -> Path:
    """A PNG of ``arr`` stored as ``pix_fmt`` (grey+alpha, RGB...) through PyAV."""
    h, w = arr.shape[:2]
    with av.open(str(path), "w") as c:
        stream = c.add_stream("png")
        stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
        src = {np.dtype(np.uint16): "gray16le", np.dtype(np.uint8): "gray"}[arr.dtype] \
            if arr.ndim == 2 else ("rgb24" if arr.dtype == np.uint8 else "rgb48le")
        frame = av.VideoFrame.from_ndarray(arr, format=src).reformat(format=pix_fmt)
        for packet in stream.encode(frame):
            c.mux(packet)
        for packet in stream.encode():
            c.mux(packet)
    return path


@pytest.fixture
def image(tmp_path: Path, rng: np.random.Generator) -> Path:
    path = tmp_path / "rgb.png"
    write_png(path, rng.integers(0, 256, (H, W, 3), dtype=np.uint8))
    return path


def _disparity8() -> np.ndarray:
    """8-bit disparity as a depth model writes it: near (left) bright, far dark."""
    return np.where(np.arange(W)[None] < W // 2, 220, 30).repeat(H, 0).astype(np.uint8)


@pytest.mark.gl
def test_8bit_disparity_read_as_millimetres_warns_in_one_line(image, tmp_path, capsys) -> None:
    depth = _write_png(tmp_path / "disp.png", _disparity8(), "gray")
    code, err = _render(capsys, "--image", image, "--depth", depth, "-o", tmp_path / "o.png",
                        "--focus", 2.0, "--quality", "draft")
    assert code == 0
    lines = [line for line in err.splitlines() if "8-bit depth read as metric" in line]
    assert len(lines) == 1 and str(depth) in lines[0] and "--depth-kind disparity" in lines[0]
    # With the convention given there is nothing to warn about.
    code, err = _render(capsys, "--image", image, "--depth", depth, "-o", tmp_path / "p.png",
                        "--focus", 2.0, "--depth-kind", "disparity", "--quality", "draft")
    assert code == 0 and "warning" not in err


def test_8bit_disparity_still_as_clip_depth_carries_the_warning(tmp_path) -> None:
    clip = mf.make_clip(tmp_path / "c.mp4", frames=3, size=(W, H))
    depth = _write_png(tmp_path / "disp.png", _disparity8(), "gray")
    notes: list[str] = []
    open_depth(depth, DepthMapping("metric"), probe_clip(clip), warn=notes.append)
    assert len(notes) == 1 and "8-bit depth read as metric" in notes[0]


@pytest.mark.gl
@pytest.mark.parametrize("kind", ["turbo", "photo"])
def test_colour_depth_is_refused_in_one_line(image, tmp_path, capsys, rng, kind) -> None:
    if kind == "turbo":  # a colour-mapped visualisation: hue runs with depth
        t = np.linspace(0, 1, W)[None].repeat(H, 0)
        rgb = np.stack([t, np.sin(np.pi * t), 1 - t], axis=-1)
        arr = np.round(rgb * 255).astype(np.uint8)
    else:
        arr = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    depth = tmp_path / f"{kind}.png"
    write_png(depth, arr)
    before = _digest(depth)
    code, err = _render(capsys, "--image", image, "--depth", depth, "-o", tmp_path / "o.png",
                        "--focus", 2.0, "--depth-kind", "disparity")
    assert code == 2
    assert err.count("\n") == 1 and "depth is a colour image" in err and str(depth) in err
    assert not (tmp_path / "o.png").exists()
    assert _digest(depth) == before


def test_grey_saved_as_rgb_reads_as_grey(tmp_path) -> None:
    grey = _disparity8()
    depth = tmp_path / "grey_rgb.png"
    write_png(depth, np.repeat(grey[..., None], 3, axis=2))
    np.testing.assert_array_equal(read_depth_raw(depth), grey)


def test_colour_depth_video_is_refused(tmp_path) -> None:
    clip = mf.make_clip(tmp_path / "c.mp4", frames=4, size=(W, H))
    turbo = tmp_path / "turbo.mp4"
    with av.open(str(turbo), "w") as c:
        stream = c.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        t = np.linspace(0, 1, W)[None].repeat(H, 0)
        rgb = np.round(np.stack([t, np.sin(np.pi * t), 1 - t], -1) * 255).astype(np.uint8)
        for _ in range(4):
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                c.mux(packet)
        for packet in stream.encode():
            c.mux(packet)
    with pytest.raises(InputError, match="depth video is in colour"):
        open_depth(turbo, DepthMapping("disparity"), probe_clip(clip))


def test_16bit_grey_alpha_keeps_16_bits(tmp_path) -> None:
    values = (np.arange(W * H, dtype=np.uint32) * 977 % 65536).astype(np.uint16).reshape(H, W)
    depth = _write_png(tmp_path / "ya16.png", values, "ya16be")
    raw = read_depth_raw(depth)
    assert raw.dtype == np.uint16
    np.testing.assert_array_equal(raw, values)


def test_sequence_changing_bit_depth_is_refused_naming_the_frame(tmp_path) -> None:
    clip = mf.make_clip(tmp_path / "c.mp4", frames=6, size=(W, H))
    folder = tmp_path / "seq"
    folder.mkdir()
    for i in range(6):
        d = np.full((H, W), 1000 + 100 * i, np.uint16)
        if i == 3:
            _write_png(folder / f"d_{i:03d}.png", (d // 257).astype(np.uint8), "gray")
        else:
            write_depth(folder / f"d_{i:03d}.png", d)
    with pytest.raises(InputError) as err:
        open_depth(str(folder / "d_%03d.png"), DepthMapping("metric"), probe_clip(clip))
    assert str(err.value).startswith(f"{folder / 'd_003.png'}: depth image is 8-bit")


# -- calibration -------------------------------------------------------------------------------


def test_calibration_solves_near_and_far_of_disparity() -> None:
    true = DepthMapping("disparity", near=0.8, far=30.0)
    guess = DepthMapping("disparity")  # defaults 1 .. 20 m
    d = np.array([0.9, 0.2])  # raw disparity at the two points
    metres = 1.0 / true.to_inverse_depth(d[None].astype(np.float32))[0]
    mapped = guess.to_inverse_depth(d[None].astype(np.float32))[0]
    solved = solve(guess, list(map(float, mapped)), list(map(float, metres)))
    assert solved.near == pytest.approx(0.8, rel=1e-5)
    assert solved.far == pytest.approx(30.0, rel=1e-4)


def test_calibration_of_normalized_depth_and_bad_points() -> None:
    guess = DepthMapping("normalized", near=1.0, far=10.0)
    # Points at normalised 0.1 and 0.6 are really at 2 m and 7 m: near 1 m, far 11 m.
    mapped = [1.0 / (1.0 + 0.1 * 9.0), 1.0 / (1.0 + 0.6 * 9.0)]
    solved = solve(guess, mapped, [2.0, 7.0])
    assert solved.near == pytest.approx(1.0) and solved.far == pytest.approx(11.0)
    with pytest.raises(InputError, match="two points"):
        solve(DepthMapping("disparity"), [0.5], [2.0])
    with pytest.raises(InputError, match="contradict"):
        solve(DepthMapping("disparity"), [0.9, 0.2], [8.0, 2.4])  # brighter point farther
    with pytest.raises(InputError, match="X,Y=METRES"):
        parse_point("10,20")


def test_calibration_samples_the_depth_under_the_clicked_pixel() -> None:
    inv = np.full((32, 48), 0.1, np.float32)
    inv[:, :24] = 0.5
    points = [CalibrationPoint(10, 30, 2.4), CalibrationPoint(80, 30, 8.0)]  # 96x64 frame
    solved = calibrate(DepthMapping("disparity", near=1.0, far=20.0), inv, points, (96, 64))
    assert 1.0 / solved.to_inverse_depth(np.array([[1.0, 0.0]], np.float32))[0, 0] == \
        pytest.approx(solved.near)
    w_near = DepthMapping("disparity", near=1.0, far=20.0)
    d_at = (np.array([0.5, 0.1]) - 1 / 20.0) / (1 / w_near.near - 1 / 20.0)
    got = solved.to_inverse_depth(d_at[None].astype(np.float32))[0]
    np.testing.assert_allclose(1.0 / got, [2.4, 8.0], rtol=1e-4)


@pytest.mark.gl
def test_render_calibrate_flag_equals_the_true_near_far(image, tmp_path, capsys) -> None:
    # Disparity of a subject at 2.4 m and a wall at 8 m under near 1.5 m, far 40 m.
    true = DepthMapping("disparity", near=1.5, far=40.0)
    w = np.where(np.arange(W)[None] < W // 2, 1 / 2.4, 1 / 8.0).repeat(H, 0)
    d = (w - 1 / true.far) / (1 / true.near - 1 / true.far)
    depth = tmp_path / "disp.png"
    write_depth(depth, np.round(d * 65535).astype(np.uint16))
    common = ["--image", image, "--depth", depth, "--focus", 2.4, "--f-stop", 1.4,
              "--depth-kind", "disparity", "--quality", "draft"]
    code, err = _render(capsys, *common, "-o", tmp_path / "cal.png",
                        "--calibrate", "10,30=2.4", "--calibrate", "80,30=8")
    assert code == 0, err
    assert "calibrated disparity depth" in err
    code, _ = _render(capsys, *common, "-o", tmp_path / "true.png", "--near", 1.5, "--far", 40)
    assert code == 0
    a = read_rgb(tmp_path / "cal.png").astype(int)
    b = read_rgb(tmp_path / "true.png").astype(int)
    assert np.abs(a - b).max() <= 2
    # Without calibration (defaults 1 .. 20 m) the same file renders differently.
    code, _ = _render(capsys, *common, "-o", tmp_path / "raw.png")
    assert np.abs(read_rgb(tmp_path / "raw.png").astype(int) - b).mean() > 1.0
