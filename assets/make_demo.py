"""Generate the bundled demo clip: a procedural 3D scene with exact depth, rendered with moderngl.

Run from the repository root (deterministic: on the same machine, re-running rewrites the same
bytes; another GPU driver may round a few silhouette pixels differently)::

    .venv/bin/python assets/make_demo.py

Writes into ``assets/``:

``demo.mp4``        colour, H.264 yuv420p (BT.709, limited range), 640x360, 24 fps, 5 s
``demo_depth.mkv``  planar depth along the optical axis, FFV1 gray16le, millimetres
``demo.json``       the camera (pinhole: 35 mm on a 36 mm sensor), depth mapping, object layout
``demo_pull.json``  an example rack-focus pull (the timeline keyfile format)

The scene is ray traced analytically in one fragment shader on a standalone EGL context
(llvmpipe is enough): a wooden railing with a post about 1.2 m away, a chequered sphere on a
pedestal at 2.6 m, two columns at 5 m, a ball rolling across at 4.2 m, a brick wall at 8 m with
strings of small bright bulbs (the bokeh), a tiled floor, sun light with hard shadows. The camera
dollies sideways. Depth is the centre sample of each pixel (no averaging across edges, as a real
depth pass would be) while colour is 4x supersampled.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # runnable as a plain script from anywhere
    sys.path.insert(0, str(ROOT))

from rackfocus_live.gpu.context import create_headless_context  # noqa: E402

ASSETS = Path(__file__).resolve().parent

# Camera: a CG pinhole, so the DOF preview should use focus_breathing=False.
FOCAL_LENGTH_MM = 35.0
SENSOR_WIDTH_MM = 36.0
DEPTH_SCALE = 0.001  # metres per unit of the 16-bit depth (millimetres)
NEAR_M = 1.0
FAR_M = 9.0

# Scene layout shared by the shader (as uniforms/constants) and demo.json.
CAM_Y = 1.25
CAM_X0, CAM_X1 = -0.35, 0.35  # sideways dolly over the clip
CAM_TARGET = (0.1, 0.85, 5.0)
POST_X, POST_Z = -0.45, 1.2
SUBJECT = (0.35, 1.15, 2.6)  # sphere centre
WALL_Z = 8.0

SHADER = """
#version 330 core
uniform vec2 u_res;
uniform float u_time;
uniform float u_duration;
uniform vec3 u_cam;
uniform vec3 u_right;
uniform vec3 u_up;
uniform vec3 u_fwd;
uniform float u_focal_px;

layout(location = 0) out vec4 o_color;
layout(location = 1) out vec4 o_depth;

const float INF = 1e9;
const float WALL_Z = %(WALL_Z)f;
const vec3 SUN_DIR = normalize(vec3(-0.45, 0.8, -0.4));
const vec3 SUN_COL = vec3(1.25, 1.12, 0.95);
const vec3 SKY_COL = vec3(0.30, 0.36, 0.48);
const int N_BULBS = 30;

// "Hash without sine" (Dave Hoskins): portable, no trigonometry precision issues.
float hash12(vec2 p) {
    vec3 p3 = fract(vec3(p.xyx) * 0.1031);
    p3 += dot(p3, p3.yzx + 33.33);
    return fract((p3.x + p3.y) * p3.z);
}
float hash13(vec3 p3) {
    p3 = fract(p3 * 0.1031);
    p3 += dot(p3, p3.zyx + 31.32);
    return fract((p3.x + p3.y) * p3.z);
}
float vnoise(vec2 p) {
    vec2 i = floor(p), f = fract(p);
    vec2 u = f * f * (3.0 - 2.0 * f);
    return mix(mix(hash12(i), hash12(i + vec2(1, 0)), u.x),
               mix(hash12(i + vec2(0, 1)), hash12(i + vec2(1, 1)), u.x), u.y);
}
float fbm(vec2 p) {
    float s = 0.0, a = 0.5;
    for (int i = 0; i < 4; i++) { s += a * vnoise(p); p = p * 2.03 + 17.1; a *= 0.5; }
    return s;
}

struct Hit { float t; vec3 n; int id; };

void take(inout Hit h, float t, vec3 n, int id) {
    if (t > 1e-4 && t < h.t) { h.t = t; h.n = n; h.id = id; }
}

