"""The app's export controller without a window: real exports of a generated clip driven one UI
frame at a time, cancel and close (the window closing) with and without keep-partial, and bad
output paths or a failing disk ending as a panel message, never an exception. Plus the pure parts:
settings from the options and what the app shows, codec and range edits, default names.

The window side (export started from the app while the preview keeps playing, the window closed
mid-export) is in ``test_app_smoke.py``.
"""

from __future__ import annotations

import errno
import threading
import time
from pathlib import Path

import av
import pytest

from rackfocus_live.errors import InputError
from rackfocus_live.export import ExportProgress
from rackfocus_live.lens import LensState
from rackfocus_live.media.decoder import DecoderThread
from rackfocus_live.media.probe import probe_clip
from rackfocus_live.media.writer import THREAD_NAME_PREFIX, VideoWriter
from rackfocus_live.settings import HighlightBoost
from rackfocus_live.timeline.keyframes import FocusTrack, Key
from rackfocus_live.ui.export_panel import (
    ExportController,
    ExportOptions,
    ExportSource,
    build_settings,
    clock,
    default_output,
)
from tests import media_factory as mf
from tests.test_writer import unwritable_folder

pytestmark = [pytest.mark.gl, pytest.mark.timeout(120)]

SIZE = (64, 48)
FRAMES = 10
LENS = LensState(focal_length_mm=50.0, f_stop=1.4, sensor_width_mm=36.0, focus_m=1.0)
DECODER_THREAD = "rackfocus-decoder"


@pytest.fixture
def media(tmp_path: Path) -> tuple[Path, Path]:
    clip = mf.make_clip(tmp_path / "clip.mp4", frames=FRAMES, size=SIZE)
    depth = mf.make_depth_video(tmp_path / "depth.mkv", frames=FRAMES, size=SIZE)
    return clip, depth


def source(media: tuple[Path, Path], track: FocusTrack | None = None) -> ExportSource:
    clip, depth = media
    return ExportSource(clip=clip, depth=depth, mapping=mf.DEPTH_MAPPING, lens=LENS,
                        quality="draft", track=track)


def drive(ctl: ExportController, timeout_s: float = 60.0) -> list[ExportProgress]:
    """Call ``update`` as the app's loop does until the job has ended; every progress seen."""
    seen: list[ExportProgress] = []
    deadline = time.monotonic() + timeout_s
    while ctl.running:
        assert time.monotonic() < deadline, "the export never ended"
        p = ctl.update()
        assert p is not None
        seen.append(p)
        time.sleep(0.002)  # the rest of a UI frame
    return seen


def export_threads() -> list[str]:
    return [t.name for t in threading.enumerate()
            if t.name.startswith((THREAD_NAME_PREFIX, DECODER_THREAD))]


def partial_files(folder: Path) -> list[str]:
    """Unfinished exports: the writer's temporary files and any kept partial file."""
    return sorted(p.name for p in folder.iterdir() if ".partial." in p.name) + mf.leftovers(folder)


# -- real exports, stepped -----------------------------------------------------------------------


def test_exports_in_steps_to_a_file_with_every_frame(ctx, programs, media) -> None:
    clip, _ = media
    ctl = ExportController()
    ctl.suggest_output(clip)
    out = clip.with_name("clip_rackfocus.mp4")
    assert ctl.options.output == str(out)
    ctl.max_frames_per_update = 1  # as on a slow machine: many UI frames per export
    assert ctl.start(ctx, programs, source(media))
    assert ctl.running and ctl.busy and len(partial_files(clip.parent)) == 2  # temp + lock

    slowest = 0.0
    seen: list[ExportProgress] = []
    deadline = time.monotonic() + 60
    while ctl.running:
        assert time.monotonic() < deadline, "the export never ended"
        t = time.perf_counter()
        p = ctl.update()
        slowest = max(slowest, time.perf_counter() - t)
        assert p is not None
        seen.append(p)
        time.sleep(0.002)  # the rest of a UI frame

    frames = [p.frames for p in seen]
    assert frames == sorted(frames) and frames[-1] == FRAMES
    assert len({f for f in frames if f < FRAMES}) >= FRAMES - 1  # one frame per UI frame
    assert slowest < 2.0  # an update never waits for the decoder or the encoder
    final = ctl.progress
    assert final is not None and final.state == "done" and final.output == out
    assert not ctl.failed and ctl.message is not None and ctl.message.startswith(f"wrote {out}")
    assert probe_clip(out).frame_count == FRAMES
    assert partial_files(clip.parent) == [] and export_threads() == []
    # The next export gets a new name rather than replacing this one.
    assert ctl.options.output == str(clip.with_name("clip_rackfocus_2.mp4"))


