"""Follow one subject from frame to frame: optical flow on its texture, gated by its depth.

The subject is picked by a click: the depth under the click, grown over the connected pixels of
about the same depth, gives its first box and mask. Each frame then:

1. Corner features inside the subject (``cv2.goodFeaturesToTrack`` on the mask) are followed
   with pyramidal Lucas-Kanade flow; a point survives only if tracking it back lands within a
   pixel of where it started (forward-backward check) and its new depth lies in the subject's
   depth band. Points that slid onto an occluder passing in front, or onto a distractor behind,
   fail the depth test even when their colour matches.
2. The box moves by the median displacement of the survivors and scales by the median ratio
   of their pairwise distances (median flow), so a partly hidden subject still moves right.
3. The subject's depth is the band-gated median of the box (``subject_depth``); the band follows
   the subject's own depth velocity.
4. Lost: too few points and too little of the box at the subject's depth (fully hidden), or most
   of the box outside the picture. While lost the box coasts at its last velocity and each frame
   looks for the subject again by template matching around it, accepted only where the depth
   agrees too. Features are topped up from depth-consistent pixels while tracking.

A ``SubjectTracker`` works on ``TrackFrame``s at one working resolution; it owns no files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum

import cv2
import numpy as np
import numpy.typing as npt

from rackfocus_live.tracking.subject_depth import (
    depth_band,
    near_side_inverse_depth,
    region_inverse_depth,
    robust_spread,
)

Box = tuple[float, float, float, float]  # x, y, width, height (pixels, top-left origin)
Points = npt.NDArray[np.float32]  # N x 1 x 2, OpenCV's layout


class TrackStatus(IntEnum):
    """What happened to the subject at one frame."""

    NONE = 0  # not tracked (outside the tracked range)
    TRACKED = 1
    HIDDEN = 2  # lost: fully occluded or no longer recognisable
    OUT_OF_FRAME = 3  # lost: left the picture


@dataclass(frozen=True, slots=True)
class TrackFrame:
    """One frame at the working resolution.

    Attributes:
        index: clip frame index.
        luma: HxW uint8 luma.
        inv_depth: HxW float32 inverse depth (1/m), same size as ``luma``.
    """

    index: int
    luma: npt.NDArray[np.uint8]
    inv_depth: npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Observation:
    """The tracker's answer for one frame (box in working pixels; w NaN when lost)."""

    index: int
    box: Box
    inv_depth: float
    status: TrackStatus
    points: int


@dataclass(frozen=True, slots=True)
class TrackerParams:
    """Tuning; the defaults suit 320-640 px wide working frames."""

    max_points: int = 80
    min_points: int = 4
    fb_max_px: float = 1.0
    lk_window: int = 0  # 0: about 2 % of the frame width
    lk_levels: int = 2
    min_subject_fraction: float = 0.12  # of the box at the subject's depth, to count as seen
    min_visible_fraction: float = 0.35  # of the box inside the picture
    reacquire_ncc: float = 0.55
    max_box_fraction: float = 0.6  # the first box is at most this part of each image side
    max_scale_step: float = 0.08  # per frame


# Started from the predicted motion, LK converges in a few iterations.
_LK_CRITERIA = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 10, 0.03)


def _clip_box(box: Box, width: int, height: int) -> tuple[int, int, int, int]:
    """Integer pixel bounds (x0, y0, x1, y1) of ``box`` inside the picture (may be empty)."""
    x, y, w, h = box
    x0, y0 = max(math.floor(x), 0), max(math.floor(y), 0)
    x1, y1 = min(math.ceil(x + w), width), min(math.ceil(y + h), height)
    return x0, y0, max(x1, x0), max(y1, y0)


def visible_fraction(box: Box, width: int, height: int) -> float:
    x0, y0, x1, y1 = _clip_box(box, width, height)
    area = box[2] * box[3]
    return 0.0 if area <= 0 else (x1 - x0) * (y1 - y0) / area


