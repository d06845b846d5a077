"""Validation and decoding of a parsed keyframe file (see ``keyfile.py`` for the schema).

Every problem is an ``InputError`` naming the file and the exact field (``keys[3].time: expected
a number, got "abc"``); the first one found is reported. The version is checked before anything
else, so a newer file is refused without being half-read.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, cast

import numpy as np

from rackfocus_live.depth import DEPTH_KINDS, DepthMapping
from rackfocus_live.errors import InputError
from rackfocus_live.lens import LensState
from rackfocus_live.timeline.easing import LINEAR, easing_from_json
from rackfocus_live.timeline.jsonread import JsonReader
from rackfocus_live.timeline.keyframes import (
    MAX_FOCUS_M,
    SPACES,
    TIME_EPS,
    FocusTrack,
    Key,
    Mark,
    Samples,
    Space,
    frame_index,
    frame_times,
)
from rackfocus_live.timeline.pull import LoadedPull, MediaIdentity, Pull

SCHEMA = "rackfocus-live/keys"
VERSION = 1
MAX_TIME_S = 1e7
MAX_FRAMES = 10**8
MAX_F_STOP = 1000.0


class Decoder:
    """Decodes one parsed document; ``pull(doc)`` is the entry point.

    Args:
        reader: typed field access that fails naming the file.
        media: the clip the pull is loaded for (None: do not compare or retime).
    """

    def __init__(self, reader: JsonReader, media: MediaIdentity | None) -> None:
        self.r = reader
        self.clip = media
        self.warnings: list[str] = []

    def pull(self, doc: Any) -> LoadedPull:
        r = self.r
        if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
            r.fail("", f'not a rackfocus-live keyframe file (no "schema": "{SCHEMA}")')
        version = r.integer(r.field(doc, "version", ""), "version", lo=1, hi=10**6)
        if version > VERSION:
            r.fail("version", f"the file is format version {version}, written by a newer "
                              f"rackfocus-live; this one reads up to version {VERSION}")
        media = self.media(r.field(doc, "media", "", None))
        depth = self.depth(r.field(doc, "depth", "", None))
        lens = self.lens(r.field(doc, "lens", "", None))
        trk = r.obj(r.field(doc, "track", "", {}), "track")
        fps = r.fraction(r.field(trk, "fps", "track", str(media.fps) if media else "24"),
                         "track.fps")
        space = cast(Space, r.choice(r.field(trk, "space", "track", "inverse"), "track.space",
                                     SPACES))
        marks = self.marks(r.array(r.field(doc, "marks", "", []), "marks"))
        labels = {m.label for m in marks}
        keys = self.keys(r.array(r.field(doc, "keys", "", []), "keys"), fps, labels)
        samples = self.samples(r.field(doc, "samples", "", None))
        baked = self.baked(r.field(doc, "baked", "", None))
        if not keys and baked is not None:
            b_fps, b_focus, b_stop = baked
            times = frame_times(len(b_focus), b_fps)
            keys = [Key(float(t), f, s, LINEAR)
                    for t, f, s in zip(times, b_focus, b_stop, strict=True)]
            baked = None
        track = FocusTrack(keys, fps=fps, space=space, marks=marks, samples=samples)
        if baked is not None and (media is None or self.clip is None or self._same(media)):
            self._check_baked(track, baked)
        if self.clip is not None:
            track = self._retime(track, media)
        return LoadedPull(Pull(track, media, depth, lens), self.warnings)

    # -- sections --------------------------------------------------------------------------------

    def media(self, value: Any) -> MediaIdentity | None:
        if value is None:
            return None
        r = self.r
        m = r.obj(value, "media")
        return MediaIdentity(
            name=r.string(r.field(m, "name", "media"), "media.name"),
            size=r.integer(r.field(m, "size", "media"), "media.size", hi=2**62),
            duration=r.number(r.field(m, "duration", "media"), "media.duration", lo=0,
                              hi=MAX_TIME_S),
            fps=r.fraction(r.field(m, "fps", "media"), "media.fps"),
            frame_count=r.integer(r.field(m, "frame_count", "media"), "media.frame_count",
                                  hi=MAX_FRAMES),
        )

    def depth(self, value: Any) -> DepthMapping | None:
        if value is None:
            return None
        r = self.r
        d = r.obj(value, "depth")
        kind = r.choice(r.field(d, "kind", "depth"), "depth.kind", DEPTH_KINDS)
        scale = r.optional_number(r.field(d, "scale", "depth", None), "depth.scale", lo=0,
                                  lo_open=True)
        near = r.number(r.field(d, "near", "depth"), "depth.near", lo=0, lo_open=True,
                        hi=MAX_FOCUS_M)
        far_raw = r.field(d, "far", "depth")
        far = math.inf if far_raw == "inf" else r.number(far_raw, "depth.far", lo=0,
                                                         lo_open=True)
        try:
            return DepthMapping(kind, scale, near, far)  # type: ignore[arg-type]
        except InputError as exc:
            r.fail("depth", exc.problem)

    def lens(self, value: Any) -> LensState | None:
        if value is None:
            return None
        r = self.r
        d = r.obj(value, "lens")
        defaults = LensState()
        nums = {}
        for name in ("focal_length_mm", "f_stop", "sensor_width_mm", "focus_m",
                     "blade_rotation_deg", "squeeze"):
            nums[name] = r.number(r.field(d, name, "lens", getattr(defaults, name)),
                                  f"lens.{name}", lo=-1e6, hi=1e6)
        blades = r.integer(r.field(d, "blades", "lens", 0), "lens.blades", hi=16)
        breathing = r.boolean(r.field(d, "focus_breathing", "lens", True), "lens.focus_breathing")
        try:
            return LensState(blades=blades, focus_breathing=breathing, **nums)
        except InputError as exc:
            r.fail("lens", exc.problem)

    def marks(self, items: list[Any]) -> list[Mark]:
        r = self.r
        out: list[Mark] = []
        for i, item in enumerate(items):
            w = f"marks[{i}]"
            m = r.obj(item, w)
            label = r.string(r.field(m, "label", w), f"{w}.label", max_len=32)
            if not label or any(x.label == label for x in out):
                r.fail(f"{w}.label", "must be non-empty and unique")
            name = r.string(r.field(m, "name", w, ""), f"{w}.name", max_len=200)
            focus = r.number(r.field(m, "focus_m", w), f"{w}.focus_m", lo=0, lo_open=True,
                             hi=MAX_FOCUS_M)
            out.append(Mark(label, name, focus))
        return out

    def keys(self, items: list[Any], fps: Fraction, labels: set[str]) -> list[Key]:
        r = self.r
        out: list[Key] = []
        for i, item in enumerate(items):
            w = f"keys[{i}]"
            k = r.obj(item, w)
            t_raw = r.field(k, "time", w, None)
            f_raw = r.field(k, "frame", w, None)
            if t_raw is None and f_raw is None:
                r.fail(f"{w}.time", "missing (give time in seconds or frame)")
            frame = None if f_raw is None else r.integer(f_raw, f"{w}.frame", lo=-MAX_FRAMES,
                                                         hi=MAX_FRAMES)
            if t_raw is None:
                assert frame is not None
                time = float(Fraction(frame) / fps)
            else:
                time = r.number(t_raw, f"{w}.time", lo=-MAX_TIME_S, hi=MAX_TIME_S)
                if frame is not None and frame != frame_index(time, fps):
                    self.warnings.append(
                        f"{w}.frame {frame} disagrees with its time {time:g} s "
                        f"(frame {frame_index(time, fps)} at {fps} fps); the time is used")
            focus = r.number(r.field(k, "focus_m", w), f"{w}.focus_m", lo=0, lo_open=True,
                             hi=MAX_FOCUS_M)
            f_stop = r.optional_number(r.field(k, "f_stop", w, None), f"{w}.f_stop", lo=0,
                                       lo_open=True, hi=MAX_F_STOP)
            try:
                easing = easing_from_json(r.field(k, "easing", w, "linear"))
            except ValueError as exc:
                r.fail(f"{w}.easing", str(exc))
            mark = r.field(k, "mark", w, None)
            if mark is not None and r.string(mark, f"{w}.mark", max_len=32) not in labels:
                r.fail(f"{w}.mark", f"no mark labelled {mark!r} in marks")
            if out and time <= out[-1].time + TIME_EPS:
                r.fail(f"{w}.time", f"keys must be in increasing time order ({time:g} s after "
                                    f"{out[-1].time:g} s)")
            out.append(Key(time, focus, f_stop, easing, mark))
        return out

    def _numbers(
        self, value: Any, where: str, *, positive: bool, nullable: bool = False
    ) -> list[float]:
        r = self.r
        out: list[float] = []
        for i, v in enumerate(r.array(value, where)):
            if nullable and v is None:
                out.append(math.nan)
                continue
            lim: dict[str, Any] = ({"lo": 0.0, "lo_open": True, "hi": MAX_FOCUS_M} if positive
                                   else {"lo": -MAX_TIME_S, "hi": MAX_TIME_S})
            out.append(r.number(v, f"{where}[{i}]", **lim))
        return out

    def samples(self, value: Any) -> Samples | None:
        if value is None:
            return None
        r = self.r
        s = r.obj(value, "samples")
        t = self._numbers(r.field(s, "time", "samples"), "samples.time", positive=False)
        f = self._numbers(r.field(s, "focus_m", "samples"), "samples.focus_m", positive=True)
        raw_n = r.field(s, "f_stop", "samples", None)
        n = None if raw_n is None else self._numbers(raw_n, "samples.f_stop", positive=True,
                                                     nullable=True)
        if len(f) != len(t) or (n is not None and len(n) != len(t)):
            r.fail("samples", "time, focus_m and f_stop must have the same length")
        for i in range(1, len(t)):
            if t[i] <= t[i - 1]:
                r.fail(f"samples.time[{i}]", "times must be strictly increasing")
        return Samples(t, f, n)

    def baked(self, value: Any) -> tuple[Fraction, list[float], list[float | None]] | None:
        if value is None:
            return None
        r = self.r
        b = r.obj(value, "baked")
        fps = r.fraction(r.field(b, "fps", "baked"), "baked.fps")
        count = r.integer(r.field(b, "frame_count", "baked"), "baked.frame_count", hi=MAX_FRAMES)
        focus = self._numbers(r.field(b, "focus_m", "baked"), "baked.focus_m", positive=True)
        raw_n = r.field(b, "f_stop", "baked", None)
        stops: list[float | None] = [None] * len(focus)
        if raw_n is not None:
            stops = [None if math.isnan(v) else v for v in
                     self._numbers(raw_n, "baked.f_stop", positive=True, nullable=True)]
        if len(focus) != count or len(stops) != count:
            r.fail("baked", f"frame_count is {count} but focus_m has {len(focus)} values"
                   + ("" if len(stops) == count else f" and f_stop {len(stops)}"))
        return fps, focus, stops

    # -- consistency -----------------------------------------------------------------------------

    def _same(self, media: MediaIdentity) -> bool:
        return self.clip is not None and not media.differences(self.clip)

    def _check_baked(
        self, track: FocusTrack, baked: tuple[Fraction, list[float], list[float | None]]
    ) -> None:
        fps, focus, _ = baked
        if not track.keys or not focus:
            return
        values = track.bake(len(focus), fps)
        want = np.asarray(focus, dtype=np.float64)
        off = np.flatnonzero(np.abs(values - want) > 1e-6 * np.maximum(np.abs(want), 1.0))
        if off.size:
            i = int(off[0])
            self.warnings.append(
                f"baked focus differs from the keys from frame {i} on ({want[i]:g} m in the "
                f"file, {values[i]:g} m from the keys; edited by another tool?); the keys are used")

    def _retime(self, track: FocusTrack, media: MediaIdentity | None) -> FocusTrack:
        clip = self.clip
        assert clip is not None
        if media is not None:
            diffs = media.differences(clip)
            if diffs:
                self.warnings.append(
                    f"made for another clip ({'; '.join(diffs)}): keys are kept at their times "
                    f"in seconds")
        if track.keys and track.end_s > clip.duration + TIME_EPS:
            self.warnings.append(
                f"keys run to {track.end_s:.3f} s, past the end of this clip "
                f"({clip.duration:.3f} s)")
        return track if track.fps == clip.fps else track.replace(fps=clip.fps)