def test_a_range_and_ffv1_export_only_those_frames(ctx, programs, media, tmp_path) -> None:
    ctl = ExportController()
    ctl.options.output = "sub/part"  # relative: next to the clip; no suffix: the codec's
    (tmp_path / "sub").mkdir()
    ctl.options.set_codec("ffv1")
    ctl.options.frame_range = "3:7"
    assert ctl.start(ctx, programs, source(media)), ctl.message
    drive(ctl)
    out = tmp_path / "sub" / "part.mkv"
    assert ctl.progress is not None and ctl.progress.output == out
    with av.open(str(out)) as c:
        assert sum(1 for _ in c.decode(video=0)) == 4


@pytest.mark.parametrize("keep", [False, True])
def test_cancel_removes_or_keeps_the_partial_file(ctx, programs, media, keep: bool) -> None:
    clip, _ = media
    ctl = ExportController()
    ctl.options.output = str(clip.with_name("c.mp4"))
    ctl.options.keep_partial = keep
    ctl.max_frames_per_update = 1
    assert ctl.start(ctx, programs, source(media))
    deadline = time.monotonic() + 30
    while ctl.progress is not None and ctl.progress.frames < 4:
        assert time.monotonic() < deadline
        ctl.update()
    ctl.cancel()
    p = ctl.update()
    assert not ctl.running and p is not None and p.state == "cancelled"
    assert not clip.with_name("c.mp4").exists()
    assert clip.with_name("c.partial.mp4").exists() == keep
    assert ctl.message is not None and not ctl.failed
    assert ("partial file kept" in ctl.message) == keep
    assert ctl.message.startswith("export cancelled after 4 of 10 frames")
    assert export_threads() == []


def test_close_mid_export_joins_threads_and_removes_the_partial_file(ctx, programs, media) -> None:
    """What the app does when its window is closed during an export."""
    clip, _ = media
    ctl = ExportController()
    ctl.options.output = str(clip.with_name("closing.mp4"))
    ctl.max_frames_per_update = 1
    assert ctl.start(ctx, programs, source(media))
    ctl.update()
    ctl.update()
    assert ctl.running and export_threads()
    t = time.perf_counter()
    ctl.close()
    assert time.perf_counter() - t < 10.0
    assert not ctl.running and ctl.progress is not None and ctl.progress.state == "cancelled"
    assert export_threads() == []
    assert sorted(p.name for p in clip.parent.iterdir()) == ["clip.mp4", "depth.mkv"]
    ctl.close()  # idempotent


# -- problems become messages --------------------------------------------------------------------


def test_a_missing_output_folder_is_a_message(ctx, programs, media, tmp_path) -> None:
    before = sorted(tmp_path.iterdir())
    ctl = ExportController()
    ctl.options.output = str(tmp_path / "nowhere" / "out.mp4")
    assert not ctl.start(ctx, programs, source(media))
    assert ctl.failed and not ctl.running and ctl.job is None
    assert ctl.message == f"{tmp_path / 'nowhere'}: output folder does not exist"
    assert sorted(tmp_path.iterdir()) == before


def test_an_unwritable_output_folder_is_a_message(ctx, programs, media, tmp_path) -> None:
    locked = unwritable_folder(tmp_path)
    ctl = ExportController()
    ctl.options.output = str(locked / "rf-export.mp4")
    try:
        assert not ctl.start(ctx, programs, source(media))
    finally:
        if locked != Path("/sys"):
            locked.chmod(0o755)
    assert ctl.failed and ctl.job is None
    assert ctl.message == (f"{locked / 'rf-export.mp4'}: cannot write here "
                           "(permission denied)")
    assert not (locked / "rf-export.mp4").exists() and export_threads() == []


@pytest.mark.parametrize(("output", "frame_range", "expected"), [
    ("", "", "choose an output file"),
    ("x.avi", "", "output must end in one of"),
    ("x.mp4", "5", "--range must look like START:END"),
    ("x.mp4", "20:30", "--range starts at frame 20"),
])
def test_bad_options_are_a_message(ctx, programs, media, output, frame_range, expected) -> None:
    ctl = ExportController()
    ctl.options.output = output
    ctl.options.frame_range = frame_range
    assert not ctl.start(ctx, programs, source(media))
    assert ctl.failed and ctl.message is not None and expected in ctl.message


