"""Nothing lost, ever: every way a careless or hostile command line could lose a user's file or end
in a traceback, run as the user types it, with the bytes of every input checked before and after.

The file-safety layer itself (``rackfocus_live.files``) is tested at the bottom; the hypothesis
fuzz of every CLI file argument is in test_file_fuzz.py.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest

from rackfocus_live import files
from rackfocus_live.cli import main
from rackfocus_live.errors import InputError
from rackfocus_live.export import ExportJob, ExportSettings
from rackfocus_live.lens import LensState
from rackfocus_live.media.images import read_rgb, write_depth, write_png
from rackfocus_live.media.probe import probe_clip
from rackfocus_live.timeline.keyfile import Pull, load_pull, save_pull
from rackfocus_live.timeline.keyframes import FocusTrack, Key
from tests import media_factory as mf

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[1]
SIZE = (64, 48)
FRAMES = 8
LENS = LensState(focal_length_mm=50.0, f_stop=1.4, focus_m=2.0)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_cli(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str]:
    """``main`` in-process as the user types it; argparse's own errors exit with SystemExit."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def one_error_line(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if "error" in ln]
    assert len(lines) == 1, err
    return lines[0]


def decodable_frames(path: Path) -> int:
    with av.open(os.fspath(path)) as c:
        return sum(1 for _ in c.decode(video=0))


@pytest.fixture
def media(tmp_path: Path) -> dict[str, Path]:
    return {
        "dir": tmp_path,
        "clip": mf.make_clip(tmp_path / "clip.mp4", frames=FRAMES, size=SIZE),
        "depth": mf.make_depth_video(tmp_path / "depth.mkv", frames=FRAMES, size=SIZE),
    }


def export_args(clip: Path, depth: Path, out: Path, *flags: object) -> list[object]:
    return ["export", clip, "--depth", depth, "-o", out, "--focus", 2, "--quality", "draft",
            "--codec", "ffv1", *flags]


# -- data loss: export ---------------------------------------------------------------------------


def test_clip_named_like_an_old_temporary_file_is_read_not_deleted(media, capsys) -> None:
    clip = media["clip"].rename(media["dir"] / "take.partial.mp4")
    before = digest(clip)
    code, err = run_cli(capsys, *export_args(clip, media["depth"], media["dir"] / "take.mkv"))
    assert code == 0, err
    assert digest(clip) == before
    assert decodable_frames(media["dir"] / "take.mkv") == FRAMES
    assert mf.leftovers(media["dir"]) == []


def test_depth_named_like_an_old_temporary_file_is_read_not_deleted(media, capsys) -> None:
    depth = media["depth"].rename(media["dir"] / "shot.partial.mkv")
    before = digest(depth)
    code, err = run_cli(capsys, *export_args(media["clip"], depth, media["dir"] / "shot.mkv"))
    assert code == 0, err
    assert digest(depth) == before
    assert decodable_frames(media["dir"] / "shot.mkv") == FRAMES


def test_a_users_partial_file_survives_the_next_export(media, capsys) -> None:
    kept = media["dir"] / "out.partial.mkv"
    kept.write_bytes(b"the user's own file, not ours")
    out = media["dir"] / "out.mkv"
    code, err = run_cli(capsys, *export_args(media["clip"], media["depth"], out))
    assert code == 0, err
    assert kept.read_bytes() == b"the user's own file, not ours"


def test_a_kept_partial_never_replaces_an_earlier_one(ctx, programs, media) -> None:
    first = media["dir"] / "c.partial.mkv"
    first.write_bytes(b"kept by an earlier run")
    settings = ExportSettings(clip=media["clip"], depth=media["depth"],
                              output=media["dir"] / "c.mkv", lens=LENS, codec="ffv1",
                              mapping=mf.DEPTH_MAPPING, quality="draft", keep_partial=True)
    job = ExportJob(ctx, settings, programs=programs).start()
    while job.progress.frames < 3:
        job.step(max_frames=1, timeout=1.0)
    job.cancel()
    p = job.step()
    job.close()
    assert p.state == "cancelled"
    assert first.read_bytes() == b"kept by an earlier run"
    assert p.output == media["dir"] / "c.partial-2.mkv"
    assert decodable_frames(p.output) == p.encoded >= 1
    assert mf.leftovers(media["dir"]) == []


