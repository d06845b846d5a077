"""The bundled demo: the committed files are what the app expects, agree with each other and with
assets/make_demo.py, and the generator is deterministic."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from rackfocus_live.depth import DepthMapping
from tests.test_app_smoke import load_make_demo

ASSETS = Path(__file__).resolve().parent.parent / "assets"


@pytest.fixture(scope="module")
def meta() -> dict[str, object]:
    return json.loads((ASSETS / "demo.json").read_text())


def depth_frame(path: Path, index: int = 0) -> np.ndarray:
    with av.open(str(path)) as c:
        for i, frame in enumerate(c.decode(video=0)):
            if i == index:
                assert frame.format.name == "gray16le"
                return frame.to_ndarray()
    raise AssertionError(f"no frame {index}")


def test_files_are_small_and_described(meta: dict[str, object]) -> None:
    files = ["demo.mp4", "demo_depth.mkv", "demo.json", "demo_pull.json"]
    sizes = {f: (ASSETS / f).stat().st_size for f in files}
    assert sum(sizes.values()) < 6_000_000, sizes  # small enough to commit
    assert 500_000 < sizes["demo.mp4"] < 3_000_000
    assert meta["clip"] == "demo.mp4" and meta["depth"] == "demo_depth.mkv"


def test_clip_and_depth_probe_as_the_app_expects(meta: dict[str, object]) -> None:
    from rackfocus_live.media.depthsource import open_depth
    from rackfocus_live.media.probe import probe_clip

    info = probe_clip(ASSETS / "demo.mp4")
    assert (info.width, info.height) == (640, 360) == (meta["width"], meta["height"])
    assert info.fps == Fraction(24) and info.frame_count == 120 == meta["frame_count"]
    assert info.pix_fmt == "yuv420p" and info.codec == "h264"
    assert (info.color_matrix, info.color_range) == ("bt709", "limited")
    mapping = DepthMapping(**{k: v for k, v in meta["depth_mapping"].items()  # type: ignore[union-attr]
                              if k != "note"})
    warnings: list[str] = []
    source = open_depth(ASSETS / "demo_depth.mkv", mapping, info, warn=warnings.append)
    assert source.kind == "video" and source.frame_count == 120 and not warnings


def test_depth_is_valid_millimetres_matching_the_objects(meta: dict[str, object]) -> None:
    mm = depth_frame(ASSETS / "demo_depth.mkv", 0)
    assert mm.shape == (360, 640)
    assert mm.min() >= 1000 and mm.max() <= 9000  # 1..9 m, no invalid zeros
    for name, obj in meta["objects"].items():  # type: ignore[union-attr]
        x, y = obj["pixel_at_start"]
        window = mm[int(y) - 2 : int(y) + 3, int(x) - 2 : int(x) + 3] / 1000.0
        assert np.median(window) == pytest.approx(obj["depth_m"], rel=0.01), name


def test_pull_loads_and_lands_on_its_marks() -> None:
    from rackfocus_live.media.probe import probe_clip
    from rackfocus_live.timeline.keyfile import MediaIdentity, load_pull

    info = probe_clip(ASSETS / "demo.mp4")
    media = MediaIdentity("demo.mp4", (ASSETS / "demo.mp4").stat().st_size, info.duration,
                          info.fps, info.frame_count)
    loaded = load_pull(ASSETS / "demo_pull.json", media)
    assert loaded.warnings == []  # made for exactly this clip
    track = loaded.pull.track
    marks = {m.label: m.focus_m for m in track.marks}
    assert track.evaluate(0.3) == marks["C"]  # wall
    assert track.evaluate(2.0) == marks["A"]  # railing post
    assert track.evaluate(3.5) == marks["B"]  # sphere
    assert marks["A"] < marks["B"] < marks["C"]
    assert loaded.pull.lens is not None and loaded.pull.lens.focus_breathing is False


@pytest.mark.gl
def test_generator_is_deterministic(tmp_path: Path) -> None:
    make_demo = load_make_demo()
    # Full size: x264 output at tiny sizes (a few macroblocks) is not bit-stable across runs.
    spec = make_demo.DemoSpec(frames=3)
    a = make_demo.make_demo(tmp_path / "a", spec)
    b = make_demo.make_demo(tmp_path / "b", spec)
    for role in ("clip", "depth", "meta"):
        assert a[role].read_bytes() == b[role].read_bytes(), role
    with av.open(str(a["clip"])) as c:
        assert c.streams.video[0].frames == 3


@pytest.mark.gl
def test_committed_depth_is_what_the_generator_renders() -> None:
    """Frame 0 of demo_depth.mkv (lossless) equals a fresh render: the asset is up to date."""
    make_demo = load_make_demo()
    renderer = make_demo.SceneRenderer(make_demo.DemoSpec())
    try:
        _, depth_m = renderer.render(0)
    finally:
        renderer.release()
    fresh = make_demo.depth_to_mm(depth_m).astype(np.int32)
    committed = depth_frame(ASSETS / "demo_depth.mkv", 0).astype(np.int32)
    # Another GPU may round a float differently at a few silhouette pixels; nowhere else.
    assert np.mean(fresh == committed) > 0.999
    assert np.median(np.abs(fresh - committed)) == 0
