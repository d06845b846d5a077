"""Image-sequence plates: finding frames (first number, ####/%04d, gaps in one line), the float
path through the decoder thread and uploader, EXR-sequence export (one frame per input frame,
values above 1.0 kept, depth as Z), colour spaces through OCIO, and bad inputs (exit 2)."""

from __future__ import annotations

import dataclasses
import hashlib
from fractions import Fraction
from pathlib import Path

import numpy as np
import OpenEXR
import pytest

from rackfocus_live.cli import main
from rackfocus_live.colour import WORKING_SPACE, ColourPlan, convert, resolve_space
from rackfocus_live.depth import DepthMapping
from rackfocus_live.errors import InputError
from rackfocus_live.media.decoder import DecoderThread
from rackfocus_live.media.exr import read_exr, read_exr_rgb, write_exr
from rackfocus_live.media.images import read_rgb
from rackfocus_live.media.sequence import (
    PLATE_FORMAT,
    find_sequence,
    parse_fps,
    probe_media,
)
from tests.dof_helpers import psnr
from tests.test_app_smoke import xvfb as _xvfb

W, H = 256, 64
FIRST = 1001
VIEW = "ACES 2.0 - SDR 100 nits (Rec.709)"
xvfb = _xvfb  # the app smoke test's Xvfb fixture, shared


def _plate_frame(i: int) -> tuple[np.ndarray, np.ndarray]:
    """Grey 0.18 ground, a 6x6 light of 40 moving right by 4 px a frame; near side at 1 m."""
    rgb = np.full((H, W, 3), 0.18, np.float32)
    rgb[20:26, 50 + 4 * i:56 + 4 * i] = 40.0
    z = np.full((H, W), 12.0, np.float32)
    z[:, :30] = 1.0
    return rgb, z


def make_plate(folder: Path, n: int = 4, *, name: str = "plate", depth_name: str = "Z",
               skip: tuple[int, ...] = ()) -> Path:
    for i in range(n):
        if FIRST + i in skip:
            continue
        rgb, z = _plate_frame(i)
        OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION},
                     {"RGB": rgb.astype(np.float16), depth_name: z}).write(
            str(folder / f"{name}.{FIRST + i:04d}.exr"))
    return folder / f"{name}.####.exr"


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_sequence_patterns_find_the_first_frame(tmp_path: Path) -> None:
    make_plate(tmp_path, 3)
    for pattern in ("plate.####.exr", "plate.%04d.exr", "plate.%d.exr"):
        seq = find_sequence(tmp_path / pattern)
        assert seq.first == FIRST and len(seq.files) == 3
        assert seq.files[-1].name == "plate.1003.exr"


def test_gaps_are_reported_in_one_line(tmp_path: Path) -> None:
    make_plate(tmp_path, 9, skip=(1003, 1005, 1006))
    with pytest.raises(InputError) as info:
        find_sequence(tmp_path / "plate.####.exr")
    assert "1001-1009 has gaps: missing frame 1003, 1005-1006" in str(info.value)
    assert "\n" not in str(info.value)


def test_fps_parsing() -> None:
    assert parse_fps(None) == 24 and parse_fps("25") == 25
    assert parse_fps("23.976") == Fraction(24000, 1001)
    assert parse_fps("30000/1001") == Fraction(30000, 1001)
    with pytest.raises(InputError, match="--fps"):
        parse_fps("fast")


def test_probe_describes_the_plate(tmp_path: Path) -> None:
    info = probe_media(make_plate(tmp_path, 4), fps=Fraction(25))
    assert (info.width, info.height, info.frame_count) == (W, H, 4)
    assert info.fps == 25 and info.duration == pytest.approx(0.16)
    assert info.scene_linear and info.plate is not None and info.plate.sequence.first == FIRST


