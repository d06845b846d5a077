"""Shared by the farm and batch tests: small clips with audio, and how two exports compare."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from rackfocus_live.lens import LensState
from rackfocus_live.timeline.keyfile import Pull, save_pull
from rackfocus_live.timeline.keyframes import FocusTrack, Key
from tests import media_factory as mf

NTSC = Fraction(24000, 1001)
SIZE = (96, 64)
LENS = LensState(focal_length_mm=50.0, f_stop=1.4, sensor_width_mm=36.0, focus_m=1.0)


def make_shot(folder: Path, frames: int = 12, name: str = "clip") -> dict[str, Path]:
    """A 23.976 clip with AAC audio and textured frames, its depth video and a pull."""
    clip = mf.make_clip(folder / f"{name}.mp4", frames=frames, size=SIZE, fps=NTSC,
                        audio=True, texture=12)
    depth = mf.make_depth_video(folder / f"{name}_depth.mkv", frames=frames, size=SIZE, fps=NTSC)
    track = FocusTrack([Key(0.0, 0.6), Key(0.4, 4.0, f_stop=2.0)], fps=NTSC)
    pull = folder / f"{name}_pull.json"
    save_pull(pull, Pull(track=track, lens=LENS, depth=mf.DEPTH_MAPPING), backup=False)
    return {"clip": clip, "depth": depth, "pull": pull}


def video(path: Path) -> tuple[list[float], list[np.ndarray]]:
    """(presentation times in seconds, RGB frames) of a file's video, in display order."""
    with av.open(os.fspath(path)) as c:
        s = c.streams.video[0]
        frames = list(c.decode(s))
        return ([float(f.pts * s.time_base) for f in frames],
                [f.to_ndarray(format="rgb24") for f in frames])


def video_packets(path: Path) -> list[bytes]:
    with av.open(os.fspath(path)) as c:
        return [bytes(p) for p in c.demux(c.streams.video[0]) if p.size]


def audio_packets(path: Path) -> list[tuple[int | None, int | None, bytes]]:
    with av.open(os.fspath(path)) as c:
        if not c.streams.audio:
            return []
        s = c.streams.audio[0]
        return [(p.pts, p.dts, bytes(p)) for p in c.demux(s) if p.size]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


def assert_same_export(a: Path, b: Path, min_psnr: float | None = None) -> None:
    """Same frames at the same times, and the same audio packets. Frames are compared bit for
    bit, or to ``min_psnr`` dB where the encoder is not deterministic run to run (prores_ks:
    two single exports of one clip differ by a few codes in some frames)."""
    times_a, frames_a = video(a)
    times_b, frames_b = video(b)
    assert times_b == times_a
    assert len(frames_b) == len(frames_a) > 0
    for i, (x, y) in enumerate(zip(frames_a, frames_b, strict=True)):
        if min_psnr is None:
            assert np.array_equal(x, y), f"frame {i} differs"
        else:
            assert psnr(x, y) >= min_psnr, f"frame {i}: {psnr(x, y):.1f} dB"
    assert audio_packets(b) == audio_packets(a)


def file_bytes(*paths: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in paths}
