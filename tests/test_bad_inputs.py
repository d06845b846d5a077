"""Bad and awkward inputs, table-driven, through the command line as a user meets them.

Every bad input is answered with exactly one error line, ``PROG: error: PATH: problem`` (the file
first; flags have no file, the problem names the quantity), exit code 2, no traceback, nothing
left behind. Awkward inputs that must *work* (odd sizes, rotation, variable frame rate, HDR, depth
holes, other aspect ratios, short or 8-bit depth) are asserted to work, with what comes out.
The same list is documented in docs/formats.md ("Bad and awkward inputs").

Finer-grained cases of the media layer (damage mid-stream, sequences with gaps, files deleted
under the decoder) are in test_media_bad_inputs.py, keyframe-field messages in test_keyfile.py.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import pytest

from rackfocus_live.cli import main
from rackfocus_live.depth import DepthMapping
from rackfocus_live.lens import LensState
from rackfocus_live.media.decoder import DecoderThread
from rackfocus_live.media.depthsource import open_depth
from rackfocus_live.media.images import write_depth
from rackfocus_live.media.probe import probe_clip
from rackfocus_live.timeline.keyframes import FocusTrack, Key
from tests import media_factory as mf

pytestmark = pytest.mark.timeout(120)

SIZE = (64, 48)
FRAMES = 12
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A clip and its depth that work: each case spoils one of them (or a flag)."""
    d = tmp_path_factory.mktemp("good")
    return {
        "clip": mf.make_clip(d / "clip.mp4", frames=FRAMES, size=SIZE),
        "depth": mf.make_depth_video(d / "depth.mkv", frames=FRAMES, size=SIZE),
    }


