"""Lens character (cat-eye, axial chromatic aberration, custom aperture) against the numpy twin
in rackfocus_live/lens_character.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rackfocus_live.aperture_image import with_aperture_image
from rackfocus_live.cli import main
from rackfocus_live.errors import InputError
from rackfocus_live.lens import LensState
from rackfocus_live.lens_character import RIM_BINS, LensCharacter
from rackfocus_live.media.images import read_rgb, write_depth, write_png
from tests.dof_helpers import render, srgb_to_linear

pytestmark = pytest.mark.gl

W, H = 256, 192
LENS = LensState(focal_length_mm=85.0, f_stop=2.0, sensor_width_mm=36.0, focus_m=0.9)
FAR_M = 50.0


def _light(x: int, y: int, value: float = 40.0, size: int = 3) -> np.ndarray:
    img = np.zeros((H, W, 3), np.float32)
    img[y - size // 2: y + size - size // 2, x - size // 2: x + size - size // 2] = value
    return img


def _mask(out: np.ndarray) -> np.ndarray:
    lum = srgb_to_linear(out / 255.0).mean(axis=2)
    return lum > 0.5 * np.percentile(lum[lum > 0], 90)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def _reference_mask(character: LensCharacter, x: float, y: float, radius: float) -> np.ndarray:
    ys, xs = np.mgrid[0:H, 0:W]
    return character.bokeh_mask(xs - x, ys - y, radius, (x, y), (W, H))


def test_cat_eye_clips_bokeh_towards_the_frame_corner_as_the_numpy_model(ctx, programs) -> None:
    character = LensCharacter(cat_eye=0.8)
    inv = np.full((H, W), 1 / FAR_M, np.float32)
    radius = float(LENS.coc_px(FAR_M, W)) / 2
    assert 13 < radius < 20
    for x, y, clipped in ((40, 40, True), (W // 2, H // 2, False)):
        out, _ = render(ctx, programs, _light(x, y), inv, LENS, character=character)
        got = _mask(out)
        # The 3x3 light's centre pixel is (x, y); shapes are of pixel centres.
        want = _reference_mask(character, x, y, radius)
        circle = _reference_mask(LensCharacter(), x, y, radius)
        assert _iou(got, want) > 0.85
        if clipped:
            assert _iou(got, circle) < 0.75      # visibly not a circle any more
            assert got.sum() < 0.8 * circle.sum()


def test_cat_eye_also_shapes_gathered_blur(ctx, programs) -> None:
    # A dim square (below the sprite threshold): its blur is gathered, not scattered.
    character = LensCharacter(cat_eye=0.8)
    x, y, side, value = 44, 44, 8, 0.6
    img = _light(x, y, value, side)
    inv = np.full((H, W), 1 / FAR_M, np.float32)
    radius = float(LENS.coc_px(FAR_M, W)) / 2
    out, _ = render(ctx, programs, img, inv, LENS, character=character)
    ys, xs = np.mgrid[0:H, 0:W]
    ref = np.zeros((H, W))
    for sy, sx in zip(*np.nonzero(img[..., 0]), strict=True):
        m = character.bokeh_mask(xs - sx, ys - sy, radius, (sx, sy), (W, H))
        ref += value * m / m.sum()
    got = srgb_to_linear(out / 255.0).mean(axis=2)
    plain, _ = render(ctx, programs, img, inv, LENS)
    plain_lin = srgb_to_linear(plain / 255.0).mean(axis=2)
    err = np.abs(got - ref).sum() / ref.sum()
    assert err < 0.25
    assert err < 0.6 * np.abs(plain_lin - ref).sum() / ref.sum()


def _crossing(profile: np.ndarray, level: float) -> float:
    """Where (px from the start) a falling profile first drops below ``level``."""
    i = int(np.nonzero(profile < level)[0][0])
    a, b = profile[i - 1], profile[i]
    return i - 1 + (a - level) / (a - b)


def _edge_profile(radius: float, n: int) -> np.ndarray:
    """A step (1 left of 0, 0 right) blurred by a disc of ``radius``: sampled at 0..n-1 px."""
    t = np.linspace(-radius, radius, 4001)
    chord = np.sqrt(np.maximum(radius * radius - t * t, 0.0))
    x = np.arange(n)[:, None]
    return (chord[None, :] * (t[None, :] >= x - 0.5)).sum(axis=1) / chord.sum()


@pytest.mark.parametrize("behind", [True, False])
def test_axial_chromatic_aberration_fringes_are_opposite_in_front_and_behind(
        ctx, programs, behind: bool) -> None:
    ca = 3.0
    character = LensCharacter(axial_ca_px=ca)
    lens = LensState(focal_length_mm=85.0, f_stop=2.8, sensor_width_mm=36.0, focus_m=2.0)
    coc = 20.0 if behind else -20.0
    z = 1.0 / (1.0 / lens.focus_m - coc / lens.coc_scale_px(W))
    img = np.zeros((H, W, 3), np.float32)
    img[:, 100:156] = 0.7                 # a wide white stripe, gathered (no sprite)
    inv = np.full((H, W), 1 / z, np.float32)
    out, got_coc = render(ctx, programs, img, inv, lens, character=character)
    assert got_coc[H // 2, 128] == pytest.approx(coc, abs=0.1)
    lin = srgb_to_linear(out[H // 4: 3 * H // 4] / 255.0).mean(axis=0)   # (W, 3)
    level = 0.1 * lin[128]
    edge = 155                            # last stripe pixel: the step is at 155.5
    got = [_crossing(lin[edge:, c], level[c]) for c in (0, 2)]
    # The numpy twin's per-channel radii, through the same measurement of an exact blur.
    radii = np.abs(character.channel_coc_px(coc)) / 2
    want = [_crossing(_edge_profile(radii[c], 40), 0.1) for c in (0, 2)]
    assert got[0] - got[1] == pytest.approx(want[0] - want[1], abs=0.7)
    assert (got[0] > got[1]) == behind     # red rims behind the focus plane, blue in front


def test_a_custom_aperture_image_shapes_the_bokeh(ctx, programs, tmp_path: Path) -> None:
    # A triangle iris pointing up.
    n = 64
    ys, xs = np.mgrid[0:n, 0:n]
    tri = (ys >= 8) & (ys <= 56) & (np.abs(xs - 32) <= (ys - 8) * 0.55)
    png = tmp_path / "iris.png"
    write_png(png, np.repeat((tri * 255).astype(np.uint8)[..., None], 3, axis=2))
    character = with_aperture_image(LensCharacter(), png)
    assert len(character.aperture_rim or ()) == RIM_BINS
    inv = np.full((H, W), 1 / FAR_M, np.float32)
    radius = float(LENS.coc_px(FAR_M, W)) / 2
    out, _ = render(ctx, programs, _light(W // 2, H // 2), inv, LENS, character=character)
    got = _mask(out)
    # The rim is measured around the triangle's centroid, which the light's centre stands for.
    want = _reference_mask(character, W // 2, H // 2, radius)
    circle = _reference_mask(LensCharacter(), W // 2, H // 2, radius)
    assert _iou(got, want) > 0.8
    assert _iou(got, circle) < 0.7
    # Energy is kept: the same light as through a round aperture.
    round_out, _ = render(ctx, programs, _light(W // 2, H // 2), inv, LENS)
    e_tri = srgb_to_linear(out / 255.0).sum()
    e_round = srgb_to_linear(round_out / 255.0).sum()
    assert e_tri == pytest.approx(e_round, rel=0.1)


def test_a_bad_aperture_image_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "iris.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(InputError, match=r"iris\.png"):
        with_aperture_image(LensCharacter(), bad)
    black = tmp_path / "black.png"
    write_png(black, np.zeros((16, 16, 3), np.uint8))
    with pytest.raises(InputError, match=r"black\.png"):
        with_aperture_image(LensCharacter(), black)


def test_lens_character_values_are_checked() -> None:
    with pytest.raises(InputError):
        LensCharacter(cat_eye=1.5)
    with pytest.raises(InputError):
        LensCharacter(axial_ca_px=float("nan"))


def test_render_cli_takes_the_lens_character_flags(tmp_path: Path, capsys) -> None:
    img = np.zeros((H, W, 3), np.uint8)
    img[20:24, 20:24] = 255                # a clipped light near the corner, far behind focus
    image, depth = tmp_path / "rgb.png", tmp_path / "depth.exr"
    write_png(image, img)
    write_depth(depth, np.full((H, W), 50.0, np.float32))
    iris = tmp_path / "iris.png"
    ys, xs = np.mgrid[0:32, 0:32]
    write_png(iris, np.repeat(((np.abs(xs - 16) + np.abs(ys - 16) <= 12) * 255)
                              .astype(np.uint8)[..., None], 3, axis=2))
    before = {p: p.read_bytes() for p in (image, depth, iris)}
    common = ["render", "--image", image, "--depth", depth, "--focal-length", 85,
              "--f-stop", 2.0, "--focus", 0.9]
    outs = {}
    for name, extra in (("plain", []), ("character", ["--cat-eye", 0.8, "--axial-ca", 2,
                                                      "--aperture-image", iris])):
        out = tmp_path / f"{name}.png"
        assert main([str(a) for a in [*common, "-o", out, *extra]]) == 0, capsys.readouterr()
        outs[name] = read_rgb(out)
    assert {p: p.read_bytes() for p in before} == before
    plain, shaped = outs["plain"], outs["character"]
    assert _mask(shaped).sum() < 0.8 * _mask(plain).sum()     # clipped, diamond iris
    assert np.abs(shaped[..., 0].astype(int) - shaped[..., 2]).max() > 20   # coloured rims
    # A bad iris file is one line naming it, exit 2, no output.
    (tmp_path / "bad.png").write_bytes(b"nope")
    code = main([str(a) for a in [*common, "-o", tmp_path / "x.png", "--aperture-image",
                                  tmp_path / "bad.png"]])
    err = capsys.readouterr().err
    assert code == 2 and "bad.png" in err and err.count("\n") == 1
    assert not (tmp_path / "x.png").exists()
    assert main([str(a) for a in [*common, "-o", tmp_path / "x.png", "--cat-eye", 2]]) == 2
    assert "cat-eye" in capsys.readouterr().err
