"""Synthetic shots with known truth for the subject tracker (tests and ``bench/track.py``).

A textured subject walks across the picture and toward the camera in front of a textured wall; a
textured distractor crosses behind it; a post crosses in front of it for about ten frames. Every
object is a textured plane facing the camera, drawn far to near (painter's order) into luma,
chroma and metric depth, so the truth (the subject's distance per frame) is exact.

The camera: 50 mm on a 36 mm sensor (focal length in pixels = 50 / 36 x width). Depth is written
as 16-bit millimetres (FFV1, lossless), either perfect or degraded like real estimated depth:
half resolution, blurred edges and a few percent of multiplicative noise.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt

from tests import media_factory as mf

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class Plane:
    """A camera-facing textured rectangle: centre (x, y) and distance z in metres per frame."""

    width_m: float
    height_m: float
    x: npt.NDArray[np.float64]
    y: npt.NDArray[np.float64]
    z: npt.NDArray[np.float64]
    texture: npt.NDArray[np.uint8]
    chroma: tuple[int, int]


@dataclass(frozen=True)
class SceneSpec:
    """What to make. Times are fractions of the shot."""

    size: tuple[int, int] = (640, 360)
    frames: int = 72
    fps: Fraction = Fraction(24)
    seed: int = 1
    subject_z: tuple[float, float] = (6.0, 3.0)
    subject_x: tuple[float, float] = (-1.0, 0.5)
    wall_z: float = 12.0
    distractor_z: float = 8.0
    distractor_cross: float = 0.35  # when the distractor passes behind the subject
    post_z: float = 1.6
    post_cross: float = 0.65  # when the post passes in front of the subject
    post_width_m: float = 0.07
    post_frames: int = 10  # about how long the post overlaps the subject
    post_x: float | None = None  # a static post at this x (m at post_z) instead of a moving one
    subject_hidden: tuple[int, int] | None = None  # frames [a, b) where a wide wall hides all

    @property
    def focal_px(self) -> float:
        return 50.0 / 36.0 * self.size[0]


@dataclass
class Scene:
    spec: SceneSpec
    subject: Plane
    planes: list[Plane] = field(default_factory=list)  # far to near, subject included

    def truth_z(self) -> npt.NDArray[np.float64]:
        """The subject's distance per frame (m)."""
        return self.subject.z.copy()

    def project(self, plane: Plane, i: int) -> tuple[float, float, float, float]:
        """Box (x, y, w, h) of a plane at frame i, pixels."""
        f = self.spec.focal_px
        w, h = self.spec.size
        z = plane.z[i]
        pw, ph = f * plane.width_m / z, f * plane.height_m / z
        cx, cy = w / 2 + f * plane.x[i] / z, h / 2 + f * plane.y[i] / z
        return cx - pw / 2, cy - ph / 2, pw, ph

    def subject_centre(self, i: int) -> tuple[float, float]:
        x, y, w, h = self.project(self.subject, i)
        return x + w / 2, y + h / 2

    def render(self, i: int) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8],
                                      npt.NDArray[np.uint8], npt.NDArray[np.float64]]:
        """(Y, U, V full resolution, depth in metres) of frame i."""
        w, h = self.spec.size
        luma = np.zeros((h, w), np.uint8)
        u = np.full((h, w), 128, np.uint8)
        v = np.full((h, w), 128, np.uint8)
        depth = np.full((h, w), np.inf)
        for plane in self.planes:
            x, y, pw, ph = self.project(plane, i)
            x0, y0 = round(x), round(y)
            x1, y1 = round(x + pw), round(y + ph)
            if x1 <= x0 or y1 <= y0:
                continue
            tex = cv2.resize(plane.texture, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
            cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
            if cx1 <= cx0 or cy1 <= cy0:
                continue
            luma[cy0:cy1, cx0:cx1] = tex[cy0 - y0: cy1 - y0, cx0 - x0: cx1 - x0]
            u[cy0:cy1, cx0:cx1], v[cy0:cy1, cx0:cx1] = plane.chroma
            depth[cy0:cy1, cx0:cx1] = plane.z[i]
        return luma, u, v, depth


def _texture(rng: np.random.Generator, shape: tuple[int, int], cell: int,
             lo: int = 40, hi: int = 215) -> npt.NDArray[np.uint8]:
    """Smooth random blobs plus fine grain: corners at every scale for optical flow."""
    h, w = shape
    coarse = rng.uniform(0, 1, (max(h // cell, 2), max(w // cell, 2))).astype(np.float32)
    big = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    fine = rng.uniform(-0.15, 0.15, (h, w)).astype(np.float32)
    img = np.clip(big + cv2.GaussianBlur(fine, (0, 0), 1.0), 0, 1)
    return (lo + img * (hi - lo)).astype(np.uint8)


def make_scene(spec: SceneSpec = SceneSpec()) -> Scene:
    rng = np.random.default_rng(spec.seed)
    n = spec.frames
    t = np.linspace(0.0, 1.0, n)
    f, (w, h) = spec.focal_px, spec.size
    wall_w = 2.5 * spec.wall_z * w / f
    wall = Plane(wall_w, wall_w * h / w, np.zeros(n), np.zeros(n), np.full(n, spec.wall_z),
                 _texture(rng, (360, 640), 24), (118, 132))
    z = spec.subject_z[0] + (spec.subject_z[1] - spec.subject_z[0]) * t
    sx = spec.subject_x[0] + (spec.subject_x[1] - spec.subject_x[0]) * t
    subject = Plane(0.45, 0.9, sx, np.full(n, 0.05) + 0.03 * np.sin(t * 12), z,
                    _texture(rng, (256, 128), 10), (100, 160))
    # The distractor passes behind the subject at distractor_cross, moving the other way.
    k = spec.distractor_cross
    zs = np.interp(k, t, z)
    sub_x_img = np.interp(k, t, sx) / zs  # the subject's image position (x/z) then
    dx = spec.distractor_z * (sub_x_img + (k - t) * 1.2 * 0.5)
    distractor = Plane(0.6, 1.0, dx, np.full(n, 0.1), np.full(n, spec.distractor_z),
                       _texture(rng, (256, 160), 10), (150, 100))
    planes = [wall, distractor, subject]
    if spec.subject_hidden is not None:
        a, b = spec.subject_hidden
        hide_x = np.full(n, 100.0)
        hide_x[a:b] = sx[a:b] / z[a:b] * 2.0  # centred on the subject, at 2 m
        planes.append(Plane(1.6, 2.0, hide_x, np.zeros(n), np.full(n, 2.0),
                            _texture(rng, (128, 128), 8), (128, 128)))
    # The post passes in front at post_cross; its speed in the image makes the overlap last
    # about post_frames frames.
    k = spec.post_cross
    zs = np.interp(k, t, z)
    sub_w_img = 0.45 / zs
    post_w_img = spec.post_width_m / spec.post_z
    speed = (sub_w_img + post_w_img) / max(spec.post_frames, 1)  # image units per frame
    frame_k = k * (n - 1)
    if spec.post_x is None:
        px = spec.post_z * (np.interp(k, t, sx) / zs + (frame_k - np.arange(n)) * speed)
    else:
        px = np.full(n, spec.post_x)
    planes.append(Plane(spec.post_width_m, 4.0, px, np.zeros(n), np.full(n, spec.post_z),
                        _texture(rng, (512, 32), 6, 20, 120), (128, 128)))
    return Scene(spec, subject, planes)


def degrade_depth(depth_m: npt.NDArray[np.float64], rng: np.random.Generator,
                  noise: float = 0.02, blur_px: float = 1.5) -> npt.NDArray[np.float64]:
    """Estimated-depth look: half resolution, soft edges (blurred in inverse depth), errors.

    The errors are what depth models make: smooth blotches (``noise`` relative, about 8 px
    across, new every frame, so the depth also flickers), a per-frame scale drift of a third of
    that, and a little fine grain (0.5 %).
    """
    h, w = depth_m.shape
    inv = np.where(np.isfinite(depth_m), 1.0 / depth_m, 0.0).astype(np.float32)
    sw, sh = w // 2, h // 2
    small = cv2.resize(inv, (sw, sh), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), blur_px)
    coarse = rng.normal(0.0, noise, (max(sh // 8, 2), max(sw // 8, 2))).astype(np.float32)
    blotches = cv2.resize(coarse, (sw, sh), interpolation=cv2.INTER_CUBIC)
    drift = rng.normal(0.0, noise / 3)
    grain = rng.normal(0.0, 0.005, small.shape).astype(np.float32)
    small *= (1.0 + drift + blotches + grain).astype(np.float32)
    return 1.0 / np.maximum(small.astype(np.float64), 1e-3)


def write_scene(scene: Scene, clip: PathLike, depth: PathLike, *,
                degraded: bool = False) -> npt.NDArray[np.float64]:
    """Write the clip (H.264) and its depth (FFV1 16-bit mm); returns the truth per frame (m)."""
    spec = scene.spec
    rng = np.random.default_rng(spec.seed + 1000)
    depths: list[npt.NDArray[np.uint16]] = []

    def planes(i: int) -> tuple[npt.NDArray[np.uint8], ...]:
        luma, u, v, d = scene.render(i)
        if degraded:
            d = degrade_depth(d, rng)
        mm = np.where(np.isfinite(d), np.round(d * 1000.0), 65535)
        depths.append(np.clip(mm, 1, 65535).astype(np.uint16))
        half = (spec.size[0] // 2, spec.size[1] // 2)
        return (luma, cv2.resize(u, half, interpolation=cv2.INTER_NEAREST),
                cv2.resize(v, half, interpolation=cv2.INTER_NEAREST))

    mf.make_clip(clip, frames=spec.frames, size=spec.size, fps=spec.fps, gop=24, yuv=planes)
    rate = spec.fps
    dh, dw = depths[0].shape
    with av.open(os.fspath(depth), mode="w") as container:
        stream = container.add_stream("ffv1", rate=rate if rate.denominator != 1 else int(rate))
        stream.width, stream.height = dw, dh
        stream.pix_fmt = "gray16le"
        for i, raw in enumerate(depths):
            frame = av.VideoFrame.from_ndarray(raw, format="gray16le")
            frame.pts = i
            frame.time_base = 1 / rate
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return scene.truth_z()


def make_files(folder: Path, spec: SceneSpec = SceneSpec(), *,
               degraded: bool = False) -> tuple[Scene, Path, Path, npt.NDArray[np.float64]]:
    """Scene, clip path, depth path and truth, written into ``folder``."""
    scene = make_scene(spec)
    clip, depth = folder / "shot.mp4", folder / "shot_depth.mkv"
    truth = write_scene(scene, clip, depth, degraded=degraded)
    return scene, clip, depth, truth