def test_export_replacing_a_file_keeps_a_backup_and_its_mode(media, capsys) -> None:
    out = media["dir"] / "out.mkv"
    assert run_cli(capsys, *export_args(media["clip"], media["depth"], out))[0] == 0
    first = digest(out)
    out.chmod(0o640)
    code, err = run_cli(capsys, *export_args(media["clip"], media["depth"], out, "--f-stop", 8))
    assert code == 0, err
    assert digest(files.backup_path(out)) == first
    assert digest(out) != first and decodable_frames(out) == FRAMES
    assert stat.S_IMODE(out.stat().st_mode) == 0o640


def test_a_second_export_to_the_same_output_is_refused_and_the_first_completes(
        ctx, programs, media, capsys) -> None:
    """The first export runs in this process; the second is another process, as a user starts
    it from a second terminal."""
    out = media["dir"] / "out.mkv"
    assert run_cli(capsys, *export_args(media["clip"], media["depth"], out))[0] == 0
    good = digest(out)
    settings = ExportSettings(clip=media["clip"], depth=media["depth"], output=out, lens=LENS,
                              codec="ffv1", mapping=mf.DEPTH_MAPPING, quality="draft")
    job = ExportJob(ctx, settings, programs=programs).start()
    try:
        job.step(max_frames=1, timeout=1.0)
        argv = [str(a) for a in export_args(media["clip"], media["depth"], out)]
        second = subprocess.run([sys.executable, "-m", "rackfocus_live.cli", *argv],
                                capture_output=True, text=True, timeout=120, cwd=ROOT,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert second.returncode == 2 and "Traceback" not in second.stderr
        line = one_error_line(second.stderr)
        assert f"{out}: another rackfocus-live process (pid {os.getpid()}) is writing" in line
        assert digest(out) == good  # the earlier good file is untouched meanwhile
        while not job.finished:
            job.step(max_frames=4, timeout=1.0)
    finally:
        job.close()
    assert job.state == "done"
    assert decodable_frames(out) == FRAMES
    assert digest(files.backup_path(out)) == good
    assert mf.leftovers(media["dir"]) == []


def test_two_export_processes_at_once_leave_one_good_file(media) -> None:
    out = media["dir"] / "race.mkv"
    argv = [str(a) for a in export_args(media["clip"], media["depth"], out)]
    cmd = [sys.executable, "-m", "rackfocus_live.cli", *argv]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
    for code, err in results:
        assert "Traceback" not in err
        assert code == 0 or (code == 2 and "is writing this file right now" in err), err
    assert any(code == 0 for code, _ in results)
    assert decodable_frames(out) == FRAMES  # whoever won, the file is whole
    assert mf.leftovers(media["dir"]) == []


# -- data loss: keys and render --------------------------------------------------------------------


@pytest.fixture
def pull(tmp_path: Path) -> Path:
    path = tmp_path / "pull.json"
    save_pull(path, Pull(FocusTrack([Key(0.0, 5.0), Key(1.0, 1.5)])), backup=False)
    return path


@pytest.mark.parametrize("flag", ["--csv", "--blender", "--ae"])
def test_keys_export_over_its_own_pull_is_refused(pull: Path, capsys, flag: str) -> None:
    before = digest(pull)
    code, err = run_cli(capsys, "keys", pull, flag, pull)
    assert code == 2
    assert f"{pull}: output is the same file as the keyframe file" in one_error_line(err)
    assert digest(pull) == before


def test_keys_export_through_a_link_to_the_pull_is_refused(pull: Path, capsys) -> None:
    before = digest(pull)
    (pull.parent / "hard.csv").hardlink_to(pull)
    (pull.parent / "soft.csv").symlink_to(pull)
    for name in ("hard.csv", "soft.csv"):
        code, err = run_cli(capsys, "keys", pull, "--csv", pull.parent / name)
        assert code == 2 and "same file as the keyframe file" in err
    assert digest(pull) == before


def test_keys_two_exports_to_one_file_are_refused(pull: Path, capsys) -> None:
    out = pull.parent / "both.txt"
    code, err = run_cli(capsys, "keys", pull, "--csv", out, "--ae", out)
    assert code == 2 and "two outputs name the same file" in err
    assert not out.exists()


def test_keys_export_replacing_a_file_keeps_a_backup(pull: Path, capsys) -> None:
    out = pull.parent / "focus.csv"
    out.write_text("my notes\n")
    assert run_cli(capsys, "keys", pull, "--csv", out)[0] == 0
    assert files.backup_path(out).read_text() == "my notes\n"
    assert out.read_text().startswith("frame,")


def test_from_csv_over_its_own_csv_is_refused(tmp_path: Path, capsys) -> None:
    csv = tmp_path / "in.csv"
    csv.write_text("frame,focus_m\n0,2.0\n24,3.0\n")
    before = digest(csv)
    code, err = run_cli(capsys, "keys", csv, "--from-csv", csv)
    assert code == 2 and "same file as the CSV" in err
    assert digest(csv) == before


@pytest.fixture
def still(tmp_path: Path) -> dict[str, Path]:
    rng = np.random.default_rng(3)
    image = tmp_path / "photo.png"
    write_png(image, rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    depth = tmp_path / "d.png"
    write_depth(depth, np.full((48, 64), 3000, np.uint16))
    return {"image": image, "depth": depth}


@pytest.mark.parametrize("role", ["image", "depth"])
def test_render_over_an_input_is_refused(still, capsys, role: str) -> None:
    before = {k: digest(v) for k, v in still.items()}
    code, err = run_cli(capsys, "render", "--image", still["image"], "--depth", still["depth"],
                        "-o", still[role], "--focus", 1)
    assert code == 2
    assert f"output is the same file as the {role}" in one_error_line(err)
    assert {k: digest(v) for k, v in still.items()} == before


def test_render_through_a_symlink_to_an_input_is_refused(still, capsys) -> None:
    link = still["image"].parent / "link.png"
    link.symlink_to(still["image"])
    before = digest(still["image"])
    code, err = run_cli(capsys, "render", "--image", still["image"], "--depth", still["depth"],
                        "-o", link, "--focus", 1)
    assert code == 2 and "same file as the image" in err
    assert digest(still["image"]) == before and link.is_symlink()


def test_pull_save_keeps_the_files_mode_and_new_files_follow_the_umask(pull: Path) -> None:
    pull.chmod(0o664)
    save_pull(pull, load_pull(pull).pull)
    assert stat.S_IMODE(pull.stat().st_mode) == 0o664
    new = pull.parent / "new.json"
    old_umask = os.umask(0o022)
    try:
        save_pull(new, load_pull(pull).pull)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(new.stat().st_mode) == 0o644  # not mkstemp's 0600


# -- tracebacks that became one line -------------------------------------------------------------


def test_symlink_loops_as_input_or_output_are_one_line(media, capsys) -> None:
    loop = media["dir"] / "loop.mkv"
    loop.symlink_to(loop)
    code, err = run_cli(capsys, *export_args(media["clip"], loop, media["dir"] / "o.mkv"))
    assert code == 2 and f"{loop}: symbolic link loop" in one_error_line(err)
    code, err = run_cli(capsys, *export_args(media["clip"], media["depth"], loop))
    assert code == 2 and f"{loop}: symbolic link loop" in one_error_line(err)


def test_a_failing_clean_up_does_not_hide_the_real_error(media, capsys, monkeypatch) -> None:
    """A read-only file system: creating the temporary file fails, and removing what was made
    fails too; the user still sees the first problem, once."""

    def read_only(path: Path) -> int:
        raise OSError(errno.EROFS, "Read-only file system")

    real_unlink = os.unlink

    def unlink(path: object, *a: object, **k: object) -> None:
        if str(path).endswith(files.LOCK_SUFFIX):
            raise OSError(errno.EROFS, "Read-only file system")
        real_unlink(path, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(files, "_create_exclusive", read_only)
    monkeypatch.setattr(os, "unlink", unlink)
    out = media["dir"] / "ro.mkv"
    code, err = run_cli(capsys, *export_args(media["clip"], media["depth"], out))
    assert code == 2
    assert one_error_line(err).endswith(f"{out}: cannot write here (read-only file system)")
    assert not out.exists()


@pytest.mark.parametrize(("text", "expect"), [
    ("infs:", "--range: START 'infs' is not a usable frame number or time"),
    (":1e400s", "--range: END '1e400s' is not a usable frame number or time"),
    ("-3:5", "--range: START '-3' is before the clip's first frame"),
    ("nans:", "--range: START 'nans' is not a usable frame number or time"),
])
def test_range_values_are_one_line(media, capsys, text: str, expect: str) -> None:
    code, err = run_cli(capsys, *export_args(media["clip"], media["depth"],
                                             media["dir"] / "r.mkv", "--range", text))
    assert code == 2 and expect in one_error_line(err)


def test_frames_wider_than_the_gpu_are_refused_up_front(tmp_path: Path, capsys, ctx) -> None:
    from rackfocus_live.gpu.context import frame_side_limit

    side = frame_side_limit(ctx)
    wide = tmp_path / "wide.png"
    write_png(wide, np.zeros((16, side + 16, 3), np.uint8))
    depth = tmp_path / "wide_depth.png"
    write_depth(depth, np.full((16, side + 16), 2000, np.uint16))
    code, err = run_cli(capsys, "render", "--image", wide, "--depth", depth, "-o",
                        tmp_path / "out.png", "--focus", 1)
    assert code == 2
    assert f"{wide}: frames are {side + 16}x16; this GPU renders at most {side} pixels per side" \
        in one_error_line(err)


def test_a_huge_still_is_refused_before_it_is_decoded(tmp_path: Path, capsys) -> None:
    big = tmp_path / "big.png"
    write_depth(big, np.zeros((7000, 7000), np.uint16))  # 49 MP, compresses to almost nothing
    t0 = time.perf_counter()
    code, err = run_cli(capsys, "render", "--image", big, "--depth", big, "-o",
                        tmp_path / "out.png", "--focus", 1)
    assert code == 2
    assert "frames are 7000x7000 (49 megapixels); at most 40 megapixels" in one_error_line(err)
    assert time.perf_counter() - t0 < 5.0


def test_a_clip_wider_than_the_gpu_is_refused_by_export(tmp_path: Path, capsys, ctx) -> None:
    from rackfocus_live.gpu.context import frame_side_limit

    side = frame_side_limit(ctx)
    clip = mf.make_clip(tmp_path / "wide.mkv", frames=2, size=(side + 16, 16), codec="ffv1",
                        pix_fmt="yuv444p")
    code, err = run_cli(capsys, "export", clip, "--focus", 2, "--depth", clip, "--codec",
                        "ffv1", "-o", tmp_path / "o.mkv")
    assert code == 2 and f"this GPU renders at most {side} pixels per side" in err


def test_keys_info_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    path = tmp_path / "long.json"
    keys = [Key(i * 0.1, 1.0 + (i % 7)) for i in range(3000)]  # a summary longer than a pipe
    save_pull(path, Pull(FocusTrack(keys)), backup=False)
    proc = subprocess.run(
        f"'{sys.executable}' -m rackfocus_live.cli keys '{path}' --info | head -1",
        shell=True, capture_output=True, text=True, timeout=60, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout.startswith(f"{path}: rackfocus-live keys, 3000 keys")
    assert proc.stderr == ""


@pytest.mark.parametrize(("make", "expect"), [
    (lambda d: Path("/dev/zero"), "/dev/zero: is a device, expected a keyframe file"),
    (lambda d: (os.mkfifo(d / "fifo.json"), d / "fifo.json")[1],
     "fifo.json: is a FIFO (named pipe), expected a keyframe file"),
])
def test_keys_refuses_devices_and_fifos_without_reading(tmp_path: Path, capsys, make,
                                                       expect: str) -> None:
    code, err = run_cli(capsys, "keys", make(tmp_path), "--info")
    assert code == 2 and expect in one_error_line(err)


def test_a_far_key_without_a_clip_is_refused_not_baked_for_minutes(tmp_path: Path,
                                                                  capsys) -> None:
    path = tmp_path / "far.json"
    t0 = time.perf_counter()
    save_pull(path, Pull(FocusTrack([Key(0.0, 2.0), Key(4_000_000.0, 3.0)])), backup=False)
    code, err = run_cli(capsys, "keys", path, "--csv", tmp_path / "far.csv")
    assert time.perf_counter() - t0 < 5.0
    assert code == 2
    assert "the pull spans 96000001 frames (its last key is at 4e+06 s) and names no clip" \
        in one_error_line(err)
    assert not (tmp_path / "far.csv").exists()
    code, err = run_cli(capsys, "keys", path, "--csv", tmp_path / "far.csv", "--frames", 48)
    assert code == 0, err
    assert len((tmp_path / "far.csv").read_text().splitlines()) == 49


# -- wrong with no word ---------------------------------------------------------------------------


def test_a_huge_blade_rotation_still_blurs(still, capsys, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    write_png(still["image"], rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    outs = {}
    for name, rot in (("huge", "1e300"), ("wrapped", repr(float(np.fmod(1e300, 360.0))))):
        out = tmp_path / f"{name}.png"
        code, err = run_cli(capsys, "render", "--image", still["image"], "--depth",
                            still["depth"], "-o", out, "--focus", 0.5, "--f-stop", 1.4,
                            "--blades", 6, "--blade-rotation", rot, "--quality", "draft")
        assert code == 0, err
        outs[name] = read_rgb(out).astype(np.float64)
    sharp = read_rgb(still["image"]).astype(np.float64)
    assert np.abs(outs["huge"] - sharp).mean() > 10.0  # blurred, not the sharp input
    np.testing.assert_array_equal(outs["huge"], outs["wrapped"])


@pytest.mark.parametrize(("flags", "expect"), [
    (["--near", "1e-300", "--depth-kind", "disparity"], "argument --near: must be within"),
    (["--far", "nan"], "argument --far: must be a finite number"),
    (["--depth-scale", "0"], "argument --depth-scale: must be within"),
    (["--highlight-gain", "inf"], "argument --highlight-gain: must be a finite number"),
    (["--preset", "bogus"], "--preset must be one of ultrafast"),
])
def test_absurd_flag_values_name_the_flag(media, capsys, flags: list[str], expect: str) -> None:
    argv = export_args(media["clip"], media["depth"], media["dir"] / "f.mp4")
    argv[argv.index("ffv1")] = "h264"
    code, err = run_cli(capsys, *argv, *flags)
    assert code == 2 and expect in one_error_line(err)
    assert str(media["depth"]) not in err  # the flag is to blame, not the depth file


def test_interlaced_clip_is_warned_about(tmp_path: Path) -> None:
    from rackfocus_live.media.probe import clip_warnings

    path = tmp_path / "interlaced.mp4"
    with av.open(os.fspath(path), "w") as out:
        s = out.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        s.codec_context.options = {"x264-params": "tff=1"}
        s.codec_context.flags |= av.codec.context.Flags.interlaced_dct
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 60, np.uint8), "rgb24")
            for p in s.encode(frame):
                out.mux(p)
        for p in s.encode(None):
            out.mux(p)
    info = probe_clip(path)
    assert info.interlaced
    assert any("interlaced video" in w for w in clip_warnings(info))
    assert not probe_clip(mf.make_clip(tmp_path / "p.mp4", frames=3)).interlaced


# -- the layer itself ----------------------------------------------------------------------------


def test_temporary_files_are_unique_hidden_and_removed_only_by_their_maker(tmp_path: Path) -> None:
    target = tmp_path / "x.bin"
    with files.AtomicOutput(target, lock=False) as a, files.AtomicOutput(target, lock=False) as b:
        assert a.temp != b.temp and a.temp.name.startswith(".x.bin.")
        assert files.is_temporary_name(a.temp)
        # Someone replaces a's temporary file: a must not delete theirs.
        a.temp.unlink()
        a.temp.write_bytes(b"someone else's")
        with pytest.raises(InputError, match="temporary file was replaced"):
            a.commit()
    assert a.temp.read_bytes() == b"someone else's"
    assert not b.temp.exists() and not target.exists()


def test_same_file_sees_links_and_never_raises(tmp_path: Path) -> None:
    a = tmp_path / "a"
    a.write_bytes(b"1")
    (tmp_path / "h").hardlink_to(a)
    (tmp_path / "s").symlink_to(a)
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    assert files.same_file(a, tmp_path / "h") and files.same_file(a, tmp_path / "s")
    assert files.same_file(tmp_path / "new", tmp_path / "." / "new")
    assert not files.same_file(a, tmp_path / "loop")
    assert not files.same_file(a, tmp_path / "other")


def test_a_dead_lock_holder_does_not_block_the_next_writer(tmp_path: Path) -> None:
    target = tmp_path / "pull.json"
    (tmp_path / f".pull.json{files.LOCK_SUFFIX}").write_text("12345\n")  # left by a crash
    files.atomic_write(target, b"{}")
    assert target.read_bytes() == b"{}" and mf.leftovers(tmp_path) == []