float sphere(vec3 ro, vec3 rd, vec3 c, float r) {
    vec3 oc = ro - c;
    float b = dot(oc, rd);
    float h = b * b - (dot(oc, oc) - r * r);
    if (h < 0.0) return -1.0;
    h = sqrt(h);
    return (-b - h > 1e-4) ? -b - h : -b + h;
}

float box(vec3 ro, vec3 rd, vec3 bmin, vec3 bmax, out vec3 n) {
    vec3 inv = 1.0 / rd;
    vec3 t0 = (bmin - ro) * inv, t1 = (bmax - ro) * inv;
    vec3 tmin = min(t0, t1), tmax = max(t0, t1);
    float tn = max(max(tmin.x, tmin.y), tmin.z);
    float tf = min(min(tmax.x, tmax.y), tmax.z);
    if (tn > tf || tf < 0.0) return -1.0;
    n = (tn == tmin.x) ? vec3(-sign(rd.x), 0, 0)
      : (tn == tmin.y) ? vec3(0, -sign(rd.y), 0) : vec3(0, 0, -sign(rd.z));
    return tn;
}

float cylinder_y(vec3 ro, vec3 rd, vec2 c, float r, float y1, out vec3 n) {
    vec2 oc = ro.xz - c;
    float a = dot(rd.xz, rd.xz);
    float b = dot(oc, rd.xz);
    float h = b * b - a * (dot(oc, oc) - r * r);
    if (h < 0.0 || a < 1e-9) return -1.0;
    float t = (-b - sqrt(h)) / a;
    float y = ro.y + t * rd.y;
    if (t < 0.0 || y < 0.0 || y > y1) return -1.0;
    n = normalize(vec3(ro.x + t * rd.x - c.x, 0.0, ro.z + t * rd.z - c.y));
    return t;
}

vec3 bulb_pos(int i) {
    if (i < 14) {   // upper strand on the wall, a sagging catenary
        float u = float(i) / 13.0 * 2.0 - 1.0;
        return vec3(u * 3.6, 2.25 - 0.35 * (1.0 - u * u), WALL_Z - 0.06);
    }
    if (i < 26) {   // lower strand, offset
        float u = float(i - 14) / 11.0 * 2.0 - 1.0;
        return vec3(u * 3.0 + 0.2, 1.55 - 0.28 * (1.0 - u * u), WALL_Z - 0.06);
    }
    // four lanterns hanging between the columns at 5 m
    float k = float(i - 26);
    return vec3(-1.1 + k * 0.95, 1.8 + 0.12 * sin(k * 2.1), 5.0);
}
vec3 bulb_col(int i) {
    float h = hash12(vec2(float(i), 7.0));
    vec3 warm = vec3(1.0, 0.72, 0.38), cool = vec3(0.55, 0.75, 1.0), rose = vec3(1.0, 0.45, 0.5);
    vec3 c = h < 0.6 ? warm : (h < 0.85 ? cool : rose);
    return c * (i >= 26 ? 9.0 : 7.0);
}
float bulb_r(int i) { return i >= 26 ? 0.035 : 0.022; }

vec3 ball_center() {
    float x = -2.0 + 3.6 * u_time / u_duration;
    return vec3(x, 0.2, 4.2);
}

