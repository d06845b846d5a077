"""Export end to end: frame count, timestamps and rate kept (23.976 and variable rate), each
exported frame equal to a render of the same input frame at the pull's focus for its time, audio
kept, ranges, the step API, cancel, Ctrl-C and write errors.

What "equal to a render" compares (``test_ffv1_export_equals_the_preview_render_of_each_frame``):

1. bit-exact: the FFV1 output decoded to RGB against the same clip frame decoded by
   ``DecoderThread``, converted by ``FrameUploader`` and rendered by ``DofRenderer`` at
   ``track.lens_at(index / fps)`` and read back with ``read_output`` (the preview's path);
2. PSNR >= 40 dB: the same FFV1 frame against ``StillRenderer`` (what the ``render`` command
   runs) fed that clip frame as RGB decoded on the CPU (swscale), with its inverse depth: the
   two paths differ only in the YUV->RGB conversion (float on the GPU vs 8-bit swscale);
3. PSNR >= 40 dB: the H.264 export against (1), after lossy encoding.
"""

from __future__ import annotations

import os
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from rackfocus_live.depthcond import DepthConditioning
from rackfocus_live.export import ExportJob, ExportSettings, parse_range, resolve_range
from rackfocus_live.gpu.dof import DofRenderer
from rackfocus_live.gpu.still import StillRenderer
from rackfocus_live.gpu.upload import FrameUploader
from rackfocus_live.lens import LensState
from rackfocus_live.media.decoder import DecoderThread
from rackfocus_live.media.depthsource import open_depth
from rackfocus_live.media.probe import probe_clip
from rackfocus_live.media.writer import VideoWriter
from rackfocus_live.settings import HighlightBoost
from rackfocus_live.timeline.keyfile import Pull, save_pull
from rackfocus_live.timeline.keyframes import FocusTrack, Key
from tests import media_factory as mf
from tests.cli_helpers import interrupt_while_writing, run_cli
from tests.test_writer import unwritable_folder

pytestmark = [pytest.mark.gl, pytest.mark.timeout(120)]

NTSC = Fraction(24000, 1001)
SIZE = (96, 64)
FRAMES = 12
LENS = LensState(focal_length_mm=50.0, f_stop=1.4, sensor_width_mm=36.0, focus_m=1.0)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


def decoded(path: Path) -> tuple[list[float], list[np.ndarray]]:
    """(presentation times in seconds, RGB frames) of a file's video, in display order."""
    with av.open(os.fspath(path)) as c:
        s = c.streams.video[0]
        frames = list(c.decode(s))
        return ([float(f.pts * s.time_base) for f in frames],
                [f.to_ndarray(format="rgb24") for f in frames])


def video_pts(path: Path) -> tuple[list[int], Fraction]:
    with av.open(os.fspath(path)) as c:
        s = c.streams.video[0]
        return [f.pts for f in c.decode(s)], Fraction(s.time_base)


def export(*args: object) -> int:
    return run_cli("export", *args)


def textured_planes(index: int) -> tuple[np.ndarray, ...]:
    """The frame-index code with luma texture (so blur changes every pixel) and smooth colour.

    4:4:4 so that the CPU (swscale) and GPU YUV->RGB paths compared below do not also differ by
    how they upsample chroma; chroma smooth (not noise) as in real footage, which 4:2:0 encoding
    keeps.
    """
    y, _, _ = mf.code_planes(index, SIZE, "yuv444p", texture=12)
    w, h = SIZE
    u = np.broadcast_to(np.linspace(100, 150, w)[None, :], (h, w)).astype(np.uint8)
    v = np.broadcast_to(np.linspace(160, 110, h)[:, None], (h, w)).astype(np.uint8)
    return y, u, v


@pytest.fixture
def media(tmp_path: Path) -> dict[str, Path]:
    clip = mf.make_clip(tmp_path / "clip.mp4", frames=FRAMES, size=SIZE, fps=NTSC,
                        pix_fmt="yuv444p", audio=True, yuv=textured_planes)
    depth = mf.make_depth_video(tmp_path / "depth.mkv", frames=FRAMES, size=SIZE, fps=NTSC)
    track = FocusTrack([Key(0.0, 0.6), Key(0.4, 4.0, f_stop=2.0)], fps=NTSC)
    pull = tmp_path / "pull.json"
    save_pull(pull, Pull(track=track, lens=LENS, depth=mf.DEPTH_MAPPING), backup=False)
    return {"clip": clip, "depth": depth, "pull": pull, "dir": tmp_path}


