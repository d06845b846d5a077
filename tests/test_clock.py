"""PlaybackClock with an injected time source: play, pause, seek, step, rate, drops, ends."""

from __future__ import annotations

from fractions import Fraction

import pytest

from rackfocus_live.timeline.clock import PlaybackClock

FPS = Fraction(24)
NTSC = Fraction(24000, 1001)


class FakeTime:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def wall() -> FakeTime:
    return FakeTime()


def test_paused_clock_does_not_move(wall: FakeTime) -> None:
    clock = PlaybackClock(wall)
    wall.advance(5)
    assert clock.media_time() == 0.0
    assert clock.frame_for_now(FPS, 100) == 0


def test_play_shows_frames_by_media_time(wall: FakeTime) -> None:
    clock = PlaybackClock(wall)
    clock.play()
    seen = []
    for _ in range(48):
        seen.append(clock.frame_for_now(FPS, 100))
        wall.advance(1 / 24)
    assert seen == list(range(48))
    assert clock.dropped == 0


def test_late_caller_drops_frames_instead_of_drifting(wall: FakeTime) -> None:
    clock = PlaybackClock(wall)
    clock.play()
    assert clock.frame_for_now(FPS, 1000) == 0
    wall.advance(0.5)  # a 500 ms hitch
    assert clock.frame_for_now(FPS, 1000) == 12
    assert clock.dropped == 11
    # After the hitch the clock is still on schedule: frame n at n / fps.
    wall.advance(10 - 0.5)
    assert clock.frame_for_now(FPS, 1000) == 240


def test_ntsc_rate_has_no_drift_over_an_hour(wall: FakeTime) -> None:
    clock = PlaybackClock(wall)
    clock.play()
    frames = 3600 * 24000 // 1001  # frames in one hour of 23.976
    wall.advance(frames * 1001 / 24000)
    assert clock.frame_for_now(NTSC, frames + 10) == frames


def test_pause_resume_keeps_position(wall: FakeTime) -> None:
    clock = PlaybackClock(wall)
    clock.play()
    wall.advance(1.0)
    clock.pause()
    wall.advance(30.0)
    assert clock.media_time() == pytest.approx(1.0)
    clock.toggle()
    wall.advance(0.5)
    assert clock.media_time() == pytest.approx(1.5)
    assert clock.playing


def test_seek_and_seek_frame_land_exactly_on_frames(wall: FakeTime) -> None:
    clock = PlaybackClock(wall)
    for k in (0, 1, 7, 1000, 4795):
        clock.seek_frame(k, NTSC)
        assert clock.frame_for_now(NTSC, 5000) == k
    clock.seek(2.0)
    assert clock.frame_for_now(FPS, 100) == 48
    with pytest.raises(ValueError):
        clock.seek(float("nan"))


def test_seek_while_playing_continues_from_there(wall: FakeTime) -> None:
    clock = PlaybackClock(wall)
    clock.play()
    wall.advance(3)
    clock.seek_frame(10, FPS)
    assert clock.frame_for_now(FPS, 100) == 10
    wall.advance(1 / 24)
    assert clock.frame_for_now(FPS, 100) == 11
    assert clock.dropped == 0  # a seek is not a drop


def test_step_pauses_and_clamps(wall: FakeTime) -> None:
    clock = PlaybackClock(wall)
    clock.play()
    wall.advance(10 / 24)
    assert clock.step(1, FPS, 100) == 11
    assert not clock.playing
    assert clock.frame_for_now(FPS, 100) == 11
    assert clock.step(-5, FPS, 100) == 6
    assert clock.step(-50, FPS, 100) == 0
    clock.seek_frame(98, FPS)
    assert clock.step(5, FPS, 100) == 99


def test_rate_changes_keep_media_time_continuous(wall: FakeTime) -> None:
    clock = PlaybackClock(wall)
    clock.play()
    wall.advance(1.0)
    clock.set_rate(2.0)
    assert clock.media_time() == pytest.approx(1.0)
    wall.advance(1.0)
    assert clock.media_time() == pytest.approx(3.0)
    clock.set_rate(-1.0)
    wall.advance(0.5)
    assert clock.media_time() == pytest.approx(2.5)
    assert clock.frame_for_now(FPS, 1000) == 60
    for bad in (0.0, float("inf"), float("nan")):
        with pytest.raises(ValueError):
            clock.set_rate(bad)


def test_end_of_clip_pauses_on_last_frame(wall: FakeTime) -> None:
    clock = PlaybackClock(wall)
    clock.play()
    wall.advance(10.0)
    assert clock.frame_for_now(FPS, 48) == 47
    assert not clock.playing
    wall.advance(1.0)
    assert clock.frame_for_now(FPS, 48) == 47


def test_reverse_playback_stops_at_first_frame(wall: FakeTime) -> None:
    clock = PlaybackClock(wall)
    clock.seek_frame(10, FPS)
    clock.set_rate(-1.0)
    clock.play()
    wall.advance(5.0)
    assert clock.frame_for_now(FPS, 48) == 0
    assert not clock.playing


def test_loop_wraps_and_keeps_phase(wall: FakeTime) -> None:
    clock = PlaybackClock(wall)
    clock.play()
    wall.advance(2.0 + 5 / 24)  # one full 48-frame loop plus five frames
    assert clock.frame_for_now(FPS, 48, loop=True) == 5
    wall.advance(1 / 24)
    assert clock.frame_for_now(FPS, 48, loop=True) == 6
    assert clock.playing
    assert clock.dropped == 0


def test_frame_count_must_be_positive(wall: FakeTime) -> None:
    with pytest.raises(ValueError):
        PlaybackClock(wall).frame_for_now(FPS, 0)


def test_default_time_source_is_real_time() -> None:
    clock = PlaybackClock()
    clock.play()
    assert 0.0 <= clock.media_time() < 5.0
    clock.reset_stats()
    assert clock.dropped == 0