// ids: 1 floor, 2 wall, 3 post/rail, 4 subject sphere, 5 pedestal, 6 column, 7 ball, 100+ bulb
Hit trace(vec3 ro, vec3 rd, bool shadow_ray) {
    Hit h = Hit(INF, vec3(0), 0);
    vec3 n;
    float t;
    if (!shadow_ray) {
        if (rd.y < 0.0) take(h, -ro.y / rd.y, vec3(0, 1, 0), 1);
        if (rd.z > 0.0) take(h, (WALL_Z - ro.z) / rd.z, vec3(0, 0, -1), 2);
    }
    // foreground railing: a post with a round finial, a top rail and a lower rail
    t = box(ro, rd, vec3(%(POST_X)f - 0.045, 0.0, %(POST_Z)f - 0.045),
            vec3(%(POST_X)f + 0.045, 1.08, %(POST_Z)f + 0.045), n); take(h, t, n, 3);
    t = sphere(ro, rd, vec3(%(POST_X)f, 1.13, %(POST_Z)f), 0.065);
    take(h, t, normalize(ro + t * rd - vec3(%(POST_X)f, 1.13, %(POST_Z)f)), 3);
    t = box(ro, rd, vec3(-2.5, 0.95, %(POST_Z)f - 0.03), vec3(-0.08, 1.01, %(POST_Z)f + 0.03), n);
    take(h, t, n, 3);
    t = box(ro, rd, vec3(-2.5, 0.55, %(POST_Z)f - 0.02), vec3(-0.08, 0.6, %(POST_Z)f + 0.02), n);
    take(h, t, n, 3);
    // subject: chequered sphere on a pedestal
    vec3 sc = vec3%(SUBJECT)s;
    t = sphere(ro, rd, sc, 0.32); take(h, t, normalize(ro + t * rd - sc), 4);
    t = box(ro, rd, vec3(sc.x - 0.25, 0.0, sc.z - 0.25), vec3(sc.x + 0.25, 0.83, sc.z + 0.25), n);
    take(h, t, n, 5);
    // columns at 5 m
    t = cylinder_y(ro, rd, vec2(-1.6, 5.0), 0.18, 3.2, n); take(h, t, n, 6);
    t = cylinder_y(ro, rd, vec2(1.9, 5.0), 0.18, 3.2, n); take(h, t, n, 6);
    // rolling ball
    vec3 bc = ball_center();
    t = sphere(ro, rd, bc, 0.2); take(h, t, normalize(ro + t * rd - bc), 7);
    if (!shadow_ray) {
        for (int i = 0; i < N_BULBS; i++) {
            vec3 c = bulb_pos(i);
            t = sphere(ro, rd, c, bulb_r(i)); take(h, t, normalize(ro + t * rd - c), 100 + i);
        }
    }
    return h;
}

vec3 albedo(int id, vec3 p, vec3 n) {
    if (id == 1) {  // stone floor tiles
        vec2 q = p.xz / 0.6;
        vec2 f = fract(q);
        float grout = step(0.03, f.x) * step(0.03, f.y);
        float tone = 0.75 + 0.5 * hash12(floor(q));
        vec3 c = vec3(0.42, 0.4, 0.37) * tone * (0.75 + 0.5 * fbm(p.xz * 9.0));
        return mix(vec3(0.12), c, grout);
    }
    if (id == 2) {  // brick wall
        vec2 q = vec2(p.x / 0.24, p.y / 0.085);
        q.x += 0.5 * mod(floor(q.y), 2.0);
        vec2 f = fract(q);
        float mortar = step(0.06, f.x) * step(0.1, f.y);
        float tone = hash12(floor(q) + 3.0);
        vec3 brick = mix(vec3(0.50, 0.20, 0.13), vec3(0.68, 0.36, 0.22), tone);
        brick *= 0.8 + 0.35 * fbm(p.xy * 14.0);
        return mix(vec3(0.62, 0.6, 0.55), brick, mortar);
    }
    if (id == 3) {  // painted wood with grain
        float g = fbm(vec2(p.x * 3.0 + p.y * 40.0, p.z * 40.0));
        float lines = 0.5 + 0.5 * sin((p.x + p.y) * 90.0 + g * 12.0);
        return mix(vec3(0.18, 0.32, 0.36), vec3(0.30, 0.50, 0.52), lines * 0.7 + 0.3 * g);
    }
    if (id == 4) {  // rotating chequered sphere (latitude/longitude)
        vec3 d = normalize(p - vec3%(SUBJECT)s);
        float a = u_time * 0.7;
        d.xz = mat2(cos(a), -sin(a), sin(a), cos(a)) * d.xz;
        float lon = atan(d.z, d.x) / 6.2831853 * 16.0;
        float lat = asin(clamp(d.y, -1.0, 1.0)) / 3.1415927 * 8.0;
        float chk = mod(floor(lon) + floor(lat), 2.0);
        return mix(vec3(0.85, 0.82, 0.72), vec3(0.75, 0.12, 0.08), chk);
    }
    if (id == 5) {  // concrete pedestal
        return vec3(0.55, 0.55, 0.52) * (0.8 + 0.3 * fbm(p.xy * 20.0 + p.z * 7.0));
    }
    if (id == 6) {  // fluted marble column
        float ang = atan(p.z - 5.0, p.x - (p.x < 0.0 ? -1.6 : 1.9));
        float flute = 0.85 + 0.15 * sin(ang * 24.0);
        float vein = smoothstep(0.55, 0.6, fbm(vec2(ang * 3.0, p.y * 4.0)));
        return vec3(0.78, 0.76, 0.72) * flute * (1.0 - 0.35 * vein);
    }
    if (id == 7) {  // beach ball: segments, rotating as it rolls
        vec3 d = normalize(p - ball_center());
        float a = -(ball_center().x + 2.0) / 0.2;
        d.xy = mat2(cos(a), -sin(a), sin(a), cos(a)) * d.xy;
        float seg = floor((atan(d.y, d.z) / 6.2831853 + 0.5) * 6.0);
        vec3 cols[3] = vec3[3](vec3(0.9, 0.75, 0.1), vec3(0.1, 0.35, 0.85), vec3(0.9, 0.9, 0.88));
        return cols[int(mod(seg, 3.0))];
    }
    return vec3(0.5);
}