def preview_renders(ctx, programs, clip: Path, depth: Path, track: FocusTrack) -> list[np.ndarray]:  # type: ignore[no-untyped-def]
    """Every frame as the preview renders it: DecoderThread -> FrameUploader -> DofRenderer."""
    info = probe_clip(clip)
    w, h = info.display_size
    out = []
    # Conditioned like the app's MediaSession and the export: default settings, moving depth.
    up = FrameUploader(ctx, programs, w, h, conditioning=DepthConditioning(),
                       depth_kind=mf.DEPTH_MAPPING.kind, depth_moving=True)
    dof = DofRenderer(ctx, programs, (w, h), "default", timer_query=False)
    try:
        with DecoderThread(clip, open_depth(depth, mf.DEPTH_MAPPING, info), info=info) as dec:
            for i in range(info.frame_count):
                packet = dec.get_frame(i, timeout=10)
                assert packet is not None
                up.upload(packet, info)
                dof.render(up.color, up.depth, track.lens_at(packet.time, LENS),
                           color_is_srgb=False, highlight=HighlightBoost())
                out.append(np.frombuffer(dof.read_output(), np.uint8).reshape(h, w, 3))
    finally:
        up.release()
        dof.release()
    return out


# -- what the frames hold ---------------------------------------------------------------------


def test_ffv1_export_equals_the_preview_render_of_each_frame(ctx, programs, media) -> None:
    out = media["dir"] / "out.mkv"
    assert export(media["clip"], "--depth", media["depth"], "--keys", media["pull"],
                  "-o", out, "--codec", "ffv1") == 0
    _, got = decoded(out)
    from rackfocus_live.timeline.keyfile import load_pull

    track = load_pull(media["pull"]).pull.track
    want = preview_renders(ctx, programs, media["clip"], media["depth"], track)
    assert len(got) == len(want) == FRAMES
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        np.testing.assert_array_equal(g, w, err_msg=f"frame {i}")
    # The pull matters: frame 0 (focus 0.6 m) and frame 9 (4 m) differ from a render at the
    # other's focus, so equality above is not a coincidence of flat frames.
    assert psnr(want[0], want[9]) < 30

    # The `render` path: StillRenderer fed the frame as CPU-decoded RGB, same lens.
    info = probe_clip(media["clip"])
    still = StillRenderer(ctx)
    try:
        with av.open(os.fspath(media["clip"])) as c:
            rgb_in = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
        for i in (0, 5, 9):
            inv = mf.DEPTH_MAPPING.to_inverse_depth(mf.depth_raw(i, SIZE), source="depth")
            still.upload(rgb_in[i], inv)
            ref = still.render(track.lens_at(info.time_of_index(i), LENS), HighlightBoost())
            assert psnr(got[i], ref) >= 40.0, f"frame {i}: {psnr(got[i], ref):.1f} dB"
    finally:
        still.release()

    # H.264 after lossy encoding.
    out264 = media["dir"] / "out.mp4"
    assert export(media["clip"], "--depth", media["depth"], "--keys", media["pull"],
                  "-o", out264, "--crf", 12) == 0
    _, lossy = decoded(out264)
    worst = min(psnr(g, w) for g, w in zip(lossy, want, strict=True))
    assert worst >= 40.0, f"{worst:.1f} dB"


def test_23976_export_keeps_count_timestamps_rate_colour_and_audio(media) -> None:
    out = media["dir"] / "shot.mp4"
    assert export(media["clip"], "--depth", media["depth"], "--focus", 1.5, "-o", out) == 0
    pts_in, tb_in = video_pts(media["clip"])
    pts_out, tb_out = video_pts(out)
    assert pts_out == pts_in and tb_out == tb_in == Fraction(1, 24000)
    a, b = probe_clip(media["clip"]), probe_clip(out)
    assert (b.fps, b.frame_count, b.duration) == (a.fps, a.frame_count, a.duration) == (
        NTSC, FRAMES, float(FRAMES / NTSC))
    assert (b.color_matrix, b.color_range) == (a.color_matrix, a.color_range)
    with av.open(os.fspath(media["clip"])) as c, av.open(os.fspath(out)) as d:
        assert d.streams.video[0].average_rate == NTSC
        sa, sb = c.streams.audio[0], d.streams.audio[0]
        pa = [(p.pts, p.dts, bytes(p)) for p in c.demux(sa) if p.size]
        pb = [(p.pts, p.dts, bytes(p)) for p in d.demux(sb) if p.size]
        assert pa == pb and sb.duration == sa.duration and sb.time_base == sa.time_base