def test_no_clip_is_a_message(ctx, programs) -> None:
    ctl = ExportController()
    assert not ctl.start(ctx, programs, None)
    assert ctl.failed and ctl.message == "open a clip first"


def test_a_full_disk_mid_export_is_a_message_and_leaves_nothing(
    ctx, programs, media, monkeypatch
) -> None:
    clip, _ = media
    real = VideoWriter._mux
    count = {"n": 0}

    def mux(self: VideoWriter, packet: av.Packet) -> None:
        count["n"] += 1
        if count["n"] > 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(self, packet)

    monkeypatch.setattr(VideoWriter, "_mux", mux)
    before = sorted(clip.parent.iterdir())
    ctl = ExportController()
    ctl.options.output = str(clip.with_name("full.mp4"))
    assert ctl.start(ctx, programs, source(media))
    drive(ctl)
    assert ctl.failed and ctl.message == (f"{clip.with_name('full.mp4')}: disk full while "
                                          "writing the export (no space left on device)")
    assert ctl.progress is not None and ctl.progress.state == "failed"
    assert sorted(clip.parent.iterdir()) == before and export_threads() == []

    # The controller (and the app) carry on: the next export works.
    monkeypatch.setattr(VideoWriter, "_mux", real)
    assert ctl.start(ctx, programs, source(media))
    drive(ctl)
    assert not ctl.failed and probe_clip(clip.with_name("full.mp4")).frame_count == FRAMES


def test_a_decoder_failure_mid_export_is_a_message(ctx, programs, media, monkeypatch) -> None:
    clip, _ = media

    def broken(self: DecoderThread, timeout: float | None = None) -> None:
        raise InputError("decoding failed at frame 3", clip)

    ctl = ExportController()
    ctl.options.output = str(clip.with_name("broken.mp4"))
    assert ctl.start(ctx, programs, source(media))
    monkeypatch.setattr(DecoderThread, "get", broken)
    ctl.update()
    assert not ctl.running and ctl.failed
    assert ctl.message == f"{clip}: decoding failed at frame 3"
    assert partial_files(clip.parent) == [] and export_threads() == []


def test_only_one_export_at_a_time(ctx, programs, media) -> None:
    clip, _ = media
    ctl = ExportController()
    ctl.options.output = str(clip.with_name("one.mp4"))
    assert ctl.start(ctx, programs, source(media))
    try:
        assert not ctl.start(ctx, programs, source(media))
        assert ctl.message == "an export is already running" and ctl.running
    finally:
        ctl.close()


def test_without_a_dialog_program_the_text_field_is_the_way(media, monkeypatch) -> None:
    import rackfocus_live.ui.files as files

    monkeypatch.setattr(files, "dialogs_available", lambda: False)
    ctl = ExportController()
    ctl.browse(media[0])
    assert not ctl.busy and not ctl.failed
    assert ctl.message is not None and "type the output path" in ctl.message


# -- the panel section (ImGui without a window) --------------------------------------------------


@pytest.fixture
def imgui_frame():  # type: ignore[no-untyped-def]
    """A bare ImGui context (no window, no renderer): ``frame(draw)`` runs ``draw`` inside a
    window of one ImGui frame and returns its result and the vertex count drawn."""
    from imgui_bundle import imgui

    context = imgui.create_context()
    io = imgui.get_io()
    io.set_ini_filename(None)
    io.display_size = imgui.ImVec2(400, 900)
    io.delta_time = 1 / 60
    # No renderer backend: let ImGui build its font pages itself.
    io.backend_flags |= imgui.BackendFlags_.renderer_has_textures

    def frame(draw):  # type: ignore[no-untyped-def]
        imgui.new_frame()
        imgui.begin("panel")
        imgui.set_next_item_open(True)  # the Export header, as if the user opened it
        result = draw()
        imgui.end()
        imgui.render()
        return result, imgui.get_draw_data().total_vtx_count

    yield frame
    imgui.destroy_context(context)


