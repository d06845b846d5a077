"""A short soak (``bench/soak.py``): playback with seeks, focus drags, recording and autosave on
a tiny clip stays flat in memory, GL objects, threads and queue; and the soak does see a leak
when one is planted (so flat means flat, not "measured nothing")."""

from __future__ import annotations

from pathlib import Path

import moderngl
import pytest

from bench.soak import run_soak
from rackfocus_live.gpu.dof import DofRenderer
from rackfocus_live.ui.session import QUEUE_SIZE, MediaSession

pytestmark = [pytest.mark.gl, pytest.mark.timeout(180)]

SIZE = (64, 48)
CLIP_FRAMES = 48
#: Resident memory may still settle after the warm-up (allocator arenas grow in ~1 MB steps);
#: a leak of one small frame per frame is ~10 MB per 1000 frames.
MAX_SLOPE_MB_PER_1000 = 2.0


def test_short_soak_is_flat(ctx: moderngl.Context, tmp_path: Path) -> None:
    report = run_soak(frames=2000, size=SIZE, clip_frames=CLIP_FRAMES, sample_every=50,
                      ctx=ctx, folder=tmp_path)
    summary = "\n".join(report.lines())
    assert report.frames == 2000
    assert report.events["shown"] >= 1900  # playback really ran (a few frames are re-shown)
    assert min(report.events[k] for k in ("seeks", "drags", "takes", "autosaves")) >= 3, summary
    assert len(report.steady) >= 20
    assert report.slope_mb_per_1000 < MAX_SLOPE_MB_PER_1000, summary
    rss = [s.rss_mb for s in report.steady]
    assert max(rss) - rss[0] < 4.0, summary
    lo, hi = report.span("gl_objects")
    assert lo == hi, summary  # no GL object created per frame, drag or take
    assert report.span("threads")[0] == report.span("threads")[1], summary
    assert report.span("os_threads")[0] == report.span("os_threads")[1], summary
    assert report.queue_max <= QUEUE_SIZE, summary


def test_soak_sees_a_planted_memory_leak(ctx: moderngl.Context, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    kept: list[bytes] = []
    real = MediaSession._upload

    def leaky(self: MediaSession, packet) -> None:  # type: ignore[no-untyped-def]
        kept.append(bytes(20_000))  # 20 kB per shown frame: 20 MB per 1000 frames
        real(self, packet)

    monkeypatch.setattr(MediaSession, "_upload", leaky)
    report = run_soak(frames=600, size=SIZE, clip_frames=CLIP_FRAMES, sample_every=25,
                      ctx=ctx, folder=tmp_path)
    assert report.slope_mb_per_1000 > MAX_SLOPE_MB_PER_1000 * 4


def test_soak_sees_a_planted_gl_leak(ctx: moderngl.Context, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    kept: list[moderngl.Texture] = []
    real = DofRenderer.render

    def leaky(self: DofRenderer, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self._frame % 50 == 0:
            kept.append(self.ctx.texture((4, 4), 4))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(DofRenderer, "render", leaky)
    try:
        report = run_soak(frames=600, size=SIZE, clip_frames=CLIP_FRAMES, sample_every=25,
                          ctx=ctx, folder=tmp_path)
        lo, hi = report.span("gl_objects")
        assert hi - lo >= 8
    finally:
        for tex in kept:
            tex.release()