def test_variable_frame_rate_export_keeps_every_frame_at_its_time(media) -> None:
    times = [0, 40, 80, 160, 200, 240, 281, 360, 400, 440, 520, 560, 600, 640]
    clip = mf.make_vfr_clip(media["dir"] / "vfr.mkv", times, SIZE)
    depth = mf.make_depth_still(media["dir"] / "d.png", size=SIZE)
    out = media["dir"] / "vfr_out.mkv"
    assert export(clip, "--depth", depth, "--focus", 2, "-o", out, "--codec", "ffv1") == 0
    pts_in, tb_in = video_pts(clip)
    pts_out, tb_out = video_pts(out)
    assert pts_in == times
    assert pts_out == pts_in and tb_out == tb_in
    # Each output frame is its own input frame (the held slots of the gaps are not repeated).
    _, rgb = decoded(out)
    assert [mf.read_code_rgb(f) for f in rgb] == list(range(len(times)))


def test_range_exports_those_frames_from_time_zero_with_their_audio(media) -> None:
    out = media["dir"] / "cut.mkv"
    assert export(media["clip"], "--depth", media["depth"], "--focus", 3, "-o", out,
                  "--codec", "ffv1", "--range", "4:10", "--blades", 0) == 0
    times, rgb = decoded(out)
    assert len(rgb) == 6
    np.testing.assert_allclose(times, [i * 1001 / 24000 for i in range(6)], atol=1e-3)
    assert [mf.read_code_rgb(f) for f in rgb] == list(range(4, 10))
    with av.open(os.fspath(out)) as c:
        a = c.streams.audio[0]
        packets = [p for p in c.demux(a) if p.size]
        span = float((packets[-1].pts + packets[-1].duration - packets[0].pts) * a.time_base)
    assert abs(span - 6 * 1001 / 24000) < 2 * 1024 / 48000  # whole AAC packets at each end


def test_parse_range_accepts_frames_and_seconds() -> None:
    info = probe_clip(mf.make_clip(Path(os.environ.get("TMPDIR", "/tmp")) / "rf_range.mp4",
                                   frames=48, fps=24))
    assert resolve_range(parse_range("4:10"), info) == (4, 10)
    assert resolve_range(parse_range(":10"), info) == (0, 10)
    assert resolve_range(parse_range("12:"), info) == (12, 48)
    assert resolve_range(parse_range("0.5s:1.5s"), info) == (12, 36)
    for bad in ("4", "a:b", "-1:3", "1:2:3"):
        with pytest.raises(Exception, match="--range"):
            parse_range(bad)


# -- the job API --------------------------------------------------------------------------------


def test_step_never_blocks_and_reports_progress(ctx, programs, media) -> None:
    settings = ExportSettings(clip=media["clip"], depth=media["depth"],
                              output=media["dir"] / "app.mp4", lens=LENS,
                              mapping=mf.DEPTH_MAPPING, quality="draft")
    job = ExportJob(ctx, settings, programs=programs).start()
    seen = []
    slowest = 0.0
    try:
        while not job.finished:
            t = time.perf_counter()
            p = job.step(max_frames=1, timeout=0.0)
            slowest = max(slowest, time.perf_counter() - t)
            seen.append(p.frames)
            assert p.state in ("running", "finishing", "done")
    finally:
        job.close()
    assert seen == sorted(seen) and seen[-1] == FRAMES
    assert job.progress.state == "done" and job.progress.output == media["dir"] / "app.mp4"
    assert job.progress.encoded == FRAMES
    assert slowest < 2.0  # one small frame per call, no waiting for the decoder or encoder
    assert probe_clip(media["dir"] / "app.mp4").frame_count == FRAMES
    assert mf.leftovers(media["dir"]) == []


