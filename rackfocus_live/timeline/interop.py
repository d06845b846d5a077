"""Focus pulls to and from other tools: CSV, a Blender script, After Effects keyframe text.

All exports are per frame (the baked track), so any tool reproduces the pull exactly at frames
whatever its own interpolation. Formats are described in docs/formats.md.

After Effects has no metres: its camera works in pixels. The conversion used here is

    pixels = metres * pixels_per_metre,  default pixels_per_metre = width_px / sensor_width_m

which equals AE's camera ``Zoom`` (px) divided by the focal length (m): the scale at which an AE
camera with the lens's zoom sees a subject at the same size as the real lens does. So an AE layer
placed at the subject's distance in these units (with the camera's Zoom matching the lens) is
exactly in focus. Pass ``pixels_per_metre`` to use another scene scale.
"""

from __future__ import annotations

import csv
import io
import math
import os
from fractions import Fraction
from pathlib import Path

import numpy as np

from rackfocus_live import __version__
from rackfocus_live.errors import InputError
from rackfocus_live.files import atomic_write, read_bytes_capped
from rackfocus_live.lens import LensState
from rackfocus_live.timeline.easing import LINEAR
from rackfocus_live.timeline.keyframes import (
    MAX_FOCUS_M,
    TIME_EPS,
    FloatArray,
    FocusTrack,
    Key,
    Space,
    frame_times,
)

CSV_COLUMNS = ("frame", "time", "focus_m", "f_stop")


def _baked(
    track: FocusTrack, frame_count: int, fps: Fraction | None
) -> tuple[Fraction, FloatArray, FloatArray, FloatArray | None]:
    if not track.keys:
        raise InputError("the focus track has no keys")
    r = fps or track.fps
    return r, frame_times(frame_count, r), track.bake(frame_count, r), track.bake_f_stop(
        frame_count, r)


def _write_text(path: str | os.PathLike[str], text: str) -> None:
    atomic_write(path, text.encode("utf-8"))


# -- CSV -----------------------------------------------------------------------------------------


def csv_text(track: FocusTrack, frame_count: int, fps: Fraction | None = None) -> str:
    """``frame,time,focus_m,f_stop`` per frame; f_stop empty when the track has none."""
    _, times, focus, stops = _baked(track, frame_count, fps)
    out = io.StringIO()
    out.write(",".join(CSV_COLUMNS) + "\n")
    for i in range(frame_count):
        stop = "" if stops is None else repr(float(stops[i]))
        out.write(f"{i},{float(times[i])!r},{float(focus[i])!r},{stop}\n")
    return out.getvalue()


def export_csv(
    path: str | os.PathLike[str], track: FocusTrack, frame_count: int, fps: Fraction | None = None
) -> None:
    """Write ``csv_text`` to ``path`` (atomically)."""
    _write_text(path, csv_text(track, frame_count, fps))


def parse_csv(
    text: str,
    source: str | os.PathLike[str] | None = None,
    *,
    fps: Fraction | None = None,
    space: Space = "inverse",
) -> FocusTrack:
    """A track with one linear key per CSV row (exact at those rows).

    Columns are found by header name: ``focus_m`` and ``time`` or ``frame`` are required,
    ``f_stop`` is optional (empty cells mean none). ``time`` wins over ``frame``. Without
    ``fps``, the frame rate is inferred from rows that have both a frame and a time (else 24).

    Raises:
        InputError: naming the line and column of the first bad cell.
    """
    try:
        # newline="": the csv module handles \r, \n and \r\n line ends itself.
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise InputError(f"not a readable CSV ({exc})", source) from None
    if not rows:
        raise InputError("empty CSV (expected a header: frame,time,focus_m,f_stop)", source)
    header = [h.strip().lower() for h in rows[0]]
    col = {name: header.index(name) for name in CSV_COLUMNS if name in header}
    if "focus_m" not in col or not ({"time", "frame"} & col.keys()):
        raise InputError(f"line 1: header needs focus_m and time or frame, got {rows[0]}", source)

    def cell(row: list[str], line: int, name: str) -> str:
        i = col.get(name)
        return row[i].strip() if i is not None and i < len(row) else ""

    def number(text: str, line: int, name: str, *, positive: bool) -> float:
        try:
            x = float(text)
        except ValueError:
            raise InputError(f"line {line}: {name}: expected a number, got {text!r}",
                             source) from None
        if not math.isfinite(x) or (positive and not 0 < x <= MAX_FOCUS_M):
            raise InputError(f"line {line}: {name}: out of range ({text})", source)
        return x

    parsed: list[tuple[int, float | None, int | None, float, float | None]] = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        t_txt, f_txt = cell(row, line, "time"), cell(row, line, "frame")
        t = number(t_txt, line, "time", positive=False) if t_txt else None
        frame = None
        if f_txt:
            x = number(f_txt, line, "frame", positive=False)
            if not x.is_integer() or abs(x) > 1e9:
                raise InputError(f"line {line}: frame: expected an integer, got {f_txt!r}",
                                 source)
            frame = int(x)
        if t is None and frame is None:
            raise InputError(f"line {line}: needs a time or a frame", source)
        focus = number(cell(row, line, "focus_m"), line, "focus_m", positive=True)
        s_txt = cell(row, line, "f_stop")
        stop = number(s_txt, line, "f_stop", positive=True) if s_txt else None
        parsed.append((line, t, frame, focus, stop))
    if not parsed:
        raise InputError("no rows after the header", source)
    rate = fps or _infer_fps(parsed)
    keys: list[Key] = []
    for line, t, frame, focus, stop in parsed:
        time_s = t if t is not None else float(Fraction(frame or 0) / rate)
        # Keys closer than TIME_EPS are one instant to the track: refuse them here, by line.
        if keys and time_s <= keys[-1].time + TIME_EPS:
            raise InputError(f"line {line}: time must increase from row to row", source)
        keys.append(Key(time_s, focus, stop, LINEAR))
    try:
        return FocusTrack(keys, fps=rate, space=space)
    except ValueError as exc:  # a limit of the track the checks above do not know about
        raise InputError(f"not a usable focus track ({exc})", source) from None