vec3 shade(vec3 ro, vec3 rd) {
    Hit h = trace(ro, rd, false);
    if (h.id == 0) return SKY_COL;
    if (h.id >= 100) return bulb_col(h.id - 100);
    vec3 p = ro + h.t * rd;
    vec3 n = h.n;
    vec3 a = albedo(h.id, p, n);
    float ndl = max(dot(n, SUN_DIR), 0.0);
    float lit = 0.0;
    if (ndl > 0.0) lit = trace(p + n * 2e-3, SUN_DIR, true).id == 0 ? 1.0 : 0.0;
    vec3 col = a * (SUN_COL * ndl * lit + SKY_COL * (0.55 + 0.45 * n.y));
    // Warm spill of the bulbs on nearby surfaces, so the strands sit in the scene.
    for (int i = 0; i < N_BULBS; i++) {
        vec3 l = bulb_pos(i) - p;
        float d2 = dot(l, l);
        col += a * bulb_col(i) * 0.0025 * max(dot(n, normalize(l)), 0.0) / (d2 + 0.02);
    }
    return col;
}

vec3 to_srgb(vec3 c) {
    c = clamp(c, 0.0, 1.0);
    return mix(c * 12.92, 1.055 * pow(c, vec3(1.0 / 2.4)) - 0.055, step(0.0031308, c));
}

vec3 ray_dir(vec2 pix) {
    // pix: pixel position with row 0 at the top of the image.
    float x = (pix.x - 0.5 * u_res.x) / u_focal_px;
    float y = (0.5 * u_res.y - pix.y) / u_focal_px;
    return normalize(u_right * x + u_up * y + u_fwd);
}

void main() {
    // GL row 0 is read back first, so image row r = gl_FragCoord row r: the file is top-down.
    vec2 pix = vec2(gl_FragCoord.x, gl_FragCoord.y);
    vec3 acc = vec3(0.0);
    // 4-sample rotated grid for the colour.
    vec2 offs[4] = vec2[4](vec2(-0.125, -0.375), vec2(0.375, -0.125),
                           vec2(0.125, 0.375), vec2(-0.375, 0.125));
    for (int s = 0; s < 4; s++) acc += shade(u_cam, ray_dir(pix + offs[s]));
    o_color = vec4(to_srgb(acc * 0.25), 1.0);
    vec3 rd = ray_dir(pix);
    Hit h = trace(u_cam, rd, false);
    float planar = h.id == 0 ? 0.0 : h.t * dot(rd, u_fwd);
    o_depth = vec4(planar, 0.0, 0.0, 1.0);
}
"""

VERTEX = """
#version 330 core
void main() {
    vec2 p = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));
    gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}
