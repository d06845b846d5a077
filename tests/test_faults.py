"""Fault injection: a failure inside a thread, the encoder, the disk or a shader reaches the user
as one clear line (or a panel message), nothing hangs, every thread is joined, no partial file is
left and no keyframe is lost.

(A window closed during an export belongs to the app's tests.)
"""

from __future__ import annotations

import errno
import gc
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import av
import moderngl
import numpy as np
import pytest

from rackfocus_live import files
from rackfocus_live.cli import main
from rackfocus_live.errors import InputError
from rackfocus_live.lens import LensState
from rackfocus_live.media import decoder as decoder_mod
from rackfocus_live.media import writer as writer_mod
from rackfocus_live.media.decoder import DecoderThread
from rackfocus_live.media.depthsource import open_depth
from rackfocus_live.media.probe import probe_clip
from rackfocus_live.media.reader import VideoReader
from rackfocus_live.timeline.keyfile import Pull, backup_path, load_pull, save_pull
from rackfocus_live.timeline.keyframes import FocusTrack, Key
from tests import media_factory as mf

pytestmark = pytest.mark.timeout(120)

WAIT = 5.0
PREFIXES = (decoder_mod.THREAD_NAME_PREFIX, writer_mod.THREAD_NAME_PREFIX)


def our_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(PREFIXES)]


@pytest.fixture(autouse=True)
def _every_thread_joined() -> Iterator[None]:
    yield
    assert our_threads() == []


def fail_reads_after(monkeypatch: pytest.MonkeyPatch, clip: Path, n: int,
                     exc: BaseException) -> dict:
    """Make ``VideoReader.read`` of ``clip`` (not of a depth video) raise ``exc`` from its
    (n+1)-th call on, until ``state["on"]`` is cleared."""
    real = VideoReader.read
    state = {"calls": 0, "on": True}

    def read(self: VideoReader, index: int, abort=None):  # type: ignore[no-untyped-def]
        if self.info.path == clip:
            state["calls"] += 1
            if state["on"] and state["calls"] > n:
                raise exc
        return real(self, index, abort)

    monkeypatch.setattr(VideoReader, "read", read)
    return state





@pytest.fixture
def media(tmp_path: Path) -> dict[str, Path]:
    clip = mf.make_clip(tmp_path / "clip.mp4", frames=24, size=(64, 48), gop=6)
    depth = mf.make_depth_video(tmp_path / "depth.mkv", frames=24, size=(32, 24))
    return {"clip": clip, "depth": depth, "dir": tmp_path}


# -- the decoder thread --------------------------------------------------------------------------


def test_decoder_thread_raising_mid_clip_reaches_the_main_thread(media, monkeypatch) -> None:
    state = fail_reads_after(monkeypatch, media["clip"], 5, RuntimeError("injected fault"))
    info = probe_clip(media["clip"])
    t0 = time.monotonic()
    with DecoderThread(media["clip"], None, info=info) as dec:
        packets, error = mf.play_until_error(dec, WAIT)
        assert [p.index for p in packets] == [0, 1, 2, 3, 4]
        assert str(error) == (f"{media['clip']}: decoding failed at frame 5 "
                              "(RuntimeError: injected fault)")
        assert dec.error is error
        assert dec.get(0.05) is None  # halted, waiting for a seek: no busy failure loop
        # The thread survived its failure: once the fault is gone a seek plays again.
        state["on"] = False
        dec.seek(3)
        packet = dec.get(WAIT)
        assert packet is not None and packet.index == 3 and dec.error is None
    assert time.monotonic() - t0 < 10


def test_depth_reader_raising_names_the_depth_file(media, monkeypatch) -> None:
    from rackfocus_live.media import depthsource

    real = depthsource._VideoReader.read
    calls = {"n": 0}

    def read(self, clip_index: int):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] > 3:
            raise MemoryError("injected")
        return real(self, clip_index)

    monkeypatch.setattr(depthsource._VideoReader, "read", read)
    info = probe_clip(media["clip"])
    depth = open_depth(media["depth"], mf.DEPTH_MAPPING, info)
    with DecoderThread(media["clip"], depth, info=info) as dec:
        packets, error = mf.play_until_error(dec, WAIT)
    assert len(packets) == 3
    assert str(error) == (f"{media['depth']}: reading depth failed at frame 3 "
                          "(MemoryError: injected)")


@pytest.mark.gl
def test_decoder_fault_in_the_session_keeps_the_last_good_frame(ctx, programs, media,
                                                                monkeypatch) -> None:
    from rackfocus_live.ui.session import MediaSession

    session = MediaSession(ctx, programs, media["clip"], media["depth"], mf.DEPTH_MAPPING)
    try:
        assert session.show(0, playing=True, timeout=WAIT)
        fail_reads_after(monkeypatch, media["clip"], 0,
                         av.InvalidDataError(errno.EINVAL, "injected"))
        session.cache.clear()
        with pytest.raises(InputError) as exc:
            for i in range(1, 24):  # playback: what the app's _update_media does each frame
                session.show(i, playing=True, timeout=WAIT)
        assert str(exc.value).startswith(f"{media['clip']}: ")
        assert session.current is not None and session.current < 23
        assert mf.read_depth_index(session.inv_depth) == session.current
    finally:
        session.close()