def _infer_fps(parsed: list[tuple[int, float | None, int | None, float, float | None]]) -> Fraction:
    for _, t, frame, _, _ in reversed(parsed):
        # frame / t overflows to inf for a subnormal t (1e-320): no rate to infer from that.
        if t is not None and frame is not None and frame > 0 and t > 0 and \
                math.isfinite(frame / t):
            guess = Fraction(frame / t).limit_denominator(1001)
            if 0 < guess <= 1000:
                return guess
    return Fraction(24)


def import_csv(
    path: str | os.PathLike[str], *, fps: Fraction | None = None, space: Space = "inverse"
) -> FocusTrack:
    """Read a CSV file into a track (see ``parse_csv``)."""
    data = read_bytes_capped(path, "a CSV file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path) from None
    return parse_csv(text, path, fps=fps, space=space)


# -- Blender -------------------------------------------------------------------------------------

_BLENDER_TEMPLATE = '''\
# Focus pull from rackfocus-live {version}{source}.
# Keys the depth of field of the scene's active camera (or CAMERA) on every frame:
# dof.focus_distance (metres converted to scene units) and dof.aperture_fstop.
# Run it in Blender's Scripting workspace, or: blender FILE.blend --python THIS.py
import bpy

FPS = ({num}, {den})  # frame rate of the pull, as a rational
FRAME_START = {frame_start}  # Blender frame of the clip's first frame
CAMERA = {camera!r}  # object name, or None for the scene camera
SET_SCENE_FPS = {set_fps!r}
FOCUS_M = {focus}
F_STOP = {f_stop}


def main():
    scene = bpy.context.scene
    cam = bpy.data.objects.get(CAMERA) if CAMERA else scene.camera
    if cam is None or cam.type != "CAMERA":
        raise RuntimeError("rackfocus-live: no camera to key (set the scene camera or CAMERA)")
    if SET_SCENE_FPS:
        fps = -(-FPS[0] // FPS[1])  # Blender's fps is an integer; fps_base makes it exact
        scene.render.fps = fps
        scene.render.fps_base = fps * FPS[1] / FPS[0]
    dof = cam.data.dof
    dof.use_dof = True
    dof.focus_object = None  # a focus object would override the keyed distance
    metres_per_unit = scene.unit_settings.scale_length or 1.0
    edit = bpy.context.preferences.edit
    old_interp = edit.keyframe_new_interpolation_type
    edit.keyframe_new_interpolation_type = "LINEAR"  # keys are per frame: no overshoot between
    try:
        for i, metres in enumerate(FOCUS_M):
            frame = FRAME_START + i
            dof.focus_distance = metres / metres_per_unit
            dof.keyframe_insert("focus_distance", frame=frame)
            if F_STOP is not None:
                dof.aperture_fstop = F_STOP[i]
                dof.keyframe_insert("aperture_fstop", frame=frame)
    finally:
        edit.keyframe_new_interpolation_type = old_interp
    print("rackfocus-live: keyed %d frames on %s" % (len(FOCUS_M), cam.name))


main()
'''


def blender_script(
    track: FocusTrack,
    frame_count: int,
    fps: Fraction | None = None,
    *,
    frame_start: int = 1,
    camera: str | None = None,
    set_scene_fps: bool = True,
    source: str | None = None,
) -> str:
    """Python source that keys a Blender camera's focus distance and f-stop on every frame.

    Args:
        track: the pull.
        frame_count: frames to key (the clip's frame count).
        fps: frame rate (default: the track's).
        frame_start: Blender frame number of the clip's frame 0 (Blender starts at 1).
        camera: camera object name; None keys the scene's active camera.
        set_scene_fps: also set the scene's frame rate to the clip's.
        source: name of the keyframe file, for the header comment.
    """
    r, _, focus, stops = _baked(track, frame_count, fps)
    return _BLENDER_TEMPLATE.format(
        version=__version__,
        source=f" ({Path(source).name})" if source else "",
        num=r.numerator,
        den=r.denominator,
        frame_start=int(frame_start),
        camera=camera,
        set_fps=bool(set_scene_fps),
        focus=_float_list(focus),
        f_stop="None" if stops is None else _float_list(stops),
    )


def _float_list(values: FloatArray) -> str:
    return "[" + ", ".join(repr(float(v)) for v in values) + "]"


def export_blender(path: str | os.PathLike[str], track: FocusTrack, frame_count: int,
                   fps: Fraction | None = None, **options: object) -> None:
    """Write ``blender_script`` to ``path`` (options as in ``blender_script``)."""
    _write_text(path, blender_script(track, frame_count, fps, source=os.fspath(path),
                                     **options))  # type: ignore[arg-type]


# -- After Effects -------------------------------------------------------------------------------


def ae_pixels_per_metre(lens: LensState, width_px: int) -> float:
    """Default metres -> AE pixels scale: width / sensor width = camera Zoom / focal length."""
    return width_px / (lens.sensor_width_mm * 1e-3)


def ae_keyframe_text(
    track: FocusTrack,
    frame_count: int,
    fps: Fraction | None = None,
    *,
    width: int = 1920,
    height: int = 1080,
    pixels_per_metre: float | None = None,
    lens: LensState | None = None,
) -> str:
    """After Effects keyframe clipboard text for a camera's Focus Distance, one key per frame.

    Paste it onto a camera layer (select the layer, then Edit > Paste). Frames count from the
    layer's in point. The text uses CR LF line ends, as AE writes it.

    Args:
        track: the pull.
        frame_count: frames to key.
        fps: frame rate (default: the track's).
        width: comp width in pixels (also used for the default scale).
        height: comp height in pixels.
        pixels_per_metre: metres -> AE pixels; default ``ae_pixels_per_metre(lens, width)``.
        lens: the lens for the default scale (default: LensState(), a 36 mm wide sensor).
    """
    if not (width > 0 and height > 0):
        raise InputError("After Effects comp width and height must be > 0")
    scale = pixels_per_metre or ae_pixels_per_metre(lens or LensState(), width)
    if not (math.isfinite(scale) and scale > 0):
        raise InputError("pixels per metre must be > 0")
    r, _, focus, _ = _baked(track, frame_count, fps)
    ups = f"{float(r):.3f}".rstrip("0").rstrip(".")
    lines = [
        "Adobe After Effects 8.0 Keyframe Data",
        "",
        f"\tUnits Per Second\t{ups}",
        f"\tSource Width\t{width}",
        f"\tSource Height\t{height}",
        "\tSource Pixel Aspect Ratio\t1",
        "\tComp Pixel Aspect Ratio\t1",
        "",
        "Camera Options\tFocus Distance",
        "\tFrame\tpixels\t",
    ]
    px = np.asarray(focus) * scale
    lines += [f"\t{i}\t{_ae_number(float(v))}\t" for i, v in enumerate(px)]
    lines += ["", "", "End of Keyframe Data", ""]
    return "\r\n".join(lines)


def _ae_number(x: float) -> str:
    # AE writes up to ~7 significant digits; more is harmless but noisy.
    return f"{x:.4f}".rstrip("0").rstrip(".")


def parse_ae_focus(text: str) -> list[tuple[int, float]]:
    """(frame, pixels) rows of the Focus Distance block of AE keyframe text (for tests/tools)."""
    rows: list[tuple[int, float]] = []
    lines = text.replace("\r\n", "\n").split("\n")
    try:
        start = lines.index("Camera Options\tFocus Distance") + 2
    except ValueError:
        return rows
    for line in lines[start:]:
        parts = line.strip("\t").split("\t")
        if len(parts) != 2:
            break
        rows.append((int(parts[0]), float(parts[1])))
    return rows