def test_decoder_thread_hands_over_float_planes_above_one(tmp_path: Path) -> None:
    info = probe_media(make_plate(tmp_path, 4))
    with DecoderThread(info.path, None, info=info) as dec:
        dec.seek(2)
        packet = dec.get_frame(2, timeout=10.0)
    assert packet is not None and packet.format == PLATE_FORMAT
    rgb = packet.planes[0]
    # A half EXR travels as stored (half float); the uploader converts it on the GPU.
    assert rgb.dtype == np.float16 and rgb.shape == (H, W, 3) and not rgb.flags.writeable
    assert float(rgb[20, 58, 0]) == 40.0 and float(rgb[0, 0, 1]) == pytest.approx(0.18, 1e-3)



@pytest.mark.gl
def test_uploader_keeps_plate_values_above_one(ctx, programs, tmp_path: Path) -> None:
    from rackfocus_live.gpu.upload import FrameUploader

    info = probe_media(make_plate(tmp_path, 2))
    with DecoderThread(info.path, None, info=info) as dec:
        packet = dec.get(timeout=10.0)
    assert packet is not None
    up = FrameUploader(ctx, programs, W, H)
    try:
        up.upload(packet, info)
        back = np.frombuffer(up.color.read(), np.float16).reshape(H, W, 4)
    finally:
        up.release()
    assert float(back[20, 50, 0]) == 40.0 and float(back[5, 5, 0]) == pytest.approx(0.18, 1e-3)


@pytest.mark.gl
def test_uploader_converts_an_acescg_plate_with_ocio_on_the_gpu(ctx, programs, tmp_path) -> None:
    from rackfocus_live.gpu.upload import FrameUploader

    rng = np.random.default_rng(5)
    cg = np.exp(rng.uniform(-5, 3.5, (H, W, 3))).astype(np.float32)  # up to ~33
    write_exr(tmp_path / "cg.1001.exr", cg, half=False)
    info = probe_media(tmp_path / "cg.####.exr", plan=ColourPlan(resolve_space("acescg")))
    with DecoderThread(info.path, None, info=info) as dec:
        packet = dec.get(timeout=10.0)
    assert packet is not None and packet.planes[0].dtype == np.float32
    up = FrameUploader(ctx, programs, W, H)
    try:
        up.upload(packet, info)
        back = np.frombuffer(up.color.read(), np.float16).reshape(H, W, 4)[..., :3]
    finally:
        up.release()
    want = convert(cg, "ACEScg", WORKING_SPACE)
    np.testing.assert_allclose(back.astype(np.float32), want, rtol=2e-3, atol=1e-4)


@pytest.mark.gl
def test_uploader_holds_hot_pixels_to_half_range_and_zeroes_nan(ctx, programs, tmp_path) -> None:
    from rackfocus_live.gpu.upload import FrameUploader
    from rackfocus_live.media.decoder import FramePacket

    rgb = np.full((4, 6, 3), 2.5, np.float32)
    rgb[1, 2] = (1e9, np.nan, -1e9)
    rgb[3, 5] = (np.inf, 0.5, 7.0)
    packet = FramePacket(0, 0, 0.0, (rgb,), PLATE_FORMAT, np.zeros((1, 1), np.float32), 0)
    up = FrameUploader(ctx, programs, 6, 4)
    plate = tmp_path / "p.exr"
    write_exr(plate, np.zeros((4, 6, 3), np.float32))
    info = probe_media(plate)  # linear Rec.709: the plain copy pass
    try:
        up.upload(packet, info)
        back = np.frombuffer(up.color.read(), np.float16).reshape(4, 6, 4).astype(np.float32)
    finally:
        up.release()
    assert back[1, 2, :3].tolist() == [65504.0, 0.0, -65504.0]
    assert back[3, 5, :3].tolist() == [65504.0, 0.5, 7.0]
    assert back[0, 0].tolist() == [2.5, 2.5, 2.5, 1.0]


def _export(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str]:
    code = main(["export", *map(str, args)])
    return code, capsys.readouterr().err


