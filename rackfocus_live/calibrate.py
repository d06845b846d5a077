"""Calibrating relative depth from known distances: "the actor is at 2.4 m, the wall at 8 m".

Pure numpy. Every convention maps its samples to inverse depth through a mapping with free
parameters (near/far, or scale); calibration solves them from points whose true distance the user
knows, sampled in the inverse depth the current mapping gives:

* disparity: true inverse depth is affine in the mapped one (w = a + b * w_map), so two points fix
  near and far; more are fitted by least squares.
* normalized: true metres are affine in the mapped metres (z = a + b * z_map).
* metric: only the scale is free (z = s * z_map), one point is enough.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from rackfocus_live.depth import DepthMapping, window_around
from rackfocus_live.errors import InputError

_POINT_RE = re.compile(r"^\s*([0-9.]+)\s*,\s*([0-9.]+)\s*=\s*([0-9.eE+-]+)\s*m?\s*$")
#: Half-size of the window whose median is a point's depth (in depth samples): a click lands
#: within a few pixels of the edge it means.
WINDOW = 2


@dataclass(frozen=True, slots=True)
class CalibrationPoint:
    """A pixel of the colour frame (x right, y down, from the top-left) and its distance (m)."""

    x: float
    y: float
    metres: float


def parse_point(text: str) -> CalibrationPoint:
    """``X,Y=M`` (``--calibrate 640,360=2.4``) to a point; InputError naming the text if bad."""
    m = _POINT_RE.match(text)
    if not m:
        raise InputError(f"--calibrate '{text}': expected X,Y=METRES (e.g. 640,360=2.4)")
    x, y, metres = float(m.group(1)), float(m.group(2)), float(m.group(3))
    if not (math.isfinite(metres) and metres > 0):
        raise InputError(f"--calibrate '{text}': the distance must be > 0 m")
    return CalibrationPoint(x, y, metres)


def sample_at(
    inv_depth: npt.NDArray[np.float32], point: CalibrationPoint, frame_size: tuple[int, int]
) -> float:
    """Median inverse depth around ``point`` (colour pixel coordinates, ``frame_size`` = (w, h)),
    at the depth's own resolution."""
    h, w = inv_depth.shape
    fw, fh = frame_size
    if not (0 <= point.x < fw and 0 <= point.y < fh):
        raise InputError(f"--calibrate point {point.x:g},{point.y:g} is outside the "
                         f"{fw}x{fh} frame")
    # The point at the depth's resolution, its window cut at the borders as click-to-focus's.
    win = window_around(inv_depth, min(w - 1, point.x * w / fw), min(h - 1, point.y * h / fh),
                        WINDOW)
    return float(np.median(np.asarray(win, np.float64)))


def solve(mapping: DepthMapping, mapped: list[float], metres: list[float]) -> DepthMapping:
    """The mapping under which the points' mapped inverse depths become their true distances.

    Args:
        mapping: the mapping ``mapped`` was computed with.
        mapped: inverse depth (1/m) at each point under ``mapping``.
        metres: the true distance of each point.

    Raises:
        InputError: too few points, points at the same mapped depth, or a solution that puts
            near or far behind the camera (the points contradict each other).
    """
    w_map = np.asarray(mapped, np.float64)
    z_true = np.asarray(metres, np.float64)
    if mapping.kind == "metric":
        if len(z_true) < 1:
            raise InputError("calibrating metric depth needs at least one point")
        # z_true = s * z_map = s / w_map, least squares in s.
        z_map = 1.0 / np.maximum(w_map, 1e-12)
        s = float((z_true * z_map).sum() / (z_map * z_map).sum())
        if mapping.scale is None:
            raise InputError("calibrating metric depth needs --depth-scale (the file's unit)")
        return replace(mapping, scale=mapping.scale * s)
    if len(z_true) < 2:
        raise InputError(f"calibrating {mapping.kind} depth needs two points at different depths")
    if float(np.ptp(w_map)) <= 1e-9:
        raise InputError("the calibration points have the same depth in the map: pick points "
                         "at different distances")
    if mapping.kind == "disparity":
        b, a = np.polyfit(w_map, 1.0 / z_true, 1)
        inv_near = a + b / mapping.near
        inv_far = a + b / mapping.far if math.isfinite(mapping.far) else a
        if inv_near <= 0 or inv_far < -1e-9 or inv_near <= inv_far:
            raise InputError("the calibration distances contradict the depth map (the nearer "
                             "point must be brighter in disparity)")
        far = math.inf if inv_far <= 1e-9 else 1.0 / inv_far
        return replace(mapping, near=1.0 / inv_near, far=far)
    b, a = np.polyfit(1.0 / w_map, z_true, 1)
    near, far = a + b * mapping.near, a + b * mapping.far
    if near <= 0 or far <= near:
        raise InputError("the calibration distances contradict the depth map (the nearer "
                         "point must be darker in normalized depth)")
    return replace(mapping, near=float(near), far=float(far))


def calibrate(
    mapping: DepthMapping,
    inv_depth: npt.NDArray[np.float32],
    points: list[CalibrationPoint],
    frame_size: tuple[int, int],
) -> DepthMapping:
    """``solve`` with the points sampled from ``inv_depth`` (computed with ``mapping``)."""
    mapped = [sample_at(inv_depth, p, frame_size) for p in points]
    return solve(mapping, mapped, [p.metres for p in points])
