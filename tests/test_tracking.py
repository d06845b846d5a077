"""Track-to-focus: the subject tracker, its depth statistic, takes, the worker job (no GL).

Shots come from ``tests/track_scenes.py``: a textured subject walking across and toward the
camera, a distractor crossing behind it, a post crossing in front; the truth is exact.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from rackfocus_live.depth import DepthMapping
from rackfocus_live.lens import LensState
from rackfocus_live.media.depthsource import open_depth
from rackfocus_live.media.probe import probe_clip
from rackfocus_live.timeline.keyframes import FocusTrack, Key
from rackfocus_live.timeline.simplify import CocTolerance
from rackfocus_live.timeline.undo import TrackEditor
from rackfocus_live.tracking.job import TrackJob, run_tracking
from rackfocus_live.tracking.session import Anchor, SubjectTrack, box_iou
from rackfocus_live.tracking.subject_depth import region_inverse_depth, smooth_inverse_depth
from rackfocus_live.tracking.take import commit_take
from rackfocus_live.tracking.tracker import TrackStatus
from tests import track_scenes as ts

SIZE = (320, 180)
LENS = LensState(focal_length_mm=50.0, f_stop=2.0, sensor_width_mm=36.0)


def coc_error_px(focus_m: np.ndarray, truth_m: np.ndarray, width: int = 640) -> np.ndarray:
    """|CoC| (px at ``width``) of the true subject with the tracked focus."""
    return np.array([abs(float(LENS.with_focus(float(f)).coc_px(z, width)))
                     for f, z in zip(focus_m, truth_m, strict=True)])


def post_overlap_frames(scene: ts.Scene) -> list[int]:
    """Frames where the post hides part of the subject."""
    post = scene.planes[-1]
    out = []
    for i in range(scene.spec.frames):
        a, b = scene.project(scene.subject, i), scene.project(post, i)
        if min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]) > 0:
            out.append(i)
    return out


def track(clip: Path, depth: Path, anchors: list[Anchor],
          frames: tuple[int, int] | None = None) -> SubjectTrack:
    info = probe_clip(clip)
    source = open_depth(depth, DepthMapping("metric"), info)
    start, stop = frames or (0, info.frame_count)
    subject = SubjectTrack(start, stop)
    for anchor in anchors:
        subject = run_tracking(info, source, subject, anchor)
    return subject


@pytest.fixture(scope="module")
def shot(tmp_path_factory: pytest.TempPathFactory) -> tuple[ts.Scene, Path, Path, np.ndarray]:
    """The standard shot with degraded (estimated-looking) depth, small for speed."""
    folder = tmp_path_factory.mktemp("track_shot")
    return ts.make_files(folder, ts.SceneSpec(size=SIZE, frames=48, post_cross=0.6),
                         degraded=True)


def test_subject_followed_through_a_partial_occlusion(shot) -> None:
    scene, clip, depth, truth = shot
    covered = post_overlap_frames(scene)
    assert 6 <= len(covered) <= 16  # the post really crosses the subject
    subject = track(clip, depth, [Anchor(0, *scene.subject_centre(0))])
    for i in covered:
        box, status = subject.at(i)  # type: ignore[misc]
        assert status == TrackStatus.TRACKED, i
        assert box_iou(box, scene.project(scene.subject, i)) > 0.6, i
    err = coc_error_px(subject.focus_m(), truth)
    assert np.mean(err <= 1.0) >= 0.95, err.round(2).tolist()
    assert err[covered].max() <= 1.0


def test_a_distractor_crossing_behind_does_not_steal_the_track(shot) -> None:
    scene, clip, depth, truth = shot
    distractor = scene.planes[1]
    crossing = [i for i in range(scene.spec.frames)
                if box_iou(scene.project(scene.subject, i), scene.project(distractor, i)) > 0.2]
    assert len(crossing) >= 3  # the distractor really passes behind the subject
    # Anchored after the crossing, tracked backward through it, and before it, forward.
    for anchor_frame in (0, scene.spec.frames - 1):
        subject = track(clip, depth, [Anchor(anchor_frame, *scene.subject_centre(anchor_frame))])
        for i in crossing:
            box, status = subject.at(i)  # type: ignore[misc]
            assert status == TrackStatus.TRACKED
            assert box_iou(box, scene.project(scene.subject, i)) > 0.6, (anchor_frame, i)
        # Once they have parted, the box is on the subject, nowhere near the distractor.
        for i in (crossing[0] - 4, crossing[-1] + 4):
            box, _ = subject.at(i)  # type: ignore[misc]
            assert box_iou(box, scene.project(scene.subject, i)) > 0.6, (anchor_frame, i)
            assert box_iou(box, scene.project(distractor, i)) < 0.1, (anchor_frame, i)
        assert coc_error_px(subject.focus_m(), truth)[crossing].max() <= 1.0


def test_a_lost_subject_holds_focus_and_is_marked(tmp_path: Path) -> None:
    spec = ts.SceneSpec(size=SIZE, frames=40, post_cross=2.0, subject_hidden=(18, 26))
    scene, clip, depth, truth = ts.make_files(tmp_path, spec)
    subject = track(clip, depth, [Anchor(0, *scene.subject_centre(0))])
    lost = set(subject.lost_frames().tolist())
    assert set(range(19, 26)) <= lost <= set(range(17, 28)), sorted(lost)
    focus = subject.focus_m()
    first = min(lost)
    held = focus[first - 1]
    assert np.all(focus[sorted(lost)] == held)  # the last focus before the loss, held
    assert abs(held - truth[first - 1]) < 0.05
    # The subject is picked up again once the wall has passed, and followed to the end.
    assert subject.at(30)[1] == TrackStatus.TRACKED  # type: ignore[index]
    assert coc_error_px(focus[30:], truth[30:]).max() <= 1.0
    assert subject.lost_spans()[0][0] == first


def test_a_subject_leaving_the_picture_is_marked_out_of_frame(tmp_path: Path) -> None:
    spec = ts.SceneSpec(size=SIZE, frames=40, subject_x=(-0.5, 4.5), subject_z=(5.0, 5.0),
                        post_cross=2.0)
    scene, clip, depth, _ = ts.make_files(tmp_path, spec)
    subject = track(clip, depth, [Anchor(0, *scene.subject_centre(0))])
    statuses = [subject.at(i)[1] for i in range(40)]  # type: ignore[index]
    assert statuses[0] == TrackStatus.TRACKED
    assert statuses[-1] == TrackStatus.OUT_OF_FRAME
    gone = next(i for i, s in enumerate(statuses) if s == TrackStatus.OUT_OF_FRAME)
    x, _, w, _ = scene.project(scene.subject, gone)
    assert x + 0.2 * w > SIZE[0]  # lost only once most of it has left
    assert np.all(subject.focus_m()[gone:] == subject.focus_m()[gone - 1])


def test_a_new_anchor_fixes_a_wrong_track(shot) -> None:
    scene, clip, depth, truth = shot
    wrong = track(clip, depth, [Anchor(0, *_centre(scene.project(scene.planes[1], 0)))])
    err_wrong = coc_error_px(wrong.focus_m(), truth)
    assert np.mean(err_wrong > 1.0) > 0.8  # the distractor, not the subject
    fix_at = 20
    fixed = track(clip, depth, [Anchor(0, *_centre(scene.project(scene.planes[1], 0))),
                                Anchor(fix_at, *scene.subject_centre(fix_at))])
    assert fixed.owner[fix_at:].tolist() == [1] * (48 - fix_at)
    err = coc_error_px(fixed.focus_m(), truth)
    # The new anchor owns everything from its frame on and, backward, every frame where the
    # old track disagreed with it (here: all of them but the first anchor's own frame).
    assert err[1:].max() <= 1.0
    assert fixed.owner[0] == 0


def test_a_new_anchor_on_a_right_track_changes_only_frames_from_there(shot) -> None:
    scene, clip, depth, _ = shot
    first = track(clip, depth, [Anchor(0, *scene.subject_centre(0))])
    both = track(clip, depth, [Anchor(0, *scene.subject_centre(0)),
                               Anchor(30, *scene.subject_centre(30))])
    assert both.owner[:30].tolist() == [0] * 30  # the backward pass rejoined at once
    assert both.owner[30:].tolist() == [1] * 18
    np.testing.assert_array_equal(both.boxes[:30], first.boxes[:30])


def test_a_rack_anchor_takes_over_only_from_its_frame(shot) -> None:
    scene, clip, depth, truth = shot
    distractor = scene.planes[1]
    racked = track(clip, depth, [Anchor(0, *scene.subject_centre(0)),
                                 Anchor(30, *_centre(scene.project(distractor, 30)),
                                        backward=False)])
    assert racked.owner[:30].tolist() == [0] * 30
    assert racked.owner[30:].tolist() == [1] * 18
    focus = racked.focus_m()
    assert coc_error_px(focus[:30], truth[:30]).max() <= 1.0  # the subject until frame 30
    np.testing.assert_allclose(focus[32:], scene.spec.distractor_z, rtol=0.03)  # then the other


def _centre(box: tuple[float, float, float, float]) -> tuple[float, float]:
    return box[0] + box[2] / 2, box[1] + box[3] / 2


def test_tracked_focus_becomes_one_undoable_take(shot) -> None:
    scene, clip, depth, truth = shot
    subject = track(clip, depth, [Anchor(10, *scene.subject_centre(10))], frames=(5, 40))
    before = FocusTrack([Key(0.0, 1.5), Key(2.0, 1.5)], fps=Fraction(24))
    editor = TrackEditor(before)
    tolerance = CocTolerance(LENS, 640, 0.5)
    take = commit_take(editor, tolerance, subject, Fraction(24))
    assert take is not None and take.max_error_px <= 0.5
    assert editor.undo_label == "record"
    after = editor.track
    times = np.arange(48) / 24.0
    values = after.evaluate_many(times)
    # Inside the tracked frames the pull follows the subject within the tolerance...
    assert coc_error_px(values[5:40], truth[5:40]).max() <= 1.0
    # ...and outside them (one frame of transition either side) the old pull is untouched.
    np.testing.assert_allclose(values[:4], 1.5)
    np.testing.assert_allclose(values[41:], 1.5)
    assert editor.undo() == "record"
    assert editor.track == before


def test_the_worker_job_reports_progress_and_can_be_cancelled(shot) -> None:
    scene, clip, depth, _ = shot
    info = probe_clip(clip)
    source = open_depth(depth, DepthMapping("metric"), info)
    anchor = Anchor(0, *scene.subject_centre(0))
    job = TrackJob(info, source, SubjectTrack(0, 48), anchor).start()
    job.join(60)
    final = job.poll()
    assert final.state == "done" and final.fraction == 1.0
    assert job.result is not None and len(job.result.frames()) == 48
    cancelled = TrackJob(info, source, SubjectTrack(0, 48), anchor)
    cancelled.cancel()
    cancelled.start().join(60)
    assert cancelled.poll().state == "cancelled" and cancelled.result is None


def test_region_depth_prefers_the_subject_over_background_and_occluder() -> None:
    rng = np.random.default_rng(0)
    region = np.full((40, 40), 1 / 10.0)  # background at 10 m
    region[5:35, 10:30] = 1 / 3.0 + rng.normal(0, 0.005, (30, 20))  # subject at 3 m
    region[:, 14:20] = 1 / 1.2  # a post in front
    w, fraction = region_inverse_depth(region, 1 / 3.2, 0.05)
    assert abs(1 / w - 3.0) < 0.03
    assert 0.2 < fraction < 0.3
    assert math.isnan(region_inverse_depth(region, 1 / 6.0, 0.02)[0])


def test_smoothing_has_no_lag_on_a_subject_walking_toward_the_camera() -> None:
    rng = np.random.default_rng(1)
    n = 60
    w_true = 1 / np.linspace(6.0, 2.0, n)
    noisy = w_true * (1 + rng.normal(0, 0.02, n))
    smooth = smooth_inverse_depth(noisy, np.ones(n, bool), np.zeros(n, np.int16))
    residual = smooth - w_true
    assert abs(np.mean(residual)) < 0.002  # no lag: no bias on a steady approach
    assert np.std(residual) < 0.6 * np.std(noisy - w_true)  # and less noise
    exact = smooth_inverse_depth(w_true, np.ones(n, bool), np.zeros(n, np.int16))
    np.testing.assert_allclose(exact, w_true, rtol=2e-3)


def test_tracking_modules_import_no_gl_window_or_ui() -> None:
    probe = ("import json, sys, pkgutil, importlib, rackfocus_live.tracking as t\n"
             "for m in pkgutil.iter_modules(t.__path__): "
             "importlib.import_module('rackfocus_live.tracking.' + m.name)\n"
             "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=120, check=True, cwd=Path(__file__).resolve().parents[1])
    loaded = {m.split(".")[0] for m in json.loads(out.stdout.strip().splitlines()[-1])}
    assert "cv2" in loaded and "rackfocus_live" in loaded
    assert not loaded & {"moderngl", "glfw", "imgui_bundle"}


@pytest.mark.parametrize(("rotation", "pix_fmt"), [(90, "yuv420p"), (0, "yuv420p10le")])
def test_frames_are_in_display_orientation_and_8_bit(tmp_path: Path, rotation: int,
                                                     pix_fmt: str) -> None:
    from rackfocus_live.media.reader import VideoReader, frame_planes
    from rackfocus_live.tracking.frames import TrackFrames
    from tests import media_factory as mf

    clip = mf.make_clip(tmp_path / "c.mp4", frames=3, size=(64, 48), rotation=rotation,
                        pix_fmt=pix_fmt, lossless=True)
    depth = mf.make_depth_still(tmp_path / "d.png", size=(64, 48))
    info = probe_clip(clip)
    frames = TrackFrames(info, open_depth(depth, mf.DEPTH_MAPPING, info, warn=lambda _: None))
    try:
        got = frames.read(1)
    finally:
        frames.close()
    width, height = info.display_size
    assert got.luma.shape == got.inv_depth.shape == (height, width)
    assert got.luma.dtype == np.uint8
    reader = VideoReader(info)
    frame = reader.read(1)
    assert frame is not None
    y = np.asarray(frame_planes(frame, info)[0]).astype(np.int64) >> (info.layout.bits - 8)
    reader.close()
    np.testing.assert_array_equal(got.luma, np.rot90(y, k=rotation // 90))
    assert mf.read_code(got.luma if rotation == 0 else np.rot90(got.luma, k=-1)) == 1