# -- export: a failing decoder or encoder ---------------------------------------------------------


def live_gl_objects(ctx: moderngl.Context) -> int:
    """Python-side GL objects of ``ctx`` not yet released (textures, buffers, framebuffers...)."""
    gc.collect()
    kinds = (moderngl.Texture, moderngl.Buffer, moderngl.Framebuffer, moderngl.VertexArray,
             moderngl.Program, moderngl.Renderbuffer, moderngl.Sampler)
    return sum(1 for o in gc.get_objects() if isinstance(o, kinds) and o.ctx is ctx
               and type(o.mglo).__name__ != "InvalidObject")


def _job(ctx, media, out: Path):  # type: ignore[no-untyped-def]
    from rackfocus_live.export import ExportJob, ExportSettings

    settings = ExportSettings(clip=media["clip"], depth=media["depth"], output=out,
                              lens=LensState(focus_m=1.2), mapping=mf.DEPTH_MAPPING,
                              codec="ffv1", quality="draft")
    return ExportJob(ctx, settings)  # its own shader cache, released with the job


@pytest.mark.gl
@pytest.mark.parametrize("where", ["decoder", "encoder"])
def test_export_fault_is_one_error_no_partial_file_threads_joined(ctx, media,
                                                                  monkeypatch, where) -> None:
    out = media["dir"] / "out.mkv"
    if where == "decoder":
        fail_reads_after(monkeypatch, media["clip"], 6,
                         av.InvalidDataError(errno.EINVAL, "injected"))
        expect = f"{media['clip']}: decode error at frame 6"
    else:
        real = writer_mod.VideoWriter._encode
        calls = {"n": 0}

        def encode(self, frame, pts):  # type: ignore[no-untyped-def]
            calls["n"] += 1
            if calls["n"] > 4:
                raise av.FFmpegError(-542398533, "Generic error in an external library")
            real(self, frame, pts)

        monkeypatch.setattr(writer_mod.VideoWriter, "_encode", encode)
        expect = (f"{out}: encoding failed (FFmpegError: Generic error in an external "
                  "library)")
    before = sorted(media["dir"].iterdir())
    objects = live_gl_objects(ctx)
    job = _job(ctx, media, out)
    t0 = time.monotonic()
    with pytest.raises(InputError) as exc:
        job.run()
    assert time.monotonic() - t0 < 30
    assert str(exc.value).startswith(expect)
    assert job.state == "failed" and job.error is exc.value
    assert sorted(media["dir"].iterdir()) == before  # no partial file, no output
    assert our_threads() == []  # decoder and writer threads joined
    job.close()  # idempotent after a failure
    assert live_gl_objects(ctx) == objects  # the job's textures, buffers and passes released


def test_export_cli_encoder_fault_is_one_line_exit_2(media, monkeypatch, capsys,
                                                     _session_ctx) -> None:
    def encode(self, frame, pts):  # type: ignore[no-untyped-def]
        raise av.FFmpegError(-542398533, "Generic error in an external library")

    monkeypatch.setattr(writer_mod.VideoWriter, "_encode", encode)
    out = media["dir"] / "cli.mp4"
    try:
        code = main(["export", str(media["clip"]), "--depth", str(media["depth"]),
                     "--focus", "2", "-o", str(out), "--quality", "draft"])
    finally:
        _session_ctx.__enter__()  # the command released its own context
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "error" in line]
    assert code == 2 and "Traceback" not in err
    assert lines == [f"rackfocus-live export: error: {out}: encoding failed (FFmpegError: "
                     "Generic error in an external library)"]
    assert not out.exists() and not (media["dir"] / "cli.partial.mp4").exists()


# -- the disk fills up while a keyframe file is saved ---------------------------------------------


def pull(scale: float) -> Pull:
    return Pull(FocusTrack([Key(0.0, 2.0 * scale), Key(1.0, 5.0 * scale)]))


