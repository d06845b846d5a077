"""The headless ``render`` command: output, flag contract, bad input as one line + exit 2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rackfocus_live.cli import main
from rackfocus_live.media.images import read_rgb, write_depth, write_png

pytestmark = pytest.mark.gl

W, H = 96, 64


@pytest.fixture
def scene(tmp_path: Path, rng: np.random.Generator) -> dict[str, Path]:
    img = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    z = np.where(np.arange(W)[None, :] < W // 2, 1.0, 6.0).repeat(H, 0).astype(np.float32)
    paths = {"image": tmp_path / "rgb.png", "exr": tmp_path / "depth.exr",
             "mm": tmp_path / "depth_mm.png", "out": tmp_path / "out.png"}
    write_png(paths["image"], img)
    write_depth(paths["exr"], z)
    write_depth(paths["mm"], np.round(z * 1000).astype(np.uint16))
    return paths


def _run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str]:
    try:
        code = main(["render", *map(str, args)])
    except SystemExit as exc:  # argparse's own one-line errors (flag values)
        code = int(exc.code or 0)
    return code, capsys.readouterr().err


def test_render_writes_a_defocused_png(scene, capsys) -> None:
    code, err = _run(capsys, "--image", scene["image"], "--depth", scene["exr"], "-o",
                     scene["out"], "--focal-length", 50, "--sensor-width", 36, "--f-stop", 1.4,
                     "--focus", 1.0, "--blades", 6, "--blade-rotation", 15, "--squeeze", 1.0,
                     "--depth-kind", "metric", "--quality", "draft")
    assert code == 0, err
    out = read_rgb(scene["out"])
    src = read_rgb(scene["image"])
    assert out.shape == src.shape
    # The in-focus half keeps its detail, the far half loses it.
    near_err = np.abs(out[:, 4:40].astype(int) - src[:, 4:40]).mean()
    far_err = np.abs(out[:, 60:90].astype(int) - src[:, 60:90]).mean()
    assert near_err < 3 < 20 < far_err


def test_mm_png_with_depth_scale_matches_exr(scene, capsys, tmp_path) -> None:
    common = ["--image", scene["image"], "-o"]
    lens = ["--focus", 1.0, "--f-stop", 2.0]
    assert _run(capsys, *common, tmp_path / "a.png", "--depth", scene["exr"], *lens)[0] == 0
    assert _run(capsys, *common, tmp_path / "b.png", "--depth", scene["mm"],
                "--depth-scale", 0.001, *lens)[0] == 0
    a = read_rgb(tmp_path / "a.png").astype(int)
    b = read_rgb(tmp_path / "b.png").astype(int)
    assert np.abs(a - b).max() <= 2


def test_depth_of_another_size_is_resampled_with_a_warning(scene, capsys, tmp_path) -> None:
    small = tmp_path / "small.exr"
    write_depth(small, np.full((H // 2, W // 2), 3.0, np.float32))
    code, err = _run(capsys, "--image", scene["image"], "--depth", small, "-o", scene["out"],
                     "--focus", 3.0)
    assert code == 0
    assert "warning" in err and "48x32" in err and "resampled" in err
    assert read_rgb(scene["out"]).shape == (H, W, 3)


@pytest.mark.parametrize(
    ("case", "expect"),
    [
        ("missing-image", "rgb-missing.png: file not found"),
        ("unreadable-image", "garbage.png: not a readable image"),
        ("missing-depth", "nodepth.exr: file not found"),
        ("all-invalid-depth", "zeros.png: depth has no valid samples"),
        ("zero-fstop", "argument --f-stop: must be within 0.5..256, got '0'"),
        ("negative-fstop", "argument --f-stop: must be within 0.5..256, got '-2'"),
        ("zero-focal", "argument --focal-length: must be within 1..5000 mm, got '0'"),
        ("focal-beyond-focus", "must be greater than the focal length"),
        ("infinite-focus", "argument --focus: must be a finite number, got 'inf'"),
        ("bad-output", "output must be a .png"),
        ("no-output-dir", "output folder does not exist"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(scene, capsys, tmp_path, case, expect) -> None:
    args = {"--image": scene["image"], "--depth": scene["exr"], "-o": scene["out"],
            "--focus": 2.0, "--f-stop": 2.8, "--focal-length": 50}
    if case == "missing-image":
        args["--image"] = tmp_path / "rgb-missing.png"
    elif case == "unreadable-image":
        (tmp_path / "garbage.png").write_bytes(b"\x89PNG this is not an image" * 10)
        args["--image"] = tmp_path / "garbage.png"
    elif case == "missing-depth":
        args["--depth"] = tmp_path / "nodepth.exr"
    elif case == "all-invalid-depth":
        write_depth(tmp_path / "zeros.png", np.zeros((H, W), np.uint16))
        args["--depth"] = tmp_path / "zeros.png"
    elif case == "zero-fstop":
        args["--f-stop"] = 0
    elif case == "negative-fstop":
        args["--f-stop"] = -2
    elif case == "zero-focal":
        args["--focal-length"] = 0
    elif case == "focal-beyond-focus":
        args["--focus"] = 0.03
    elif case == "infinite-focus":
        args["--focus"] = "inf"
    elif case == "bad-output":
        args["-o"] = tmp_path / "out.jpg"
    elif case == "no-output-dir":
        args["-o"] = tmp_path / "nowhere" / "out.png"
    flat = [x for kv in args.items() for x in kv]
    code, err = _run(capsys, *flat)
    assert code == 2
    assert expect in err
    assert err.count("\n") == 1 and "Traceback" not in err
    if case not in ("bad-output", "no-output-dir"):
        assert not scene["out"].exists()


def test_argparse_errors_also_exit_2(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["render", "--image", "x.png"])
    assert exc.value.code == 2
    assert "required" in capsys.readouterr().err


def test_focus_at_a_pixel_matches_focus_at_its_depth(scene, capsys, tmp_path) -> None:
    common = ["--image", scene["image"], "--depth", scene["exr"], "--f-stop", 2.0,
              "--quality", "draft", "-o"]
    inputs = {p: p.read_bytes() for p in (scene["image"], scene["exr"])}
    code, err = _run(capsys, *common, tmp_path / "at.png", "--focus-at", "70,30")  # far half
    assert code == 0, err
    assert "6.000 m" in err  # the median depth around the pixel
    assert _run(capsys, *common, tmp_path / "m.png", "--focus", 6.0)[0] == 0
    assert np.array_equal(read_rgb(tmp_path / "at.png"), read_rgb(tmp_path / "m.png"))
    assert all(p.read_bytes() == b for p, b in inputs.items())


@pytest.mark.parametrize(("flags", "says"), [
    ([], "--focus M (metres) or --focus-at X,Y"),
    (["--focus", 2.0, "--focus-at", "3,3"], "one of the two"),
    (["--focus-at", "500,3"], "outside the 96x64 image"),
    (["--focus-at", "a,b"], "must look like 320,180"),
])
def test_focus_at_bad_input_is_one_line(scene, capsys, flags, says) -> None:
    code, err = _run(capsys, "--image", scene["image"], "--depth", scene["exr"], "-o",
                     scene["out"], *flags)
    assert code == 2 and says in err and len(err.strip().splitlines()) == 1
    assert not scene["out"].exists()