@pytest.mark.parametrize("keep", [False, True])
def test_cancel_removes_or_keeps_the_partial_file(ctx, programs, media, keep: bool) -> None:
    settings = ExportSettings(clip=media["clip"], depth=media["depth"],
                              output=media["dir"] / "c.mp4", lens=LENS,
                              mapping=mf.DEPTH_MAPPING, quality="draft", keep_partial=keep)
    job = ExportJob(ctx, settings, programs=programs).start()
    while job.progress.frames < 5:
        job.step(max_frames=1, timeout=1.0)
    job.cancel()
    p = job.step()
    assert p.state == "cancelled" and job.finished
    job.close()
    assert not (media["dir"] / "c.mp4").exists()
    partial = media["dir"] / "c.partial.mp4"
    assert partial.exists() == keep
    assert mf.leftovers(media["dir"]) == []
    if keep:
        assert p.output == partial
        # The progress reports what the kept file holds, frame for frame.
        assert len(video_pts(partial)[0]) == p.encoded and 1 <= p.encoded <= 5


# -- errors as one line -------------------------------------------------------------------------


def test_full_disk_is_one_line_and_leaves_nothing(media, monkeypatch, capsys) -> None:
    import errno

    real = VideoWriter._mux
    count = {"n": 0}

    def mux(self: VideoWriter, packet: av.Packet) -> None:
        count["n"] += 1
        if count["n"] > 4:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(self, packet)

    monkeypatch.setattr(VideoWriter, "_mux", mux)
    out = media["dir"] / "full.mp4"
    before = sorted(media["dir"].iterdir())
    code = export(media["clip"], "--depth", media["depth"], "--focus", 2, "-o", out)
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if "error" in line]
    assert code == 2
    assert errors == [f"rackfocus-live export: error: {out}: disk full while writing the "
                      "export (no space left on device)"]
    assert sorted(media["dir"].iterdir()) == before


def test_unwritable_output_is_one_line(media, capsys) -> None:
    code = export(media["clip"], "--depth", media["depth"], "--focus", 2,
                  "-o", media["dir"] / "nowhere" / "out.mp4")
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err == [f"rackfocus-live export: error: {media['dir'] / 'nowhere'}: output folder "
                   "does not exist"]


def test_unwritable_folder_is_one_line(media, capsys) -> None:
    locked = unwritable_folder(media["dir"])
    try:
        code = export(media["clip"], "--depth", media["depth"], "--focus", 2,
                      "-o", locked / "rf-export.mp4")
    finally:
        if locked != Path("/sys"):
            locked.chmod(0o755)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err == [f"rackfocus-live export: error: {locked / 'rf-export.mp4'}: cannot "
                   "write here (permission denied)"]
    assert not (locked / "rf-export.mp4").exists()


def test_needs_exactly_one_of_keys_and_focus(media, capsys) -> None:
    assert export(media["clip"], "--depth", media["depth"], "-o", media["dir"] / "x.mp4") == 2
    assert "say where to focus: --keys PULL.json" in capsys.readouterr().err
    assert export(media["clip"], "--depth", media["depth"], "--focus", 2, "--keys",
                  media["dir"] / "p.json", "-o", media["dir"] / "x.mp4") == 2
    assert "either --keys PULL.json or a constant --focus M, not both" in capsys.readouterr().err
    assert export(media["clip"], "--depth", media["depth"], "--focus", 2, "--codec", "ffv1",
                  "--crf", 10, "-o", media["dir"] / "x") == 2
    assert "--crf applies to h264 and hevc" in capsys.readouterr().err


# Slows each rendered frame so the export is still running when the signal comes.
_SLOW_EXPORT = """
import sys, time
import rackfocus_live.export as ex
render = ex.ExportJob._render
def slow(self, packet):
    time.sleep(0.1)
    render(self, packet)
ex.ExportJob._render = slow
from rackfocus_live.cli import main
from tests.cli_helpers import run_cli
sys.exit(main(sys.argv[1:]))
"""


def test_sigint_stops_cleanly_with_exit_130_and_no_partial_file(media) -> None:
    out = media["dir"] / "sig.mp4"
    code, err = interrupt_while_writing(
        ["-c", _SLOW_EXPORT, "export", str(media["clip"]), "--depth", str(media["depth"]),
         "--focus", "2", "-o", str(out), "--quality", "draft"], media["dir"], "export")
    assert code == 130, err
    assert "interrupted after" in err and "partial file removed" in err
    assert "Traceback" not in err
    assert mf.leftovers(media["dir"]) == [] and not out.exists()