@pytest.fixture
def disk_full(monkeypatch: pytest.MonkeyPatch) -> dict:
    """Writes through ``atomic_write`` store half their bytes, then fail with ENOSPC."""
    real_fdopen = os.fdopen
    state = {"on": True}

    class HalfWriter:
        def __init__(self, fh):  # type: ignore[no-untyped-def]
            self.fh = fh

        def __enter__(self):  # type: ignore[no-untyped-def]
            return self

        def __exit__(self, *exc: object) -> None:
            self.fh.close()

        def write(self, data: bytes) -> int:
            self.fh.write(data[: len(data) // 2])
            self.fh.flush()
            raise OSError(errno.ENOSPC, "No space left on device")

        def flush(self) -> None:
            self.fh.flush()

        def fileno(self) -> int:
            return self.fh.fileno()

    def fdopen(fd: int, mode: str = "r", *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        fh = real_fdopen(fd, mode, *args, **kwargs)  # type: ignore[call-overload]
        return HalfWriter(fh) if state["on"] else fh

    monkeypatch.setattr(files.os, "fdopen", fdopen)
    return state


def test_disk_full_during_save_keeps_the_previous_file(tmp_path: Path, disk_full) -> None:
    path = tmp_path / "pull.json"
    disk_full["on"] = False
    save_pull(path, pull(1.0))
    save_pull(path, pull(2.0))
    before, backup = path.read_bytes(), backup_path(path).read_bytes()
    disk_full["on"] = True
    with pytest.raises(InputError) as exc:
        save_pull(path, pull(3.0))
    assert str(exc.value) == (f"{path}: cannot save: disk full (no space left on device); the "
                              "previous version is unchanged")
    assert path.read_bytes() == before and backup_path(path).read_bytes() == backup
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pull.json", "pull.json.bak"]
    assert load_pull(path).pull == pull(2.0)


def test_disk_full_in_the_app_says_so_and_keeps_the_keys(tmp_path: Path, disk_full) -> None:
    from rackfocus_live.timeline.undo import TrackEditor
    from rackfocus_live.ui.pulls import PullController
    from rackfocus_live.ui.state import UiState

    state = UiState()
    pulls = PullController(state)
    pulls.editor = TrackEditor(pull(1.0).track)
    target = tmp_path / "new.json"
    assert not pulls.save(None, target)
    assert state.message == (f"{target}: cannot save: disk full (no space left on device)")
    assert list(tmp_path.iterdir()) == []  # no half-written file, no temp file
    disk_full["on"] = False  # space freed: the same keys save
    assert pulls.save(None, target)
    assert load_pull(target).pull.track == pull(1.0).track


def test_disk_full_from_the_cli_is_one_line(tmp_path: Path, disk_full, capsys) -> None:
    csv = tmp_path / "in.csv"
    csv.write_text("time,focus_m\n0,2\n1,3\n")
    code = main(["keys", str(tmp_path / "out.json"), "--from-csv", str(csv)])
    err = capsys.readouterr().err
    assert code == 2
    assert err == (f"rackfocus-live keys: error: {tmp_path / 'out.json'}: cannot save: disk "
                   "full (no space left on device)\n")


# -- a shader that stops compiling on hot reload --------------------------------------------------


def _bump_mtime(path: Path) -> None:
    t = time.time() + 5
    os.utime(path, (t, t))


@pytest.mark.gl
def test_broken_shader_on_hot_reload_keeps_the_renderer_rendering(ctx, tmp_path: Path) -> None:
    from rackfocus_live.gpu.dof import DofRenderer
    from rackfocus_live.gpu.programs import ProgramCache, shader_dir

    root = tmp_path / "shaders"
    shutil.copytree(shader_dir(), root)
    cache = ProgramCache(ctx, root)
    w, h = 48, 32
    rng = np.random.default_rng(7)
    color = ctx.texture((w, h), 3, rng.integers(0, 256, (h, w, 3), np.uint8).tobytes(),
                        alignment=1)
    inv = np.where(np.arange(w)[None, :] < w // 2, 1.0, 0.2).repeat(h, 0).astype(np.float32)
    depth = ctx.texture((w, h), 1, inv.tobytes(), dtype="f4")
    dof = DofRenderer(ctx, cache, (w, h), "draft")
    lens = LensState(f_stop=1.4, focus_m=1.0)

    def frame() -> bytes:
        dof.render(color, depth, lens, color_is_srgb=True)
        return dof.read_output()

    try:
        good = frame()
        # Break the composite pass and a shared include: both fail, both keep their program.
        comp = root / "composite.frag"
        comp.write_text(comp.read_text().replace("void main", "void main_oops", 1))
        common = root / "include" / "sampling.glsl"
        text = common.read_text()
        common.write_text(text + "\nfloat broken( {\n")
        _bump_mtime(comp)
        _bump_mtime(common)
        errors = cache.reload_changed()
        assert errors and any("composite.frag" in e for e in errors)
        assert all(e.splitlines()[0].endswith("shader compile error") for e in errors)
        assert frame() == good and ctx.error == "GL_NO_ERROR"
        assert cache.reload_changed() == []  # reported once, not every frame
        # Fixed on disk: the next reload takes it and the output is as before.
        shutil.copy(shader_dir() / "composite.frag", comp)
        common.write_text(text)
        _bump_mtime(comp)
        _bump_mtime(common)
        assert cache.reload_changed() == []
        assert frame() == good
    finally:
        dof.release()
        color.release()
        depth.release()
        cache.release()