@pytest.mark.gl
def test_exr_sequence_with_exr_depth_sequence_exports_frame_for_frame(tmp_path, capsys) -> None:
    src = tmp_path / "in"
    src.mkdir()
    plate = make_plate(src, 4)
    for i in range(4):  # depth as its own sequence, as a renderer's Z pass often is
        OpenEXR.File({}, {"Z": _plate_frame(i)[1]}).write(str(src / f"depth.{FIRST + i:04d}.exr"))
    before = _digests(src)
    out = tmp_path / "out"
    out.mkdir()
    code, err = _export(capsys, plate, "--depth", src / "depth.%04d.exr", "--focus", "1.0",
                        "--f-stop", "2", "--focal-length", "85", "-o", out / "shot.%04d.exr",
                        "--exr-depth")
    assert code == 0, err
    assert _digests(src) == before
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"shot.{FIRST + i}.exr" for i in range(4)]
    for i in range(4):
        image = read_exr(out / f"shot.{FIRST + i}.exr")
        assert image.names() == ["B", "G", "R", "Z"]
        rgb = np.stack([image.channels[c] for c in "RGB"], axis=2)
        src_rgb = _plate_frame(i)[0]
        # Far light (12 m) defocused into a disc, energy kept; ground stays 0.18; > 1.0 kept.
        assert rgb.max() > 1.0 and rgb.max() < 0.2 * 40.0
        excess, src_excess = (rgb - 0.18).sum(), (src_rgb - 0.18).sum()
        assert abs(excess / src_excess - 1.0) < 0.03
        np.testing.assert_allclose(image.channels["Z"], _plate_frame(i)[1])


@pytest.mark.gl
def test_depth_same_reads_the_named_channel_and_png_sequences_export_to_video(
    tmp_path, capsys
) -> None:
    plate = make_plate(tmp_path, 3, depth_name="depth.Z")
    code, err = _export(capsys, plate, "--depth", "same", "--focus", "12", "-o",
                        tmp_path / "o.%04d.exr", "--exr-float32", "--exr-compression", "piz")
    assert code == 0, err
    header = OpenEXR.File(str(tmp_path / "o.1002.exr"), header_only=True).header()
    assert header["compression"] == OpenEXR.PIZ_COMPRESSION
    sharp = read_exr_rgb(tmp_path / "o.1002.exr")
    assert sharp[20, 54, 0] == pytest.approx(40.0, rel=1e-3)  # in focus: untouched
    # 16-bit PNG sequence -> H.264, one frame per image.
    from rackfocus_live.media.images import _write_still  # the PNG writer the tests share

    for i in range(3):
        _write_still(tmp_path / f"p16_{i:03d}.png",
                     np.full((H, W), 20000 + 1000 * i, np.uint16), "gray16")
    code, err = _export(capsys, tmp_path / "p16_%03d.png", "--depth", tmp_path / "o.1001.exr",
                        "--focus", "2", "-o", tmp_path / "p16.mp4", "--fps", "25")
    assert code == 0, err
    probed = probe_media(tmp_path / "p16.mp4")
    assert probed.frame_count == 3 and probed.fps == 25