def seed_region(frame: TrackFrame, x: float, y: float,
                params: TrackerParams) -> tuple[Box, float, float]:
    """The subject under a click: its box, inverse depth and depth spread.

    The pixels connected to the click whose depth is within a band of the depth under it form
    the subject; a component that runs to the window's edges (a wall, the floor) is cut to a
    window of a fifth of the picture around the click.
    """
    h, w = frame.inv_depth.shape
    cx, cy = min(max(int(x), 0), w - 1), min(max(int(y), 0), h - 1)
    r = 2
    patch = frame.inv_depth[max(cy - r, 0): cy + r + 1, max(cx - r, 0): cx + r + 1]
    w0 = float(np.median(patch))
    half_w = max(int(params.max_box_fraction * w / 2), 8)
    half_h = max(int(params.max_box_fraction * h / 2), 8)
    x0, y0 = max(cx - half_w, 0), max(cy - half_h, 0)
    x1, y1 = min(cx + half_w + 1, w), min(cy + half_h + 1, h)
    window = frame.inv_depth[y0:y1, x0:x1]
    band = depth_band(w0, 0.0) * 1.5
    mask = (np.abs(window - w0) <= band).astype(np.uint8)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
    label = labels[cy - y0, cx - x0]
    if label == 0:  # the click sits on a depth edge: fall back to a small box
        size = max(min(w, h) // 10, 12)
        return (cx - size / 2, cy - size / 2, size, size), w0, 0.0
    bx, by, bw, bh, _ = (int(v) for v in stats[label])
    comp = labels == label
    values = window[comp]
    spread = robust_spread(values.astype(np.float64))
    w_subject, _ = region_inverse_depth(values, w0, depth_band(w0, spread))
    if not math.isfinite(w_subject):
        w_subject = near_side_inverse_depth(values)
    return (float(x0 + bx), float(y0 + by), float(bw), float(bh)), w_subject, spread


class SubjectTracker:
    """Tracks one subject through consecutive frames (either direction)."""

    def __init__(self, params: TrackerParams | None = None) -> None:
        self.params = params or TrackerParams()
        self._prev: npt.NDArray[np.uint8] | None = None
        self._points: Points = np.empty((0, 1, 2), np.float32)
        self._box: Box = (0.0, 0.0, 1.0, 1.0)
        self._velocity = (0.0, 0.0)
        self._w = math.nan
        self._w_velocity = 0.0
        self._spread = 0.0
        self._template: npt.NDArray[np.uint8] | None = None
        self._template_w = 0.0
        self._lost_for = 0

    @property
    def box(self) -> Box:
        return self._box

    def start(self, frame: TrackFrame, x: float, y: float) -> Observation:
        """Pick the subject at (x, y) in working pixels of ``frame``."""
        box, w0, spread = seed_region(frame, x, y, self.params)
        self._box, self._w, self._spread = box, w0, spread
        self._velocity, self._w_velocity, self._lost_for = (0.0, 0.0), 0.0, 0
        self._prev = frame.luma
        self._points = np.empty((0, 1, 2), np.float32)
        self._add_features(frame)
        self._keep_template(frame)
        return Observation(frame.index, box, w0, TrackStatus.TRACKED, len(self._points))

    # -- per frame ---------------------------------------------------------------------------

    def step(self, frame: TrackFrame) -> Observation:
        """Follow the subject into ``frame`` (the next frame in the tracking direction)."""
        if self._prev is None:
            raise RuntimeError("start() first")
        p = self.params
        height, width = frame.luma.shape
        # While lost, the subject keeps its motion: depth and position are extrapolated from
        # the last seen frame, and the box scales with inverse depth (image size ~ 1/z).
        steps = self._lost_for + 1
        w_pred = max(self._w + self._w_velocity * steps, 0.25 * self._w)
        band = depth_band(w_pred, self._spread) * (1.0 + 0.1 * min(self._lost_for, 10))
        old_box = self._box
        moved = self._flow(frame, w_pred, band) if self._lost_for == 0 else None
        if moved is not None:
            self._box = moved
        else:
            x, y, bw, bh = self._box
            grow = (self._w + self._w_velocity * steps) / (self._w + self._w_velocity * (steps - 1))
            grow = min(max(grow, 0.9), 1.1) if math.isfinite(grow) else 1.0
            cx = x + bw / 2 + self._velocity[0]
            cy = y + bh / 2 + self._velocity[1]
            self._box = (cx - bw * grow / 2, cy - bh * grow / 2, bw * grow, bh * grow)
        status = TrackStatus.TRACKED
        w_meas, fraction = math.nan, 0.0
        if visible_fraction(self._box, width, height) < p.min_visible_fraction:
            status = TrackStatus.OUT_OF_FRAME
        else:
            if moved is None and self._lost_for > 0 and self._reacquire(frame, w_pred, band):
                self._lost_for = 1  # found by its look: trust it like a fresh loss
            w_meas, fraction = self._measure(frame, w_pred, band)
            # With the flow (or straight after it), a little of the box at the subject's depth
            # is enough: the rest is behind an occluder. Coasting longer, ask for more.
            need = p.min_subject_fraction * (1.0 if self._lost_for <= 1 else 2.0)
            if not (math.isfinite(w_meas) and fraction >= need):
                status = TrackStatus.HIDDEN
        if status is TrackStatus.TRACKED:
            self._commit(frame, old_box, w_meas, band, fraction, moved is not None)
        else:
            self._lost_for += 1
            self._points = np.empty((0, 1, 2), np.float32)
            w_meas = math.nan
        self._prev = frame.luma
        return Observation(frame.index, self._box, w_meas, status, len(self._points))

    def _commit(self, frame: TrackFrame, old_box: Box, w_meas: float, band: float,
                fraction: float, flowed: bool) -> None:
        if self._lost_for == 0 and flowed:
            cx0, cy0 = old_box[0] + old_box[2] / 2, old_box[1] + old_box[3] / 2
            cx1, cy1 = self._box[0] + self._box[2] / 2, self._box[1] + self._box[3] / 2
            vx, vy = self._velocity
            self._velocity = (0.6 * vx + 0.4 * (cx1 - cx0), 0.6 * vy + 0.4 * (cy1 - cy0))
            self._w_velocity = 0.7 * self._w_velocity + 0.3 * (w_meas - self._w)
        # Coasting or just re-acquired: the motion learnt before stays the best prediction.
        self._w = w_meas
        self._lost_for = 0
        if len(self._points) < self.params.max_points * 0.6:
            self._add_features(frame, band)
        if len(self._points) >= self.params.max_points * 0.3 and fraction >= 0.5:
            self._keep_template(frame)  # only a clear view: no occluder in the picture of it

    def _flow(self, frame: TrackFrame, w_pred: float, band: float) -> Box | None:
        """The box moved by the points' median flow, or None with too few good points."""
        p = self.params
        assert self._prev is not None
        if len(self._points) < p.min_points:
            self._points = np.empty((0, 1, 2), np.float32)
            return None
        # A window of about 2 % of the width: big enough for texture, small enough that an
        # occluder's edge sweeping past corrupts few points.
        side = p.lk_window or max(9, round(frame.luma.shape[1] / 45)) | 1
        win = (side, side)
        # Start from the predicted motion: then a few pyramid levels suffice, and coarse levels
        # (whose window would span an occluder sweeping past) cannot drag points along with it.
        guess = self._points + np.array(self._velocity, np.float32).reshape(1, 1, 2)
        new_m, st, _ = cv2.calcOpticalFlowPyrLK(self._prev, frame.luma, self._points, guess,
                                                winSize=win, maxLevel=p.lk_levels,
                                                criteria=_LK_CRITERIA,
                                                flags=cv2.OPTFLOW_USE_INITIAL_FLOW)
        new = np.asarray(new_m, np.float32)
        back_m, st_back, _ = cv2.calcOpticalFlowPyrLK(frame.luma, self._prev, new,
                                                      self._points.copy(), winSize=win,
                                                      maxLevel=p.lk_levels,
                                                      criteria=_LK_CRITERIA,
                                                      flags=cv2.OPTFLOW_USE_INITIAL_FLOW)
        back = np.asarray(back_m, np.float32)
        st, st_back = np.asarray(st), np.asarray(st_back)
        height, width = frame.luma.shape
        fb = np.linalg.norm((back - self._points).reshape(-1, 2), axis=1)
        xy = new.reshape(-1, 2)
        good = (st.ravel() == 1) & (st_back.ravel() == 1) & (fb <= p.fb_max_px)
        good &= (xy[:, 0] >= 0) & (xy[:, 0] <= width - 1)
        good &= (xy[:, 1] >= 0) & (xy[:, 1] <= height - 1)
        xi = np.clip(np.rint(xy[:, 0]).astype(np.intp), 0, width - 1)
        yi = np.clip(np.rint(xy[:, 1]).astype(np.intp), 0, height - 1)
        good &= np.abs(frame.inv_depth[yi, xi] - w_pred) <= band
        if np.count_nonzero(good) < p.min_points:
            self._points = np.empty((0, 1, 2), np.float32)
            return None
        old_xy = self._points.reshape(-1, 2)[good]
        new_xy = xy[good]
        shift = np.median(new_xy - old_xy, axis=0)
        scale = _median_scale(old_xy, new_xy)
        scale = min(max(scale, 1.0 - p.max_scale_step), 1.0 + p.max_scale_step)
        x, y, bw, bh = self._box
        cx, cy = x + bw / 2 + float(shift[0]), y + bh / 2 + float(shift[1])
        bw, bh = bw * scale, bh * scale
        # Points far outside the moved box were carried off by something else: drop them.
        inside = ((new_xy[:, 0] >= cx - bw * 0.6) & (new_xy[:, 0] <= cx + bw * 0.6)
                  & (new_xy[:, 1] >= cy - bh * 0.6) & (new_xy[:, 1] <= cy + bh * 0.6))
        self._points = new_xy[inside].reshape(-1, 1, 2).astype(np.float32)
        return (cx - bw / 2, cy - bh / 2, bw, bh)

    def _measure(self, frame: TrackFrame, w_pred: float, band: float) -> tuple[float, float]:
        height, width = frame.luma.shape
        x0, y0, x1, y1 = _clip_box(self._box, width, height)
        if x1 <= x0 or y1 <= y0:
            return math.nan, 0.0
        w, fraction = region_inverse_depth(frame.inv_depth[y0:y1, x0:x1], w_pred, band)
        # Only the visible part of the box can hold the subject.
        return w, fraction * visible_fraction(self._box, width, height)

    def _add_features(self, frame: TrackFrame, band: float | None = None) -> None:
        p = self.params
        height, width = frame.luma.shape
        x0, y0, x1, y1 = _clip_box(self._box, width, height)
        if x1 - x0 < 4 or y1 - y0 < 4:
            return
        mask = np.zeros((height, width), np.uint8)
        if band is None:
            band = depth_band(self._w, self._spread)
        region = np.abs(frame.inv_depth[y0:y1, x0:x1] - self._w) <= band
        mask[y0:y1, x0:x1] = region.astype(np.uint8) * 255
        for px, py in self._points.reshape(-1, 2):
            cv2.circle(mask, (int(px), int(py)), 4, 0, -1)
        want = p.max_points - len(self._points)
        if want <= 0:
            return
        min_dist = max(3.0, min(x1 - x0, y1 - y0) / 20)
        found = cv2.goodFeaturesToTrack(frame.luma, maxCorners=want, qualityLevel=0.01,
                                        minDistance=min_dist, mask=mask, blockSize=5)
        if found is not None:
            self._points = np.concatenate([self._points, found.astype(np.float32)])

    def _keep_template(self, frame: TrackFrame) -> None:
        height, width = frame.luma.shape
        x0, y0, x1, y1 = _clip_box(self._box, width, height)
        if x1 - x0 >= 8 and y1 - y0 >= 8:
            self._template = frame.luma[y0:y1, x0:x1].copy()
            self._template_w = self._w

    def _reacquire(self, frame: TrackFrame, w_pred: float, band: float) -> bool:
        """Look for the subject's last clear appearance around the coasting box, scaled by how
        much nearer it is predicted to be; accepted only at the subject's predicted depth."""
        if self._template is None:
            return False
        height, width = frame.luma.shape
        x, y, bw, bh = self._box
        cx, cy = x + bw / 2, y + bh / 2
        base = w_pred / self._template_w if self._template_w > 0 else 1.0
        best_score, best_box = -1.0, None
        for s in (0.92 * base, base, 1.08 * base):
            th, tw = (max(round(v * s), 8) for v in self._template.shape)
            tpl = cv2.resize(self._template, (tw, th), interpolation=cv2.INTER_AREA)
            reach = max(tw, th) * (1.0 + 0.25 * min(self._lost_for, 8))
            sx0, sy0 = max(int(cx - reach), 0), max(int(cy - reach), 0)
            sx1, sy1 = min(int(cx + reach), width), min(int(cy + reach), height)
            if sx1 - sx0 <= tw or sy1 - sy0 <= th:
                continue
            scores = cv2.matchTemplate(frame.luma[sy0:sy1, sx0:sx1], tpl, cv2.TM_CCOEFF_NORMED)
            _, score, _, (bx, by) = cv2.minMaxLoc(scores)
            if score > best_score:
                best_score = score
                best_box = (float(sx0 + bx), float(sy0 + by), float(tw), float(th))
        if best_box is None or best_score < self.params.reacquire_ncc:
            return False
        bx0, by0, bx1, by1 = _clip_box(best_box, width, height)
        _, fraction = region_inverse_depth(frame.inv_depth[by0:by1, bx0:bx1], w_pred, band)
        if fraction < 2 * self.params.min_subject_fraction:
            return False
        self._box = best_box
        self._points = np.empty((0, 1, 2), np.float32)
        return True


def _median_scale(old_xy: npt.NDArray[np.float32], new_xy: npt.NDArray[np.float32]) -> float:
    """Median ratio of pairwise distances after/before (1 for fewer than 2 points)."""
    n = len(old_xy)
    if n < 2:
        return 1.0
    rng = np.random.default_rng(n)  # a fixed subset: deterministic, O(n) pairs
    i = rng.integers(0, n, size=min(n * 4, 400))
    j = rng.integers(0, n, size=i.size)
    d_old = np.linalg.norm(old_xy[i] - old_xy[j], axis=1)
    d_new = np.linalg.norm(new_xy[i] - new_xy[j], axis=1)
    ok = d_old > 4.0
    if np.count_nonzero(ok) < 3:
        return 1.0
    return float(np.median(d_new[ok] / d_old[ok]))
