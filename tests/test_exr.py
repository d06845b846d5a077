"""EXR plates and depth (media.exr) and float renders: channels by name, round trips, energy of
an out-of-focus light kept through the float path, bad inputs as one line + exit 2."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import OpenEXR
import pytest

from rackfocus_live.cli import main
from rackfocus_live.errors import InputError
from rackfocus_live.media.exr import read_exr_depth, read_exr_rgb, write_exr
from rackfocus_live.media.images import read_depth_raw, read_rgb


def _write_channels(path: Path, channels: dict[str, np.ndarray]) -> Path:
    OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION}, channels).write(str(path))
    return path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("name", ["Z", "depth.Z", "Y", "R"])
def test_depth_reads_from_its_channel_by_name(tmp_path: Path, name: str, rng) -> None:
    z = rng.uniform(0.5, 9.0, (12, 20)).astype(np.float32)
    channels: dict[str, np.ndarray] = {name: z}
    if name != "R":  # beside colour, as a render pass would be; "R" is an A-less RGB depth map
        channels.update({c: np.zeros_like(z, np.float16) for c in ("R", "G", "B")})
    else:
        channels.update({"G": z * 0, "B": z * 0})
    path = _write_channels(tmp_path / "d.exr", channels)
    np.testing.assert_array_equal(read_depth_raw(path), z)


def test_z_channel_beside_rgb_reads_as_depth_and_colour(tmp_path: Path, rng) -> None:
    """The case FFmpeg's decoder refused ("Not yet implemented"): RGB + Z in one file."""
    rgb = rng.uniform(0, 40, (10, 14, 3)).astype(np.float16)
    z = rng.uniform(1, 5, (10, 14)).astype(np.float32)
    path = _write_channels(tmp_path / "plate.exr", {"RGB": rgb, "Z": z})
    np.testing.assert_array_equal(read_exr_depth(path), z)
    np.testing.assert_array_equal(read_exr_rgb(path), rgb.astype(np.float32))
    assert read_exr_rgb(path).max() > 1.0


def test_missing_channel_names_the_ones_there(tmp_path: Path) -> None:
    path = _write_channels(tmp_path / "d.exr", {"Z": np.ones((4, 4), np.float32)})
    with pytest.raises(InputError, match=r"no channel 'depth\.Z'; it has Z"):
        read_exr_depth(path, "depth.Z")


def test_write_exr_round_trips_half_and_float_above_one(tmp_path: Path) -> None:
    rgb = np.array([[[0.0, 1.5, 50.0], [1e5, -0.25, 3.0]]], np.float32)
    z = np.array([[1.0, 2.5]], np.float32)
    write_exr(tmp_path / "h.exr", rgb, depth=z)
    back = read_exr_rgb(tmp_path / "h.exr")
    assert back[0, 0, 2] == 50.0 and back[0, 0, 1] == 1.5
    assert back[0, 1, 0] == 65504.0  # clamped to half's range, never inf
    np.testing.assert_array_equal(read_exr_depth(tmp_path / "h.exr"), z)
    write_exr(tmp_path / "f.exr", rgb, half=False)
    assert read_exr_rgb(tmp_path / "f.exr")[0, 1, 0] == 1e5
    assert not list(tmp_path.glob(".*part"))


def test_data_window_is_placed_in_the_display_window(tmp_path: Path) -> None:
    z = np.full((2, 3), 7.0, np.float32)
    header = {"displayWindow": ((0, 0), (9, 5)), "dataWindow": ((4, 2), (6, 3))}
    OpenEXR.File(header, {"Z": z}).write(str(tmp_path / "crop.exr"))
    depth = read_exr_depth(tmp_path / "crop.exr")
    assert depth.shape == (6, 10)
    assert depth[2:4, 4:7].min() == 7.0 and depth.sum() == 7.0 * 6


def test_not_an_exr(tmp_path: Path) -> None:
    bad = tmp_path / "bad.exr"
    bad.write_bytes(b"\x76\x2f\x31\x01" + b"garbage" * 10)
    with pytest.raises(InputError, match=r"bad\.exr: not a readable EXR image"):
        read_exr_rgb(bad)


# -- float renders through the CLI ---------------------------------------------------------------

W, H = 192, 128


@pytest.fixture(params=[(62, 95, 3), (62, 96, 4)], ids=["3px-odd", "4px-even"])
def light_plate(tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, Path]:
    """A small light of value 50 on black, 20 m away, in one EXR with its Z channel."""
    y, x, size = request.param
    rgb = np.zeros((H, W, 3), np.float32)
    rgb[y:y + size, x:x + size] = 50.0
    z = np.full((H, W), 20.0, np.float32)
    path = tmp_path / "light.exr"
    write_exr(path, rgb, depth=z)
    return {"plate": path, "out": tmp_path / "out.exr", "png": tmp_path / "out.png"}