def _acescg_scene(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    lin709 = np.stack([0.05 + 0.5 * xx / W, 0.05 + 0.4 * yy / H, 0.3 + 0.1 * np.sin(xx / 5)],
                      axis=2).astype(np.float32)
    lin709[rng.integers(0, H, 12), rng.integers(0, W, 12)] = (8.0, 6.0, 3.0)
    z = np.where(xx < W / 2, 1.0, 6.0).astype(np.float32)
    acescg = convert(lin709, WORKING_SPACE, resolve_space("acescg"))
    write_exr(tmp_path / "cg.exr", acescg, depth=z, half=False)
    write_exr(tmp_path / "lin.exr", lin709, depth=z, half=False)
    return tmp_path / "cg.exr", tmp_path / "lin.exr"


@pytest.mark.gl
def test_acescg_plate_renders_like_the_same_plate_in_linear_rec709(tmp_path, capsys) -> None:
    cg, lin = _acescg_scene(tmp_path)
    lens = ["--depth", "same", "--focus", "1.0", "--f-stop", "2", "--focal-length", "50"]
    code = main(["render", "--image", str(cg), "--input-space", "ACEScg", "--output-space",
                 "lin_rec709", "-o", str(tmp_path / "a.exr"), "--exr-float32", *lens])
    assert code == 0, capsys.readouterr().err
    code = main(["render", "--image", str(lin), "-o", str(tmp_path / "b.exr"), "--exr-float32",
                 *lens])
    assert code == 0, capsys.readouterr().err
    a, b = read_exr_rgb(tmp_path / "a.exr"), read_exr_rgb(tmp_path / "b.exr")
    assert psnr(a, b, peak=1.0) >= 45.0
    # And the display: the PNGs through the default view agree too.
    code = main(["render", "--image", str(cg), "--input-space", "acescg", "-o",
                 str(tmp_path / "a.png"), *lens])
    assert code == 0
    code = main(["render", "--image", str(lin), "-o", str(tmp_path / "b.png"), *lens])
    assert code == 0
    assert psnr(read_rgb(tmp_path / "a.png"), read_rgb(tmp_path / "b.png")) >= 45.0


@pytest.mark.parametrize(("case", "message"), [
    ("gap", "plate.####.exr: image sequence 1001-1004 has gaps: missing frame 1002"),
    ("channel", "no channel 'depth.Z'; it has B, G, R, Z"),
    ("space", "unknown input colour space 'ACEScg2'"),
    ("video-fps", "--fps applies to image sequences"),
    ("no-files", "shot.####.exr: no files match the image sequence pattern"),
    ("out-field", "an EXR sequence output needs one frame-number field"),
])
def test_bad_plate_inputs_exit_2_with_one_line(tmp_path, capsys, case, message) -> None:
    plate = make_plate(tmp_path, 4, skip=(1002,) if case == "gap" else ())
    args: list[object] = [plate, "--depth", "same", "--focus", "2", "-o", tmp_path / "o.%04d.exr"]
    if case == "channel":
        args += ["--depth-channel", "depth.Z"]
    elif case == "space":
        args += ["--input-space", "ACEScg2"]
    elif case == "video-fps":
        from tests.media_factory import make_clip

        args = [make_clip(tmp_path / "c.mp4", frames=3), "--depth",
                plate.with_name("plate.1001.exr"),
                "--focus", "2", "--fps", "25", "-o", tmp_path / "c_out.mp4"]
    elif case == "no-files":
        args[0] = tmp_path / "shot.####.exr"
    elif case == "out-field":
        args[-1] = tmp_path / "single.exr"
    before = _digests(tmp_path)
    code, err = _export(capsys, *args)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert _digests(tmp_path) == before


@pytest.mark.app
def test_preview_window_shows_an_acescg_plate_through_ocio(xvfb: str, tmp_path: Path) -> None:
    """The real app on an ACEScg EXR plate (--input-space acescg, --depth same, --fps 25) shown
    through the ACES 2.0 SDR view on the GPU: the ground shows as OCIO's CPU processor says that
    ACEScg colour looks through the view, and the in-focus light of 40 as (near) white."""
    import os
    import subprocess
    import sys

    from rackfocus_live.colour import ColourPlan

    ground_cg = np.array([0.30, 0.12, 0.05], np.float32)
    for i in range(3):
        rgb, z = _plate_frame(i)
        rgb[rgb < 1.0] = 0.0
        rgb += ground_cg
        write_exr(tmp_path / f"cg.{FIRST + i:04d}.exr", rgb, depth=z)
    env = {**os.environ, "DISPLAY": xvfb, "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    shot = tmp_path / "shot.png"
    exe = Path(sys.executable).with_name("rackfocus-live")
    proc = subprocess.run([str(exe), str(tmp_path / "cg.####.exr"), "--depth", "same",
                           "--input-space", "acescg", "--fps", "25", "--focus", "12",
                           "--view", VIEW, "--frame", "2", "--screenshot", str(shot)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    plan = ColourPlan(resolve_space("acescg"), view=VIEW)
    want = plan.display_8bit(plan.to_working(ground_cg.reshape(1, 1, 3)))[0, 0].astype(int)
    img = read_rgb(shot)[30:700, 0:900].reshape(-1, 3).astype(int)
    near_want = np.abs(img - want).max(axis=1) <= 1
    assert near_want.sum() > 0.3 * 256 * 64  # the ground (the plate is shown at least 1:1)
    assert (img.min(axis=1) >= 240).sum() > 20  # the light (the ACES view rolls off below 255)


@pytest.mark.gl
def test_video_with_a_named_input_space_goes_through_ocio(tmp_path, capsys) -> None:
    """An sRGB video named as sRGB through OCIO matches today's GPU path; named as ARRI LogC3
    the same code values decode to far more light (and no highlight boost)."""
    from tests import media_factory as mf

    rng = np.random.default_rng(3)
    frames = [np.clip(rng.normal(128, 50, (48, 64, 3)), 0, 255).astype(np.uint8)
              for _ in range(3)]
    clip = tmp_path / "c.mkv"
    import av

    with av.open(str(clip), "w") as c:  # lossless 4:4:4, BT.709 limited, like a graded master
        s = c.add_stream("libx264rgb", rate=24)
        s.width, s.height, s.pix_fmt = 64, 48, "rgb24"
        s.options = {"qp": "0"}
        for f in frames:
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    depth = mf.make_depth_still(tmp_path / "d.png", size=(64, 48))
    # Focused on the depth (1 m): a sharp frame, so the output can be checked pixel by pixel.
    common = ["--depth", depth, "--focus", "1.0", "--codec", "ffv1", "--highlight-gain", "0"]
    assert _export(capsys, clip, *common, "-o", tmp_path / "gpu.mkv")[0] == 0
    assert _export(capsys, clip, *common, "--input-space", "srgb", "-o",
                   tmp_path / "ocio.mkv")[0] == 0
    code, err = _export(capsys, clip, *common, "--input-space", "logc3", "-o",
                        tmp_path / "log.mkv")
    assert code == 0, err
    import av as _av

    def frames_of(p: Path) -> list[np.ndarray]:
        with _av.open(str(p)) as c:
            return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]

    gpu, ocio, log = frames_of(tmp_path / "gpu.mkv"), frames_of(tmp_path / "ocio.mkv"), \
        frames_of(tmp_path / "log.mkv")
    assert len(gpu) == len(ocio) == len(log) == 3
    for a, b in zip(gpu, ocio, strict=True):
        assert psnr(a, b) >= 40.0
    from rackfocus_live.colour import ColourPlan

    plan = ColourPlan(resolve_space("logc3"))
    for got, src in zip(log, frames, strict=True):
        want = plan.display_8bit(plan.to_working(src))
        assert psnr(got, want) >= 35.0
        assert psnr(got, src) < 25.0  # really decoded as log, not as sRGB


@pytest.mark.gl
def test_video_export_goes_through_the_chosen_ocio_view(tmp_path, capsys) -> None:
    from rackfocus_live.colour import plan_from_names

    view = "ACES 2.0 - SDR 100 nits (Rec.709)"
    plate = make_plate(tmp_path, 2)
    # Focused on the far ground (12 m), the ground is sharp: compare pixel for pixel there.
    code, err = _export(capsys, plate, "--depth", "same", "--focus", "12", "--codec", "ffv1",
                        "--view", view, "-o", tmp_path / "aces.mkv")
    assert code == 0, err
    import av

    with av.open(str(tmp_path / "aces.mkv")) as c:
        got = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(got) == 2
    want = plan_from_names("linear", None, None, view).display_8bit(_plate_frame(1)[0])
    far = np.s_[:, 40:]
    assert psnr(got[1][far], want[far]) >= 40.0
    assert abs(int(got[1][60, 200, 0]) - 118) > 20  # not the plain sRGB encoding of 0.18


def test_app_export_settings_follow_the_plate_the_preview_shows(tmp_path: Path) -> None:
    from rackfocus_live.lens import LensState
    from rackfocus_live.ui.export_panel import ExportOptions, ExportSource, build_settings

    plan = ColourPlan(resolve_space("acescg"), resolve_space("acescg"))
    info = probe_media(make_plate(tmp_path, 2), fps=Fraction(25), plan=plan)
    source = ExportSource(clip=info.path, depth=Path("same"), mapping=DepthMapping(),
                          lens=LensState(), info=info, depth_channel="Z")
    settings = build_settings(ExportOptions(output="out.%04d.exr"), source)
    assert (settings.fps, settings.colour, settings.depth_channel) == (25, plan, "Z")
    # The preview's OCIO view goes with it (for video output).
    source = dataclasses.replace(source, view=("sRGB - Display", VIEW))
    settings = build_settings(ExportOptions(output="out.mov"), source)
    assert settings.colour is not None and settings.colour.view == VIEW
    assert settings.colour.input_space == "ACEScg"


@pytest.mark.parametrize(("codec", "pix_fmt", "ext", "bits"), [
    ("dpx", "gbrp10le", "dpx", 10),
    ("tiff", "rgb48le", "tif", 16),
    ("png", "rgb48be", "png", 16),
])
@pytest.mark.gl
def test_integer_sequences_keep_their_precision(ctx, programs, tmp_path, codec, pix_fmt, ext,
                                                bits) -> None:
    """10-bit DPX and 16-bit TIFF/PNG plates: every code value reaches the working space
    (through OCIO's sRGB curve on the GPU, their default space) without an 8-bit step."""
    import av

    ramp = np.linspace(0, 65535, 64 * 32 * 3).reshape(32, 64, 3).astype(np.uint16)
    for i in range(2):
        with av.open(str(tmp_path / f"p.{i + 7:03d}.{ext}"), "w", format="image2") as c:
            s = c.add_stream(codec)
            s.width, s.height, s.pix_fmt = 64, 32, pix_fmt
            frame = av.VideoFrame.from_ndarray(ramp, format="rgb48le").reformat(format=pix_fmt)
            for p in s.encode(frame):
                c.mux(p)
            for p in s.encode(None):
                c.mux(p)
    info = probe_media(tmp_path / f"p.###.{ext}", fps=Fraction(25))
    assert info.frame_count == 2 and info.plate is not None and info.plate.sequence.first == 7
    assert not info.scene_linear  # display-referred: the highlight boost still applies
    with DecoderThread(info.path, None, info=info) as dec:
        packet = dec.get(timeout=10.0)
    assert packet is not None and packet.planes[0].dtype == np.uint16
    from rackfocus_live.gpu.upload import FrameUploader

    up = FrameUploader(ctx, programs, 64, 32)
    try:
        up.upload(packet, info)
        got = np.frombuffer(up.color.read(), np.float16).reshape(32, 64, 4)[..., :3]
    finally:
        up.release()
    got = got.astype(np.float64)
    codes = ramp.astype(np.float64) / 65535.0
    want = np.where(codes <= 0.04045, codes / 12.92, ((codes + 0.055) / 1.055) ** 2.4)
    # Within 10-bit steps (half float holds ~11 bits); an 8-bit path is up to 5e-3 off.
    assert np.abs(got - want).max() < 2.5 / 1023
    assert len(np.unique(got[..., 0])) > 900  # an 8-bit path has at most 256 levels