"""


@dataclass(frozen=True)
class DemoSpec:
    """Size and length of the generated clip (the bundled demo uses the defaults)."""

    width: int = 640
    height: int = 360
    fps: int = 24
    frames: int = 120
    crf: int = 18

    def __post_init__(self) -> None:
        # yuv420p as one (H*3/2)xW array needs the chroma planes to fill whole rows.
        if self.width % 4 or self.height % 4 or self.width < 16 or self.height < 16:
            raise ValueError("demo width and height must be multiples of 4, at least 16")
        if self.frames < 1 or self.fps < 1:
            raise ValueError("demo needs at least one frame at a positive rate")

    @property
    def duration(self) -> float:
        return self.frames / self.fps

    @property
    def focal_px(self) -> float:
        return FOCAL_LENGTH_MM / SENSOR_WIDTH_MM * self.width


def camera_at(t: float, duration: float) -> tuple[np.ndarray, np.ndarray]:
    """Camera position and its (right, up, forward) basis at time t (an eased sideways dolly)."""
    u = min(max(t / duration, 0.0), 1.0)
    ease = u * u * (3.0 - 2.0 * u)
    pos = np.array([CAM_X0 + (CAM_X1 - CAM_X0) * ease, CAM_Y, 0.0])
    fwd = np.asarray(CAM_TARGET) - pos
    fwd /= np.linalg.norm(fwd)
    right = np.cross(np.array([0.0, 1.0, 0.0]), fwd)
    right /= np.linalg.norm(right)
    up = np.cross(fwd, right)
    return pos, np.stack([right, up, fwd])


def project(
    point: tuple[float, float, float], t: float, spec: DemoSpec
) -> tuple[float, float, float]:
    """Pixel (x, y from the top) and planar depth (m) of a world point at time t; for demo.json
    and tests."""
    pos, (right, up, fwd) = camera_at(t, spec.duration)
    d = np.asarray(point) - pos
    z = float(d @ fwd)
    return (
        spec.width / 2 + spec.focal_px * float(d @ right) / z,
        spec.height / 2 - spec.focal_px * float(d @ up) / z,
        z,
    )


class SceneRenderer:
    """The ray-tracing pass on a standalone context. Owns its GL objects; call ``release``."""

    def __init__(self, spec: DemoSpec) -> None:
        self.spec = spec
        self.ctx = create_headless_context()
        source = SHADER % {
            "WALL_Z": WALL_Z, "POST_X": POST_X, "POST_Z": POST_Z, "SUBJECT": str(SUBJECT),
        }
        self.program = self.ctx.program(vertex_shader=VERTEX, fragment_shader=source.strip())
        self.vao = self.ctx.vertex_array(self.program, [])
        size = (spec.width, spec.height)
        self.color = self.ctx.texture(size, 4, dtype="f1")
        self.depth = self.ctx.texture(size, 4, dtype="f4")
        self.fbo = self.ctx.framebuffer(color_attachments=[self.color, self.depth])

    def render(self, index: int) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float32]]:
        """Frame ``index``: sRGB colour HxWx3 uint8 and planar depth HxW float32 metres (rows
        top-down)."""
        spec = self.spec
        t = index / spec.fps
        pos, basis = camera_at(t, spec.duration)
        uniforms = {
            "u_res": (float(spec.width), float(spec.height)),
            "u_time": t,
            "u_duration": spec.duration,
            "u_cam": tuple(pos),
            "u_right": tuple(basis[0]),
            "u_up": tuple(basis[1]),
            "u_fwd": tuple(basis[2]),
            "u_focal_px": spec.focal_px,
        }
        for name, value in uniforms.items():
            self.program[name].value = value
        self.fbo.use()
        self.vao.render(vertices=3)
        h, w = spec.height, spec.width
        rgb = np.frombuffer(self.fbo.read(components=3, attachment=0), np.uint8).reshape(h, w, 3)
        depth = np.frombuffer(
            self.fbo.read(components=1, attachment=1, dtype="f4"), np.float32
        ).reshape(h, w)
        return rgb.copy(), depth.copy()

    def release(self) -> None:
        for obj in (self.fbo, self.color, self.depth, self.vao, self.program):
            obj.release()
        self.ctx.release()


def rgb_to_yuv420(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """sRGB uint8 HxWx3 -> planar yuv420p (BT.709, limited range) as the (H*3/2)xW layout PyAV
    expects. Done in numpy, not swscale, so the matrix and range are exactly what the file is
    tagged with."""
    x = rgb.astype(np.float64) / 255.0
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    cb = (b - y) / 1.8556
    cr = (r - y) / 1.5748
    h, w = y.shape

    def sub(c: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return c.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))

    y8 = np.clip(np.round(16 + 219 * y), 0, 255).astype(np.uint8)
    u8 = np.clip(np.round(128 + 224 * sub(cb)), 0, 255).astype(np.uint8)
    v8 = np.clip(np.round(128 + 224 * sub(cr)), 0, 255).astype(np.uint8)
    return np.concatenate([y8, u8.reshape(h // 4, w), v8.reshape(h // 4, w)], axis=0)


def depth_to_mm(depth_m: npt.NDArray[np.float32]) -> npt.NDArray[np.uint16]:
    """Metres -> uint16 millimetres; 0 (no hit) stays 0, the documented 'invalid' value."""
    mm = np.round(depth_m.astype(np.float64) / DEPTH_SCALE)
    return np.clip(mm, 0, 65535).astype(np.uint16)


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.stem}.part{path.suffix}")


def write_clip(
    out_dir: Path, spec: DemoSpec, progress: Callable[[int], None] | None = None
) -> tuple[Path, Path]:
    """Render every frame and write the colour and depth videos (atomically). Returns paths."""
    color_path = out_dir / "demo.mp4"
    depth_path = out_dir / "demo_depth.mkv"
    renderer = SceneRenderer(spec)
    rate = Fraction(spec.fps, 1)
    try:
        # bitexact: no random segment UIDs or muxing dates, so re-running gives identical files.
        exact = {"fflags": "+bitexact"}
        with av.open(
            os.fspath(_tmp(color_path)), "w", format="mp4", container_options=exact
        ) as cout, av.open(
            os.fspath(_tmp(depth_path)), "w", format="matroska", container_options=exact
        ) as dout:
            cs = cout.add_stream("libx264", rate=rate)
            cs.width, cs.height, cs.pix_fmt = spec.width, spec.height, "yuv420p"
            cs.codec_context.gop_size = spec.fps  # a keyframe every second: cheap seeks
            # One thread and fixed options: x264 output is then bit-identical run to run.
            cs.codec_context.thread_count = 1
            params = f"keyint={spec.fps}:min-keyint={spec.fps}:scenecut=0:threads=1"
            cs.options = {"crf": str(spec.crf), "preset": "slow", "tune": "film",
                          "threads": "1", "x264-params": params}
            cc = cs.codec_context
            cc.colorspace, cc.color_range, cc.color_primaries, cc.color_trc = 1, 1, 1, 1
            ds = dout.add_stream("ffv1", rate=rate)
            ds.width, ds.height, ds.pix_fmt = spec.width, spec.height, "gray16le"
            ds.codec_context.thread_count = 1
            ds.options = {"level": "3", "context": "1", "g": "1", "slicecrc": "0"}
            for i in range(spec.frames):
                rgb, depth = renderer.render(i)
                yuv = rgb_to_yuv420(rgb)
                frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
                frame.colorspace, frame.color_range = 1, 1
                frame.pts = i
                frame.time_base = Fraction(1, spec.fps)
                cout.mux(cs.encode(frame))
                dframe = av.VideoFrame.from_ndarray(depth_to_mm(depth), format="gray16le")
                dframe.pts = i
                dframe.time_base = Fraction(1, spec.fps)
                dout.mux(ds.encode(dframe))
                if progress:
                    progress(i)
            cout.mux(cs.encode(None))
            dout.mux(ds.encode(None))
        os.replace(_tmp(color_path), color_path)
        os.replace(_tmp(depth_path), depth_path)
    finally:
        renderer.release()
        _tmp(color_path).unlink(missing_ok=True)
        _tmp(depth_path).unlink(missing_ok=True)
    return color_path, depth_path


def scene_description(spec: DemoSpec) -> dict[str, object]:
    """demo.json: how to read the clip, the camera, and where things are (for docs and tests)."""
    # Visible surface points at frame 0, chosen clear of other objects and of the bulbs.
    sx, sy, sz = SUBJECT
    objects: dict[str, dict[str, object]] = {
        "post": {"point": [POST_X, 1.0, POST_Z - 0.045]},
        "subject": {"point": [sx, sy, sz - 0.32]},
        "column": {"point": [1.9, 1.0, 5.0 - 0.18]},
        "wall": {"point": [3.9, 0.9, WALL_Z]},
    }
    for obj in objects.values():
        x, y, z = project(tuple(obj["point"]), 0.0, spec)  # type: ignore[arg-type]
        obj["pixel_at_start"] = [round(x, 1), round(y, 1)]
        obj["depth_m"] = round(z, 3)
    return {
        "version": 1,
        "description": "Procedural rack-focus demo: railing post (1.2 m), chequered sphere "
                       "(2.6 m), columns (5 m), rolling ball (4.2 m), brick wall with bulbs "
                       "(8 m). Rendered with a pinhole camera by assets/make_demo.py.",
        "clip": "demo.mp4",
        "depth": "demo_depth.mkv",
        "width": spec.width,
        "height": spec.height,
        "fps": spec.fps,
        "frame_count": spec.frames,
        "camera": {
            "model": "pinhole",
            "focal_length_mm": FOCAL_LENGTH_MM,
            "sensor_width_mm": SENSOR_WIDTH_MM,
            "focus_breathing": False,
        },
        "depth_mapping": {
            "kind": "metric",
            "scale": DEPTH_SCALE,
            "near": NEAR_M,
            "far": FAR_M,
            "note": "planar depth along the optical axis in millimetres (FFV1 gray16le)",
        },
        "suggested_lens": {"f_stop": 1.4, "focus_m": WALL_Z},
        "objects": objects,
    }


def pull_keys(spec: DemoSpec) -> list[tuple[float, float, str, str | None]]:
    """The example pull: (time s, focus m, easing of the following segment, mark).

    Wall -> railing post -> sphere -> wall, each move eased and landing on a mark."""
    end = min(4.8, spec.duration)
    return [
        (0.0, WALL_Z, "hold", "C"),
        (0.6, WALL_Z, "ease-in-out", "C"),
        (1.6, POST_Z, "hold", "A"),
        (2.3, POST_Z, "ease-in-out", "A"),
        (3.1, SUBJECT[2], "hold", "B"),
        (3.8, SUBJECT[2], "ease-in-out", "B"),
        (end, WALL_Z, "hold", "C"),
    ]


def write_json(path: Path, data: object) -> None:
    tmp = _tmp(path)
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def write_pull(out_dir: Path, spec: DemoSpec, color_path: Path) -> Path:
    """Write demo_pull.json with the timeline's keyfile module (the format the app loads)."""
    from rackfocus_live.depth import DepthMapping
    from rackfocus_live.lens import LensState
    from rackfocus_live.timeline.easing import get_easing
    from rackfocus_live.timeline.keyfile import MediaIdentity, Pull, save_pull
    from rackfocus_live.timeline.keyframes import FocusTrack, Key, Mark

    fps = Fraction(spec.fps, 1)
    marks = [Mark("A", "railing post", POST_Z), Mark("B", "sphere", SUBJECT[2]),
             Mark("C", "brick wall", WALL_Z)]
    keys = [Key(t, f, None, get_easing(ease), mark) for t, f, ease, mark in pull_keys(spec)]
    pull = Pull(
        track=FocusTrack(keys, fps=fps, marks=marks),
        media=MediaIdentity(color_path.name, color_path.stat().st_size, spec.duration, fps,
                            spec.frames),
        depth=DepthMapping(kind="metric", scale=DEPTH_SCALE, near=NEAR_M, far=FAR_M),
        lens=LensState(focal_length_mm=FOCAL_LENGTH_MM, f_stop=1.4,
                       sensor_width_mm=SENSOR_WIDTH_MM, focus_m=WALL_Z, focus_breathing=False),
    )
    path = out_dir / "demo_pull.json"
    save_pull(path, pull, backup=False)
    return path