@pytest.mark.gl
def test_out_of_focus_light_keeps_its_energy_in_float_exr(light_plate, capsys) -> None:
    """85 mm f/1.4 focused at 1 m, the light at 20 m: a CoC of about 29 px."""
    before = _digest(light_plate["plate"])
    code = main(["render", "--image", str(light_plate["plate"]), "--depth", "same", "-o",
                 str(light_plate["out"]), "--focal-length", "85", "--f-stop", "1.4",
                 "--focus", "1.0"])
    assert code == 0, capsys.readouterr().err
    src = read_exr_rgb(light_plate["plate"])
    out = read_exr_rgb(light_plate["out"])
    assert _digest(light_plate["plate"]) == before
    assert abs(out.sum() / src.sum() - 1.0) < 0.02
    assert out.max() < 0.1 * 50.0
    lit = out[..., 0] > 0.01 * out.max()
    ys, xs = np.nonzero(lit)
    # A disc: as wide as tall, and filling about pi/4 of its bounding box.
    width, height = np.ptp(xs) + 1, np.ptp(ys) + 1
    assert abs(width - height) <= 2 and width > 20
    assert 0.65 < lit.sum() / (width * height) < 0.9


@pytest.mark.gl
def test_in_focus_light_stays_above_one(light_plate, capsys) -> None:
    code = main(["render", "--image", str(light_plate["plate"]), "--depth", "same", "-o",
                 str(light_plate["out"]), "--focus", "20", "--exr-float32"])
    assert code == 0, capsys.readouterr().err
    out = read_exr_rgb(light_plate["out"])
    assert out.max() == pytest.approx(50.0, rel=1e-3)


@pytest.mark.gl
def test_float_plate_to_png_goes_through_the_display_view(light_plate, capsys) -> None:
    code = main(["render", "--image", str(light_plate["plate"]), "--depth", "same", "-o",
                 str(light_plate["png"]), "--focus", "20"])
    assert code == 0, capsys.readouterr().err
    png = read_rgb(light_plate["png"])
    assert png[63, 97].tolist() == [255, 255, 255] and png[10, 10].tolist() == [0, 0, 0]


@pytest.mark.parametrize(("extra", "message"), [
    (["--depth-channel", "depth.Z"], "light.exr: no channel 'depth.Z'; it has B, G, R, Z"),
    (["--input-space", "Kodak Gold"], "unknown input colour space 'Kodak Gold'"),
    (["--view", "Nope"], "display 'sRGB - Display' has no view 'Nope'"),
])
def test_bad_plate_inputs_are_one_line(light_plate, capsys, extra, message) -> None:
    code = main(["render", "--image", str(light_plate["plate"]), "--depth", "same", "-o",
                 str(light_plate["out"]), "--focus", "2", *extra])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1
    assert not light_plate["out"].exists()


@pytest.mark.gl
def test_srgb_image_named_as_srgb_renders_as_today(tmp_path, capsys, rng) -> None:
    """--input-space srgb on a PNG takes the OCIO path (CPU decode, linear render, display view)
    and gives today's picture, highlight boost included (a display-referred image)."""
    from rackfocus_live.media.images import write_depth, write_png
    from tests.dof_helpers import psnr

    img = rng.integers(0, 256, (64, 96, 3), dtype=np.uint8)
    img[20:24, 40:44] = 255  # clipped highlights: the boost must act on both paths
    write_png(tmp_path / "rgb.png", img)
    z = np.where(np.arange(96)[None, :] < 48, 1.0, 6.0).repeat(64, 0).astype(np.float32)
    write_depth(tmp_path / "d.exr", z)
    common = ["render", "--image", str(tmp_path / "rgb.png"), "--depth", str(tmp_path / "d.exr"),
              "--focus", "1", "--f-stop", "1.4"]
    assert main([*common, "-o", str(tmp_path / "a.png")]) == 0, capsys.readouterr().err
    assert main([*common, "--input-space", "srgb", "-o", str(tmp_path / "b.png")]) == 0
    assert psnr(read_rgb(tmp_path / "a.png"), read_rgb(tmp_path / "b.png")) >= 45.0


def test_multi_part_exr_reads_colour_and_depth_from_their_parts(tmp_path: Path) -> None:
    """Nuke and Blender may put the depth in a part of its own."""
    z = np.full((8, 10), 3.5, np.float32)
    OpenEXR.File([OpenEXR.Part({"name": "rgba"}, {"RGB": np.full((8, 10, 3), 2.0, np.float16)}),
                  OpenEXR.Part({"name": "depth"}, {"depth.Z": z})]).write(str(tmp_path / "m.exr"))
    np.testing.assert_array_equal(read_exr_depth(tmp_path / "m.exr"), z)
    assert read_exr_rgb(tmp_path / "m.exr").max() == 2.0
