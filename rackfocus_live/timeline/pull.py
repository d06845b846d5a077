"""What a keyframe file holds: the pull (track, clip identity, depth convention, lens)."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from rackfocus_live.depth import DepthMapping
from rackfocus_live.lens import LensState
from rackfocus_live.timeline.keyframes import FocusTrack


@dataclass(frozen=True, slots=True)
class MediaIdentity:
    """What clip a pull was made for.

    Attributes:
        name: file name (no directory).
        size: file size in bytes.
        duration: duration in seconds.
        fps: frame rate as a rational.
        frame_count: number of frames.
    """

    name: str
    size: int
    duration: float
    fps: Fraction
    frame_count: int

    def differences(self, other: MediaIdentity) -> list[str]:
        """Human-readable differences from ``other`` (empty when they match)."""
        out = []
        if self.name != other.name:
            out.append(f"name {self.name!r} vs {other.name!r}")
        if self.size != other.size:
            out.append(f"size {self.size} vs {other.size} bytes")
        if self.fps != other.fps:
            out.append(f"frame rate {self.fps} vs {other.fps}")
        if self.frame_count != other.frame_count:
            out.append(f"{self.frame_count} vs {other.frame_count} frames")
        if abs(self.duration - other.duration) > 1e-3:
            out.append(f"duration {self.duration:.3f} vs {other.duration:.3f} s")
        return out


@dataclass(frozen=True, slots=True)
class Pull:
    """Everything a keyframe file holds.

    Attributes:
        track: the focus track (keys, marks, raw samples).
        media: the clip it was made for, if known.
        depth: the depth convention used while making it, if known.
        lens: the lens used while making it, if known.
    """

    track: FocusTrack
    media: MediaIdentity | None = None
    depth: DepthMapping | None = None
    lens: LensState | None = None


@dataclass(frozen=True, slots=True)
class LoadedPull:
    """A loaded file and the warnings the user should see (identity mismatch, retiming)."""

    pull: Pull
    warnings: list[str] = field(default_factory=list)