def test_the_export_section_draws_in_every_state(ctx, programs, media, imgui_frame) -> None:
    from rackfocus_live.ui.export_panel import ExportPanelInfo, draw_export

    clip, _ = media
    ctl = ExportController()
    ctl.suggest_output(clip)
    imgui_frame(lambda: draw_export(ctl, ExportPanelInfo()))  # ImGui shows a window from frame 2
    for codec in ("h264", "hevc", "prores", "ffv1"):
        ctl.options.set_codec(codec)
        for has_pull in (False, True):
            info = ExportPanelInfo(clip=clip, has_pull=has_pull, focus_m=2.5, frame=3)
            pressed, vertices = imgui_frame(lambda i=info: draw_export(ctl, i))
            assert pressed is False and vertices > 0
    ctl.max_frames_per_update = 1
    assert ctl.start(ctx, programs, source(media))
    try:
        ctl.update()
        info = ExportPanelInfo(clip=clip)
        pressed, vertices = imgui_frame(lambda: draw_export(ctl, info))
        assert pressed is False and vertices > 0
    finally:
        ctl.close()
    ctl.notes.append("depth: 2 frames fewer than the clip")
    assert imgui_frame(lambda: draw_export(ctl, ExportPanelInfo(clip=clip)))[1] > 0


# -- the pure parts ------------------------------------------------------------------------------


def test_settings_follow_the_pull_or_the_current_focus(media) -> None:
    clip, depth = media
    track = FocusTrack([Key(0.0, 0.8), Key(0.3, 3.0)], fps=24)
    highlight = HighlightBoost(0.8, 2.0)
    src = ExportSource(clip=clip, depth=depth, mapping=mf.DEPTH_MAPPING, lens=LENS,
                       highlight=highlight, quality="high", track=track)
    options = ExportOptions(output="out.mp4")
    s = build_settings(options, src)
    assert s.track is track and s.lens == LENS and s.mapping == mf.DEPTH_MAPPING
    assert s.highlight == highlight and s.quality == "high"  # as the preview renders
    assert s.output == clip.parent / "out.mp4" and s.frame_range is None
    assert s.codec == "h264" and s.crf == 18 and s.audio and not s.keep_partial

    options.use_pull = False
    options.quality = "draft"
    assert build_settings(options, src).track is None  # the current focus, constant
    assert build_settings(options, src).quality == "draft"
    empty = ExportSource(clip=clip, depth=depth, mapping=mf.DEPTH_MAPPING, lens=LENS,
                         track=FocusTrack(fps=24))
    assert build_settings(ExportOptions(output="o.mp4"), empty).track is None

    options = ExportOptions(output="/abs/o", codec="prores", frame_range=":4")
    s = build_settings(options, src)
    assert s.crf is None and s.output == Path("/abs/o") and s.frame_range == (0, 4)


def test_codec_switch_changes_a_default_suffix_and_crf() -> None:
    o = ExportOptions(output="/x/shot.mp4")
    o.set_codec("prores")
    assert o.output == "/x/shot.mov" and o.codec == "prores"
    o.set_codec("ffv1")
    assert o.output == "/x/shot.mkv"
    o.set_codec("hevc")
    assert o.output == "/x/shot.mp4" and o.crf == 20
    o.output = "/x/mine.mov"  # a suffix the user chose stays
    o.set_codec("h264")
    assert o.output == "/x/mine.mov" and o.crf == 18


def test_range_in_and_out_from_the_playhead() -> None:
    o = ExportOptions()
    o.set_range_side(0, 12)
    assert o.frame_range == "12:"
    o.set_range_side(1, 40)
    assert o.frame_range == "12:40"
    o.frame_range = "1.5s:"
    o.set_range_side(1, 50)
    assert o.frame_range == "1.5s:50"


def test_default_output_never_replaces_an_earlier_export(tmp_path: Path) -> None:
    clip = tmp_path / "shot.mov"
    assert default_output(clip, "h264") == tmp_path / "shot_rackfocus.mp4"
    (tmp_path / "shot_rackfocus.mp4").write_bytes(b"")
    (tmp_path / "shot_rackfocus_2.mp4").write_bytes(b"")
    assert default_output(clip, "h264") == tmp_path / "shot_rackfocus_3.mp4"
    assert default_output(clip, "prores") == tmp_path / "shot_rackfocus.mov"


def test_suggested_output_keeps_what_the_user_typed(tmp_path: Path) -> None:
    ctl = ExportController()
    ctl.suggest_output(tmp_path / "a.mp4")
    assert ctl.options.output == str(tmp_path / "a_rackfocus.mp4")
    ctl.suggest_output(tmp_path / "b.mp4")  # another clip opened: follows it
    assert ctl.options.output == str(tmp_path / "b_rackfocus.mp4")
    ctl.options.output = "/elsewhere/mine.mp4"
    ctl.suggest_output(tmp_path / "c.mp4")
    assert ctl.options.output == "/elsewhere/mine.mp4"


def test_clock() -> None:
    assert [clock(s) for s in (0, 59.4, 61, 3725)] == ["0:00", "0:59", "1:01", "1:02:05"]
