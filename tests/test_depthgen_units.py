"""depthgen building blocks without a video: the card's input size, normalisation, the affine
drift stabiliser, the 16-bit mapping, output paths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from rackfocus_live.depthcond import fit_affine
from rackfocus_live.depthgen.outputs import depth_output_paths
from rackfocus_live.depthgen.postprocess import default_postprocessor
from rackfocus_live.depthgen.quantise import MARGIN, DisparityQuantiser
from rackfocus_live.errors import InputError

pytest.importorskip("PIL", reason="the depth extra (Pillow) is not installed")
from rackfocus_live.depthgen.preprocess import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    model_input,
    network_size,
    upsample_depth,
)


@pytest.mark.parametrize(("size", "expected"), [
    ((1080, 1920), (518, 924)),   # landscape HD: the short side becomes 518
    ((1920, 1080), (924, 518)),   # portrait
    ((2160, 3840), (518, 924)),   # UHD: same input as HD
    ((518, 518), (518, 518)),
    ((240, 320), (392, 518)),     # smaller than 518: the side nearer its own size sets the scale
    ((90, 160), (294, 518)),     # tiny: the width (scale nearer 1) is 518
])
def test_network_size_follows_the_card(size: tuple[int, int], expected: tuple[int, int]) -> None:
    assert network_size(*size) == expected


@settings(max_examples=200, deadline=None)
@given(st.integers(16, 8000), st.integers(16, 8000))
def test_network_size_keeps_aspect_in_multiples_of_14(height: int, width: int) -> None:
    assume(max(height, width) <= 8 * min(height, width))  # beyond 8:1 a side is a patch or two
    h, w = network_size(height, width)
    assert h % 14 == 0 and w % 14 == 0 and h > 0 and w > 0
    # One side is within rounding of 518; the aspect ratio is kept to a patch's rounding.
    assert min(abs(h - 518), abs(w - 518)) <= 7
    assert abs(w / h - width / height) <= (width / height) * (7 / h + 7 / w) * 1.01 + 1e-9


def test_model_input_is_imagenet_normalised_channels_first() -> None:
    rgb = np.empty((90, 160, 3), np.uint8)
    rgb[:] = (200, 100, 30)
    x = model_input([rgb, rgb[::-1]], (518, 924))
    assert x.shape == (2, 3, 518, 924) and x.dtype == np.float32
    expected = (np.array([200, 100, 30], np.float32) / 255 - IMAGENET_MEAN) / IMAGENET_STD
    np.testing.assert_allclose(x[0, :, 5, 7], expected, atol=1e-6)
    np.testing.assert_allclose(x[1].mean(axis=(1, 2)), expected, atol=1e-5)


def test_model_input_resizes_bicubic_keeping_the_picture() -> None:
    # A left-to-right ramp stays a ramp in the same direction after the resize.
    ramp = np.tile(np.linspace(0, 255, 160).astype(np.uint8)[None, :, None], (90, 1, 3))
    x = model_input([ramp], (518, 924))[0, 0]
    cols = x.mean(axis=0)
    assert np.all(np.diff(cols[10:-10]) >= -1e-4) and cols[-1] > cols[0]


def test_upsample_depth_to_frame_size() -> None:
    d = np.linspace(0, 1, 14 * 28, dtype=np.float32).reshape(14, 28)
    up = upsample_depth(d, (90, 160))
    assert up.shape == (90, 160) and up.dtype == np.float32
    assert abs(float(up.mean()) - float(d.mean())) < 0.02


def _scene(rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0:120, 0:200]
    base = 0.2 + 0.6 * yy / 120 + 0.1 * np.sin(xx / 9.0)
    return (base + 0.01 * rng.standard_normal(base.shape)).astype(np.float32)


def test_stabiliser_removes_per_frame_scale_and_shift(rng: np.random.Generator) -> None:
    scene = _scene(rng)
    stab = default_postprocessor()
    rgb = np.zeros((*scene.shape, 3), np.uint8)
    outs = []
    for _ in range(12):
        a, b = rng.uniform(0.5, 2.0), rng.uniform(-0.5, 0.5)
        outs.append(stab(rgb, (scene * a + b).astype(np.float32)))
    for out in outs[1:]:
        np.testing.assert_allclose(out, outs[0], atol=2e-3)
    # Without it the frames differ by their drift: the test would fail.
    raw_spread = float(np.abs(scene * 2.0 + 0.3 - scene).max())
    assert raw_spread > 0.1


def test_stabiliser_ignores_a_moving_object_and_reset_starts_over(
        rng: np.random.Generator) -> None:
    scene = _scene(rng)
    stab = default_postprocessor()
    rgb = np.zeros((*scene.shape, 3), np.uint8)
    first = stab(rgb, scene)
    moved = scene.copy()
    moved[20:60, 30:80] = 3.0  # something came close in 8 % of the frame
    out = stab(rgb, (moved * 1.7 - 0.2).astype(np.float32))
    static = np.ones_like(scene, bool)
    static[20:60, 30:80] = False
    np.testing.assert_allclose(out[static], first[static], atol=5e-3)
    stab.reset()
    again = (scene * 3.0).astype(np.float32)
    np.testing.assert_array_equal(stab(rgb, again), again)  # first frame after reset passes


def test_stabiliser_does_not_flatten_noisy_depth_over_a_long_clip(
        rng: np.random.Generator) -> None:
    # Ordinary least squares shrinks the scale a little each frame when both frames are noisy
    # (regression dilution); chained over a clip the depth would fade to flat.
    scene = _scene(rng)
    stab = default_postprocessor()
    rgb = np.zeros((*scene.shape, 3), np.uint8)
    first = stab(rgb, scene)
    for _ in range(60):
        noisy = scene + 0.05 * rng.standard_normal(scene.shape).astype(np.float32)
        out = stab(rgb, noisy)
    assert abs(float(out.std()) / float(first.std()) - 1.0) < 0.1
    assert abs(float(out.mean()) - float(first.mean())) < 0.02


def test_fit_affine_never_flips_depth_order() -> None:
    x = np.linspace(0, 1, 1000)
    scale, _ = fit_affine(x, 1.0 - x)  # an inverted frame cannot be matched by flipping
    assert scale > 0


def test_quantiser_fixes_the_mapping_on_the_first_frame() -> None:
    q = DisparityQuantiser()
    first = np.linspace(0.0, 10.0, 10_000, dtype=np.float32).reshape(100, 100)
    a = q(first)
    assert a.dtype == np.uint16
    assert abs(int(np.percentile(a, 50)) - 32768) < 80
    assert abs(int(np.percentile(a, 0.5)) - MARGIN * 65535) < 80
    # The same values in a later frame get the same codes; a nearer value gets a higher code.
    np.testing.assert_array_equal(q(first), a)
    b = q(np.full((100, 100), 6.0, np.float32))
    assert int(b[0, 0]) > int(np.median(a))
    c = q(np.full((100, 100), 100.0, np.float32))
    assert int(c[0, 0]) == 65535 and q.clipped == 10_000


def test_output_paths_refuse_the_clip_and_other_suffixes(tmp_path: Path) -> None:
    clip = tmp_path / "shot.mp4"
    clip.write_bytes(b"x")
    outs = depth_output_paths(clip, None)
    assert outs.video == tmp_path / "shot_depth.mkv"
    assert outs.sidecar == tmp_path / "shot_depth.json"
    assert depth_output_paths(clip, tmp_path / "d").video == tmp_path / "d.mkv"
    with pytest.raises(InputError, match=r"must be a \.mkv"):
        depth_output_paths(clip, tmp_path / "d.mp4")
    mkv_clip = tmp_path / "shot.mkv"
    mkv_clip.write_bytes(b"x")
    with pytest.raises(InputError, match="output is the same file as the clip"):
        depth_output_paths(mkv_clip, mkv_clip)
    with pytest.raises(InputError, match="folder does not exist"):
        depth_output_paths(clip, tmp_path / "nope" / "d.mkv")


def test_depthgen_never_loads_gl_and_the_command_loads_no_optional_dependency() -> None:
    import json
    import subprocess
    import sys

    probe = (
        "import importlib, json, sys\n"
        "import rackfocus_live.commands.depth\n"
        "light = sorted(sys.modules)\n"
        "for m in ('pipeline', 'runtime', 'preprocess', 'writer'):\n"
        "    importlib.import_module('rackfocus_live.depthgen.' + m)\n"
        "print(json.dumps({'light': light, 'all': sorted(sys.modules)}))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=Path(__file__).resolve().parents[1],
                         capture_output=True, text=True, timeout=120, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    light = {m.split(".")[0] for m in result["light"]}
    loaded = {m.split(".")[0] for m in result["all"]}
    assert not light & {"onnxruntime", "PIL"}  # the CLI parses without the depth extra
    assert {"onnxruntime", "PIL"} <= loaded  # (the probe does load them: it can fail)
    assert not loaded & {"moderngl", "glfw", "imgui_bundle"}