def make_demo(out_dir: Path = ASSETS, spec: DemoSpec | None = None, *, verbose: bool = False) -> \
        dict[str, Path]:
    """Generate every demo file into ``out_dir``; returns their paths by role."""
    spec = spec or DemoSpec()
    out_dir.mkdir(parents=True, exist_ok=True)

    def progress(i: int) -> None:
        if verbose and (i + 1) % spec.fps == 0:
            print(f"  frame {i + 1}/{spec.frames}", file=sys.stderr)

    color, depth = write_clip(out_dir, spec, progress)
    meta = out_dir / "demo.json"
    write_json(meta, scene_description(spec))
    pull = write_pull(out_dir, spec, color)
    return {"clip": color, "depth": depth, "meta": meta, "pull": pull}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ASSETS, help="output folder (default assets/)")
    parser.add_argument("--frames", type=int, default=DemoSpec.frames)
    parser.add_argument("--size", default=f"{DemoSpec.width}x{DemoSpec.height}", metavar="WxH")
    args = parser.parse_args(argv)
    w, h = (int(v) for v in args.size.lower().split("x"))
    paths = make_demo(args.out, DemoSpec(width=w, height=h, frames=args.frames), verbose=True)
    for role, p in paths.items():
        print(f"{role:5s} {p} ({p.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
