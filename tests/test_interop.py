"""Interop: CSV out and back in, the Blender script (fake bpy always, Blender when installed),
After Effects keyframe text."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from rackfocus_live.errors import InputError
from rackfocus_live.lens import LensState
from rackfocus_live.timeline.easing import get_easing
from rackfocus_live.timeline.interop import (
    ae_keyframe_text,
    ae_pixels_per_metre,
    blender_script,
    csv_text,
    export_blender,
    export_csv,
    import_csv,
    parse_ae_focus,
    parse_csv,
)
from rackfocus_live.timeline.keyframes import FocusTrack, Key

NTSC = Fraction(24000, 1001)


def pull(with_f_stop: bool = True) -> FocusTrack:
    return FocusTrack(
        [Key(0.0, 6.0, 2.8 if with_f_stop else None, get_easing("sine-in-out")),
         Key(1.0, 1.25, 1.4 if with_f_stop else None, get_easing("hold")),
         Key(1.5, 3.0, None, get_easing("back-out")), Key(2.0, 2.0)],
        fps=NTSC,
    )


# -- CSV -----------------------------------------------------------------------------------------


def test_csv_rows_are_the_baked_track(tmp_path: Path) -> None:
    track = pull()
    text = csv_text(track, 60)
    lines = text.splitlines()
    assert lines[0] == "frame,time,focus_m,f_stop" and len(lines) == 61
    frame, time, focus, stop = lines[26].split(",")  # line 0 is the header
    assert int(frame) == 25 and float(time) == track.time_of(25)
    assert float(focus) == track.evaluate(track.time_of(25))
    assert float(stop) == track.evaluate_f_stop(track.time_of(25))
    assert csv_text(pull(with_f_stop=False), 3).splitlines()[1].endswith(",")


def test_csv_round_trip_reproduces_every_frame(tmp_path: Path) -> None:
    track = pull()
    path = tmp_path / "pull.csv"
    export_csv(path, track, 60)
    back = import_csv(path)
    assert back.fps == NTSC  # inferred from the frame and time columns
    assert np.array_equal(back.bake(60), track.bake(60))
    assert np.array_equal(back.bake_f_stop(60), track.bake_f_stop(60))


def test_csv_with_frames_only_and_any_column_order() -> None:
    track = parse_csv("focus_m,frame\n2.0,0\n4.0,25\n", fps=Fraction(25))
    assert [k.time for k in track.keys] == [0.0, 1.0]
    assert track.evaluate(0.5) == pytest.approx(1 / (0.5 / 2 + 0.5 / 4))
    assert track.evaluate_f_stop(0.5) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty CSV"),
        ("a,b\n1,2\n", "line 1: header needs focus_m"),
        ("frame,focus_m\n0,2\n1,abc\n", "line 3: focus_m: expected a number, got 'abc'"),
        ("frame,focus_m\n0,-2\n", "line 2: focus_m: out of range"),
        ("frame,focus_m\n0.5,2\n", "line 2: frame: expected an integer"),
        ("time,focus_m\n1,2\n0.5,2\n", "line 3: time must increase"),
        ("time,focus_m\n,2\n", "line 2: needs a time or a frame"),
        ("time,focus_m\n", "no rows"),
        ("time,focus_m,f_stop\n0,2,0\n", "line 2: f_stop: out of range"),
    ],
)
def test_bad_csv_names_the_line(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        parse_csv(text, "in.csv")
    assert str(info.value).startswith("in.csv: ")


# -- Blender -------------------------------------------------------------------------------------

FAKE_BPY = textwrap.dedent(
    """
    '''A stand-in for the bits of bpy the generated script touches; records keyframes.'''
    from types import SimpleNamespace

    KEYS = {}

    class Dof:
        def __init__(self):
            self.use_dof = False
            self.focus_object = "some object"
            self.focus_distance = 10.0
            self.aperture_fstop = 2.8

        def keyframe_insert(self, data_path, frame):
            assert prefs.keyframe_new_interpolation_type == "LINEAR"
            KEYS.setdefault(data_path, {})[frame] = getattr(self, data_path)

    cam = SimpleNamespace(type="CAMERA", name="Camera", data=SimpleNamespace(dof=Dof()))
    prefs = SimpleNamespace(keyframe_new_interpolation_type="BEZIER")
    scene = SimpleNamespace(
        camera=cam,
        render=SimpleNamespace(fps=30, fps_base=1.0),
        unit_settings=SimpleNamespace(scale_length=SCALE),
    )
    context = SimpleNamespace(scene=scene, preferences=SimpleNamespace(edit=prefs))
    data = SimpleNamespace(objects={"Camera": cam})
    """
)


def run_with_fake_bpy(tmp_path: Path, script: str, scale: float = 1.0) -> dict:
    (tmp_path / "bpy.py").write_text(FAKE_BPY.replace("SCALE", repr(scale)))
    (tmp_path / "pull_blender.py").write_text(script)
    probe = textwrap.dedent(
        """
        import json, runpy, bpy
        runpy.run_path("pull_blender.py")
        dof = bpy.cam.data.dof
        print(json.dumps({
            "keys": {k: {str(f): v for f, v in d.items()} for k, d in bpy.KEYS.items()},
            "use_dof": dof.use_dof, "focus_object": dof.focus_object,
            "fps": bpy.scene.render.fps, "fps_base": bpy.scene.render.fps_base,
            "interp": bpy.prefs.keyframe_new_interpolation_type,
        }))
        """
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_blender_script_keys_every_frame_on_a_fake_bpy(tmp_path: Path) -> None:
    track = pull()
    result = run_with_fake_bpy(tmp_path, blender_script(track, 60, frame_start=1))
    focus = result["keys"]["focus_distance"]
    stops = result["keys"]["aperture_fstop"]
    baked, baked_stops = track.bake(60), track.bake_f_stop(60)
    assert baked_stops is not None
    assert sorted(int(f) for f in focus) == list(range(1, 61))
    for n in range(60):
        assert focus[str(n + 1)] == baked[n]
        assert stops[str(n + 1)] == baked_stops[n]
    assert result["use_dof"] is True and result["focus_object"] is None
    assert result["fps"] == 24 and result["fps_base"] == pytest.approx(1.001)
    assert result["interp"] == "BEZIER"  # the user's preference is restored


def test_blender_script_converts_to_scene_units(tmp_path: Path) -> None:
    track = pull(with_f_stop=False)
    script = blender_script(track, 10, frame_start=101, set_scene_fps=False)
    result = run_with_fake_bpy(tmp_path, script, scale=0.01)  # 1 Blender unit = 1 cm
    assert "aperture_fstop" not in result["keys"]
    assert result["keys"]["focus_distance"]["101"] == pytest.approx(600.0)
    assert result["fps"] == 30


def test_blender_script_in_blender(tmp_path: Path) -> None:
    blender = shutil.which("blender")
    if blender is None:
        pytest.skip("blender not installed")
    track = pull()
    script = tmp_path / "pull.py"
    export_blender(script, track, 60)
    out_json = tmp_path / "out.json"
    check = textwrap.dedent(
        f"""
        import bpy, json, runpy
        runpy.run_path({str(script)!r})
        scene = bpy.context.scene
        dof = scene.camera.data.dof
        values = {{}}
        for frame in (1, 13, 25, 40, 60):
            scene.frame_set(frame)
            values[frame] = [dof.focus_distance, dof.aperture_fstop, dof.use_dof]
        json.dump(values, open({str(out_json)!r}, "w"))
        """
    )
    subprocess.run([blender, "-b", "--factory-startup", "--python-expr", check],
                   check=True, capture_output=True, timeout=300)
    values = json.loads(out_json.read_text())
    stops = track.bake_f_stop(60)
    assert stops is not None
    for frame, (distance, fstop, use_dof) in values.items():
        n = int(frame) - 1
        assert distance == pytest.approx(track.bake(60)[n], rel=1e-6)  # Blender stores float32
        assert fstop == pytest.approx(stops[n], rel=1e-6)
        assert use_dof is True


# -- After Effects -------------------------------------------------------------------------------


def test_ae_text_layout_and_values() -> None:
    track = pull()
    lens = LensState(focal_length_mm=50.0, sensor_width_mm=36.0)
    text = ae_keyframe_text(track, 48, width=1920, height=1080, lens=lens)
    lines = text.split("\r\n")
    assert lines[:10] == [
        "Adobe After Effects 8.0 Keyframe Data",
        "",
        "\tUnits Per Second\t23.976",
        "\tSource Width\t1920",
        "\tSource Height\t1080",
        "\tSource Pixel Aspect Ratio\t1",
        "\tComp Pixel Aspect Ratio\t1",
        "",
        "Camera Options\tFocus Distance",
        "\tFrame\tpixels\t",
    ]
    assert lines[-2] == "End of Keyframe Data" and "\n" not in text.replace("\r\n", "")
    rows = parse_ae_focus(text)
    assert [f for f, _ in rows] == list(range(48))
    scale = 1920 / 0.036
    np.testing.assert_allclose([px for _, px in rows], track.bake(48) * scale, atol=1e-4)


def test_ae_default_scale_is_zoom_over_focal_length() -> None:
    lens = LensState(focal_length_mm=35.0, sensor_width_mm=24.89)
    zoom_px = 35.0 * 3840 / 24.89  # AE camera Zoom for this lens on a 3840 px comp
    assert ae_pixels_per_metre(lens, 3840) == pytest.approx(zoom_px / 0.035)
    track = FocusTrack([Key(0.0, 2.0)], fps=Fraction(25))
    text = ae_keyframe_text(track, 1, width=3840, height=2160, lens=lens)
    assert parse_ae_focus(text)[0][1] == pytest.approx(2.0 * zoom_px / 0.035, abs=1e-4)
    custom = ae_keyframe_text(track, 1, pixels_per_metre=100.0)
    assert "Units Per Second\t25\r\n" in custom and parse_ae_focus(custom) == [(0, 200.0)]
    with pytest.raises(InputError):
        ae_keyframe_text(track, 1, pixels_per_metre=-1.0)


def test_exports_refuse_an_empty_track() -> None:
    with pytest.raises(InputError, match="no keys"):
        csv_text(FocusTrack(), 10)