def run_cli(argv: list[str]) -> int:
    """``main`` in-process; argparse's own errors exit through SystemExit with code 2."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


# -- the table of bad inputs -----------------------------------------------------------------------


@dataclass(frozen=True)
class Env:
    """What a case builds its input from."""

    tmp: Path
    good: dict[str, Path]

    def export(self, clip: Path | None = None, depth: Path | str | None = None,
               *flags: str) -> list[str]:
        out = flags[flags.index("-o") + 1] if "-o" in flags else str(self.tmp / "out.mkv")
        rest = [f for i, f in enumerate(flags)
                if f != "-o" and (i == 0 or flags[i - 1] != "-o")]
        if "--keys" not in rest and "--focus" not in rest:
            rest += ["--focus", "2"]
        return ["export", str(clip or self.good["clip"]), "--depth",
                str(depth or self.good["depth"]), "-o", out, "--codec", "ffv1",
                "--quality", "draft", *rest]

    def keys(self, doc: object | bytes) -> tuple[list[str], Path]:
        path = self.tmp / "pull.json"
        path.write_bytes(doc if isinstance(doc, bytes) else json.dumps(doc).encode())
        return ["keys", str(path), "--info"], path


Build = Callable[[Env], tuple[list[str], Path | None]]


@dataclass(frozen=True)
class Bad:
    """One bad input.

    Attributes:
        id: short name (the pytest id).
        build: makes the input in ``env.tmp``; returns the command line and the file the error
            must name (None for a flag).
        expect: the problem, as the user reads it (a substring of the line).
        root_skip: a permission case root cannot see (root reads everything).
    """

    id: str
    build: Build
    expect: str
    root_skip: bool = False


def _doc(**changes: object) -> dict:
    doc = {"schema": "rackfocus-live/keys", "version": 1, "track": {"fps": "24"},
           "keys": [{"time": 0.0, "focus_m": 2.0}, {"time": 1.0, "focus_m": 4.0}]}
    doc.update(changes)
    return doc


def _key_change(index: int, **fields: object) -> dict:
    doc = _doc()
    doc["keys"][index].update(fields)  # type: ignore[index]
    return doc


def _clip_case(make: Callable[[Path], Path]) -> Build:
    def build(env: Env) -> tuple[list[str], Path | None]:
        clip = make(env.tmp)
        return env.export(clip), clip
    return build


def _depth_case(make: Callable[[Path], Path | str]) -> Build:
    def build(env: Env) -> tuple[list[str], Path | None]:
        depth = make(env.tmp)
        return env.export(None, depth), Path(depth)
    return build


def _flags_case(*flags: str) -> Build:
    def build(env: Env) -> tuple[list[str], Path | None]:
        return env.export(None, None, *flags), None
    return build


def _keys_case(doc: object | bytes) -> Build:
    def build(env: Env) -> tuple[list[str], Path | None]:
        return env.keys(doc)
    return build


def _empty(p: Path) -> Path:
    (p / "empty.mp4").touch()
    return p / "empty.mp4"


def _no_moov(p: Path) -> Path:
    clip = mf.make_clip(p / "full.mp4", frames=24, faststart=False, texture=20)
    return mf.truncate_file(clip, 0.7, p / "camera_cut.mp4")


def _text(p: Path, name: str = "notes.mp4") -> Path:
    (p / name).write_text("this is not a video\n" * 50)
    return p / name


def _raw_h264(p: Path) -> Path:
    out = p / "raw.h264"
    with av.open(os.fspath(out), "w", format="h264") as c:
        s = c.add_stream("libx264", rate=24)
        s.width, s.height, s.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        for i in range(4):
            frame = mf.frame_from_planes(mf.code_planes(i, SIZE), "yuv420p")
            frame.pts = i
            c.mux(s.encode(frame))
        c.mux(s.encode(None))
    return out


def _locked(p: Path, name: str, data: bytes = b"x" * 100) -> Path:
    out = p / name
    out.write_bytes(data)
    out.chmod(0)
    return out


def _exr(p: Path, values: np.ndarray, name: str = "depth.exr") -> Path:
    write_depth(p / name, values.astype(np.float32))
    return p / name


BAD: list[Bad] = [
    # clip
    Bad("clip-missing", _clip_case(lambda p: p / "nope.mp4"), "file not found"),
    Bad("clip-empty", _clip_case(_empty), "file is empty"),
    Bad("clip-mp4-moov-missing", _clip_case(_no_moov),
        "the MP4 index ('moov') is missing, the file was cut short"),
    Bad("clip-not-media", _clip_case(_text), "not a readable video file"),
    Bad("clip-audio-only", _clip_case(lambda p: mf.make_audio_only(p / "voice.m4a")),
        "no video stream (the file has only audio)"),
    Bad("clip-zero-frames", _clip_case(lambda p: mf.make_empty_clip(p / "zero.mkv")),
        "video stream has no frames (zero-length clip)"),
    Bad("clip-raw-h264", _clip_case(_raw_h264), "video has no timestamps"),
    Bad("clip-is-a-directory", _clip_case(lambda p: p), "is a directory, expected a video file"),
    Bad("clip-no-permission", _clip_case(lambda p: _locked(p, "locked.mp4")),
        "permission denied", root_skip=True),
    Bad("clip-cut-mid-stream",
        _clip_case(lambda p: mf.truncate_file(
            mf.make_clip(p / "c.mp4", frames=48, texture=20), 0.5, p / "cut.mp4")),
        "video ends at frame"),
    Bad("clip-odd-size-to-h264",
        lambda env: (env.export(mf.make_clip(env.tmp / "odd.mkv", frames=2, size=(67, 45),
                                             codec="ffv1"), None, "-o",
                                str(env.tmp / "o.mp4"), "--codec", "h264"),
                     env.tmp / "odd.mkv"),
        "needs an even frame size, the clip is 67x45; use --codec ffv1"),
    # depth
    Bad("depth-missing", _depth_case(lambda p: p / "nodepth.mkv"), "file not found"),
    Bad("depth-all-zero",
        _depth_case(lambda p: mf.write_depth_image(p / "zeros.png",
                                                   np.zeros(SIZE[::-1], np.uint16))),
        "depth has no valid samples (all zero, negative, NaN or inf for metric depth)"),
    Bad("depth-all-nan", _depth_case(lambda p: _exr(p, np.full(SIZE[::-1], np.nan))),
        "depth has no valid samples"),
    Bad("depth-not-an-image", _depth_case(lambda p: _text(p, "depth.png")),
        "not a readable depth file"),
    Bad("depth-audio-only", _depth_case(lambda p: mf.make_audio_only(p / "d.m4a")),
        "no video stream (the file has only audio)"),
    Bad("depth-pattern-no-files", _depth_case(lambda p: str(p / "depth_%05d.png")),
        "no files match the depth sequence pattern"),
    Bad("depth-is-a-directory", _depth_case(lambda p: p),
        "is a directory, expected a depth file"),
    Bad("depth-no-permission", _depth_case(lambda p: _locked(p, "locked.png")),
        "permission denied", root_skip=True),
    # keyframe file
    Bad("keys-truncated-json",
        _keys_case(json.dumps(_doc()).encode()[:-20]), "not valid JSON (line 1, column"),
    Bad("keys-empty", _keys_case(b""), "file is empty"),
    Bad("keys-wrong-type", _keys_case(_key_change(0, focus_m="near")),
        'keys[0].focus_m: expected a number, got "near"'),
    Bad("keys-time-wrong-type", _keys_case(_key_change(1, time=[1])),
        "keys[1].time: expected a number, got a list"),
    Bad("keys-out-of-order", _keys_case(_key_change(1, time=-1.0)),
        "keys[1].time: keys must be in increasing time order (-1 s after 0 s)"),
    Bad("keys-unknown-easing", _keys_case(_key_change(0, easing="wobble")),
        "keys[0].easing: unknown easing 'wobble'"),
    Bad("keys-future-schema", _keys_case(_doc(version=2, keys="?")),
        "version: the file is format version 2, written by a newer rackfocus-live"),
    Bad("keys-focus-zero", _keys_case(_key_change(0, focus_m=0)),
        "keys[0].focus_m: must be > 0"),
    Bad("keys-f-stop-negative", _keys_case(_key_change(1, f_stop=-2.8)),
        "keys[1].f_stop: must be > 0"),
    Bad("keys-lens-focus-inside-focal-length",
        _keys_case(_doc(lens={"focal_length_mm": 50, "focus_m": 0.04})),
        "lens: focus distance 0.04 m must be greater than the focal length (50 mm)"),
    Bad("keys-not-ours", _keys_case({"version": 1, "keys": []}),
        "not a rackfocus-live keyframe file"),
    Bad("keys-is-a-directory", lambda env: (["keys", str(env.tmp), "--info"], env.tmp),
        "is a directory, expected a keyframe file"),
    Bad("keys-no-permission",
        lambda env: (["keys", str(_locked(env.tmp, "p.json", b"{}")), "--info"],
                     env.tmp / "p.json"),
        "permission denied", root_skip=True),
    # flags
    Bad("flag-f-stop-zero", _flags_case("--f-stop", "0"),
        "argument --f-stop: must be within 0.5..256"),
    Bad("flag-focus-negative", _flags_case("--focus", "-1"),
        "argument --focus: must be within 0.001..1e+06 m"),
    Bad("flag-focal-length-beyond-focus", _flags_case("--focal-length", "50", "--focus", "0.04"),
        "focus distance 0.04 m must be greater than the focal length (50 mm)"),
    Bad("flag-far-before-near", _flags_case("--depth-kind", "disparity", "--near", "5",
                                            "--far", "2"),
        "far (2 m) must be greater than near (5 m)"),
    Bad("flag-normalized-infinite-far", _flags_case("--depth-kind", "normalized", "--far", "inf"),
        "far must be finite for normalized depth"),
    Bad("flag-blades", _flags_case("--blades", "2"), "blades must be 0 (circular) or 3..16"),
    Bad("flag-squeeze", _flags_case("--squeeze", "9"),
        "argument --squeeze: must be within 0.25..4"),
    Bad("flag-sensor", _flags_case("--sensor-width", "bogus"), "unknown sensor 'bogus'"),
    Bad("flag-empty-range", _flags_case("--range", "8:3"), "--range is empty (8:3)"),
    Bad("flag-not-a-number", _flags_case("--f-stop", "abc"),
        "argument --f-stop: not a number: 'abc'"),
    Bad("flag-output-is-the-clip",
        lambda env: (env.export(None, None, "-o", str(env.good["clip"])), env.good["clip"]),
        "output is the same file as the clip"),
]


def _params() -> list[object]:
    out = []
    for case in BAD:
        marks = [pytest.mark.skipif(
            IS_ROOT, reason="running as root, which reads any file: the permission check cannot "
                            "fail here; the directory cases cover an unreadable path")
        ] if case.root_skip else []
        out.append(pytest.param(case, id=case.id, marks=marks))
    return out


@pytest.mark.parametrize("case", _params())
def test_bad_input_is_one_line_naming_the_file_exit_2(
    case: Bad, tmp_path: Path, good: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    argv, named = case.build(Env(tmp_path, good))
    before = sorted(p.name for p in tmp_path.iterdir())
    code = run_cli(argv)
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if ": error: " in line]
    prog = "rackfocus-live" + ("" if argv[0] not in ("export", "keys") else f" {argv[0]}")
    assert code == 2, err
    assert "Traceback" not in err
    assert len(errors) == 1, err
    line = errors[0]
    assert line.startswith(f"{prog}: error: {named}: " if named is not None
                           else f"{prog}: error: "), line
    assert case.expect in line, line
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no output, no partial file


def test_the_table_is_big_and_distinct() -> None:
    assert len(BAD) >= 25
    assert len({c.id for c in BAD}) == len(BAD)
    assert len({c.expect for c in BAD}) >= 25


# -- awkward inputs that work ----------------------------------------------------------------------


def export_frames(env_dir: Path, clip: Path, depth: Path, *flags: str,
                  capsys: pytest.CaptureFixture[str]) -> tuple[list[np.ndarray], list[int], str]:
    """Export with FFV1 (lossless), return (RGB frames, pts, stderr)."""
    out = env_dir / "out.mkv"
    code = run_cli(["export", str(clip), "--depth", str(depth), "-o", str(out), "--codec",
                    "ffv1", "--quality", "draft", "--focus", "2", *flags])
    err = capsys.readouterr().err
    assert code == 0, err
    with av.open(os.fspath(out)) as c:
        frames = list(c.decode(video=0))
    return [f.to_ndarray(format="rgb24") for f in frames], [f.pts for f in frames], err


def warnings_of(err: str) -> list[str]:
    return [line for line in err.splitlines() if ": warning: " in line]


def test_odd_frame_size_works(tmp_path: Path, capsys) -> None:
    # 1921x1081 (a crop of HD) decodes with 961x541 chroma planes.
    big = mf.make_clip(tmp_path / "big.mkv", frames=2, size=(1921, 1081), codec="ffv1")
    info = probe_clip(big)
    assert (info.width, info.height) == (1921, 1081)
    with DecoderThread(big, None, info=info) as dec:
        packet = dec.get(10.0)
        assert packet is not None
        assert [p.shape for p in packet.planes] == [(1081, 1921), (541, 961), (541, 961)]
        assert mf.read_code(packet.planes[0]) == 0
    # A small odd size through the whole pipeline: every frame out, at its size, in order.
    odd = mf.make_clip(tmp_path / "odd.mkv", frames=6, size=(67, 45), codec="ffv1")
    depth = mf.make_depth_still(tmp_path / "d.png", size=(67, 45))
    frames, _, err = export_frames(tmp_path, odd, depth, capsys=capsys)
    assert warnings_of(err) == []
    assert [f.shape for f in frames] == [(45, 67, 3)] * 6
    assert [mf.read_code_rgb(f) for f in frames] == list(range(6))


def test_rotated_phone_video_is_shown_upright(tmp_path: Path, capsys) -> None:
    clip = mf.make_clip(tmp_path / "phone.mp4", frames=6, size=(64, 48), rotation=90)
    info = probe_clip(clip)
    assert info.rotation == 90 and info.display_size == (48, 64)
    # Depth is expected in display orientation (as depth models see the rotated frames).
    depth = mf.make_depth_still(tmp_path / "d.png", size=(48, 64))
    frames, _, err = export_frames(tmp_path, clip, depth, capsys=capsys)
    assert warnings_of(err) == []
    assert [f.shape for f in frames] == [(64, 48, 3)] * 6  # rotation baked into the pixels
    # Turning the output back by 90 degrees clockwise gives the stored frame.
    assert [mf.read_code_rgb(np.rot90(f, -1)) for f in frames] == list(range(6))
    # Depth in the stored orientation is accepted, with one line saying it is stretched.
    wrong = mf.make_depth_still(tmp_path / "d_stored.png", size=(64, 48))
    _, _, err = export_frames(tmp_path, clip, wrong, capsys=capsys)
    assert len(warnings_of(err)) == 1 and "aspect ratios differ" in err



def test_variable_frame_rate_mp4_keeps_its_last_frames(tmp_path: Path, capsys) -> None:
    times = [0, 40, 80, 160, 200, 240, 281, 360, 400, 440, 520, 560, 600, 640]
    clip = mf.make_vfr_clip(tmp_path / "vfr.mp4", times, SIZE)
    info = probe_clip(clip)
    # 14 frames in the file, but 17 frame slots at 25 fps up to the last one (at 640 ms): the
    # stored count (14) would cut the last frames off playback and export.
    assert info.frame_count == 17 and info.fps == 25
    depth = mf.make_depth_still(tmp_path / "d.png", size=SIZE)
    frames, pts, _ = export_frames(tmp_path, clip, depth, capsys=capsys)
    with av.open(os.fspath(clip)) as c:
        stream = c.streams.video[0]
        clip_times = [round(f.pts * stream.time_base * 1000) for f in c.decode(stream)]
    assert clip_times == times
    assert [mf.read_code_rgb(f) for f in frames] == list(range(len(times)))  # each frame once
    assert len(pts) == len(times)


def test_10_bit_hdr_pq_warns_and_is_processed_as_sdr(tmp_path: Path, capsys) -> None:
    clip = mf.make_clip(tmp_path / "hdr.mp4", frames=4, size=SIZE, pix_fmt="yuv420p10le",
                        matrix="bt2020", transfer=16)
    info = probe_clip(clip)
    assert info.hdr == "pq" and info.layout.bits == 10 and info.color_matrix == "bt2020"
    depth = mf.make_depth_still(tmp_path / "d.png", size=SIZE)
    out = tmp_path / "hdr_out.mp4"
    code = run_cli(["export", str(clip), "--depth", str(depth), "-o", str(out), "--focus", "2",
                    "--quality", "draft"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert warnings_of(err) == [
        f"rackfocus-live export: warning: {clip}: HDR video (BT.2020 PQ, 10-bit) is not "
        "supported: processed as SDR (blur and highlights work on the PQ signal as if it were "
        "SDR); exports keep the clip's HDR tags"]
    with av.open(os.fspath(out)) as c:
        s = c.streams.video[0]
        frames = list(c.decode(s))
        assert s.codec_context.color_trc == 16 and s.codec_context.colorspace == 9
    assert [mf.read_code_rgb(f.to_ndarray(format="rgb24")) for f in frames] == [0, 1, 2, 3]


def test_depth_with_nan_and_inf_holes_is_filled(good: dict[str, Path], tmp_path: Path) -> None:
    z = np.full(SIZE[::-1], 2.0, np.float32)
    z[:, 48:] = 8.0
    z[10:20, 10:20] = np.nan  # a hole (a depth model's mask, a failed stereo match)
    z[30:, :8] = np.inf  # the sky of a render pass: infinitely far
    z[40:, 40:] = -1.0  # negative: invalid
    depth = open_depth(_exr(tmp_path, z), DepthMapping("metric"), probe_clip(good["clip"]))
    inv = depth.reader().read(0)
    assert np.all(np.isfinite(inv))
    assert np.all(inv[30:, :8] == 0.0)  # +inf is valid: infinitely far
    np.testing.assert_allclose(inv[10:20, 10:20], 0.5, rtol=1e-6)  # filled from 2 m around it
    assert np.all((inv[40:, 40:] > 1 / 8.0 - 1e-6) & (inv[40:, 40:] < 0.5 + 1e-6))


def test_depth_of_another_aspect_ratio_is_stretched_with_a_warning(good: dict[str, Path],
                                                                    tmp_path: Path) -> None:
    notes: list[str] = []
    still = mf.make_depth_still(tmp_path / "square.png", size=(32, 32))
    depth = open_depth(still, mf.DEPTH_MAPPING, probe_clip(good["clip"]), warn=notes.append)
    assert (depth.width, depth.height) == (32, 32)
    assert notes == ["depth is 32x32 and the clip 64x48: the aspect ratios differ, depth is "
                     "stretched to the frame"]


def test_depth_shorter_than_the_clip_holds_its_last_frame(good: dict[str, Path],
                                                         tmp_path: Path) -> None:
    info = probe_clip(good["clip"])
    short = mf.make_depth_video(tmp_path / "short.mkv", frames=6, size=SIZE)
    notes: list[str] = []
    depth = open_depth(short, mf.DEPTH_MAPPING, info, warn=notes.append)
    assert len(notes) == 1 and "its last frame is held for the clip's final 0.250 s" in notes[0]
    with DecoderThread(good["clip"], depth, info=info) as dec:
        indices = []
        for _ in range(FRAMES):
            packet = dec.get(10.0)
            assert packet is not None
            indices.append(mf.read_depth_index(packet.depth))
    assert indices == [0, 1, 2, 3, 4, 5, 5, 5, 5, 5, 5, 5]


def test_8_bit_disparity_with_banding_works_in_256_steps(good: dict[str, Path],
                                                         tmp_path: Path, capsys) -> None:
    # A smooth ramp from near to far, quantised to 8 bits: visible steps (banding).
    ramp = np.linspace(255, 0, SIZE[0])[None, :].repeat(SIZE[1], 0)
    banded = np.round(ramp).astype(np.uint8)
    path = mf.write_depth_image(tmp_path / "disparity8.png", banded)
    mapping = DepthMapping("disparity", near=0.5, far=20.0)
    info = probe_clip(good["clip"])
    inv = open_depth(path, mapping, info).reader().read(0)
    levels = np.unique(inv)
    assert len(levels) <= 256 and np.all(np.diff(inv[0]) <= 0)  # monotonic, in steps
    np.testing.assert_allclose([inv.max(), inv.min()], [1 / 0.5, 1 / 20.0], rtol=1e-6)
    frames, _, err = export_frames(tmp_path, good["clip"], path, "--depth-kind", "disparity",
                                   "--near", "0.5", "--far", "20", capsys=capsys)
    assert warnings_of(err) == [] and len(frames) == FRAMES


def test_key_focus_inside_the_focal_length_is_clamped_not_refused() -> None:
    # A key may be closer than a long lens can focus (the pull was made for another lens): the
    # thin lens needs focus beyond the focal length, so it is held just beyond it.
    track = FocusTrack([Key(0.0, 0.02), Key(1.0, 3.0)])
    lens = track.lens_at(0.0, LensState(focal_length_mm=85.0))
    assert lens.focus_m == pytest.approx(0.085 * 1.001)
