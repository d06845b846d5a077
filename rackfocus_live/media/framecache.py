"""A bounded LRU of decoded frames, so scrubbing back and forth over recent frames never decodes.

The budget counts the bytes of the numpy arrays packets hold. Arrays shared between packets (a
depth still, or a depth frame held over several clip frames) count once, for as long as any cached
packet holds them. The cache is shared by the decoder thread (which fills it) and the main thread
(which answers a seek from it at once), so every method takes a lock.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from rackfocus_live.media.decoder import FramePacket

#: Default memory budget: 1 GiB (about 340 frames of 1080p 4:2:0 with full-resolution depth).
DEFAULT_BUDGET_BYTES = 1 << 30


@dataclass
class _Held:
    """An array counted in the budget and how many cached packets hold it."""

    array: np.ndarray
    refs: int


class FrameCache:
    """LRU of :class:`FramePacket` by frame index, bounded by a memory budget.

    Args:
        budget_bytes: the most array bytes kept; 0 disables caching.

    Attributes:
        hits: lookups answered from the cache.
        misses: lookups that were not.
    """

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        if budget_bytes < 0:
            raise ValueError("cache budget must be >= 0 bytes")
        self.budget_bytes = budget_bytes
        self._packets: OrderedDict[int, FramePacket] = OrderedDict()
        # id(array) -> the array and its holders; the reference keeps the id from being reused
        # while it is counted.
        self._arrays: dict[int, _Held] = {}
        self._nbytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def nbytes(self) -> int:
        """Bytes of the arrays currently cached."""
        return self._nbytes

    def __len__(self) -> int:
        return len(self._packets)

    def __contains__(self, index: object) -> bool:
        with self._lock:
            return index in self._packets

    def get(self, index: int) -> FramePacket | None:
        """The cached packet for frame ``index`` (now the most recently used), or None."""
        with self._lock:
            packet = self._packets.get(index)
            if packet is None:
                self.misses += 1
                return None
            self._packets.move_to_end(index)
            self.hits += 1
            return packet

    def put(self, packet: FramePacket) -> None:
        """Cache ``packet`` (replacing one of the same index), evicting the least recently used
        frames until the budget holds. A packet larger than the whole budget is not cached."""
        with self._lock:
            if packet.index in self._packets:
                self._remove(packet.index)
            added = sum(
                int(a.nbytes) for a in _arrays_of(packet) if id(a) not in self._arrays
            )
            if added > self.budget_bytes:
                return
            while self._packets and self._nbytes + added > self.budget_bytes:
                self._remove(next(iter(self._packets)))
            self._packets[packet.index] = packet
            for arr in _arrays_of(packet):
                held = self._arrays.get(id(arr))
                if held is None:
                    self._arrays[id(arr)] = _Held(arr, 1)
                    self._nbytes += int(arr.nbytes)
                else:
                    held.refs += 1

    def clear(self) -> None:
        """Drop everything (statistics are kept)."""
        with self._lock:
            self._packets.clear()
            self._arrays.clear()
            self._nbytes = 0

    def _remove(self, index: int) -> None:
        packet = self._packets.pop(index)
        for arr in _arrays_of(packet):
            held = self._arrays[id(arr)]
            held.refs -= 1
            if held.refs == 0:
                del self._arrays[id(arr)]
                self._nbytes -= int(arr.nbytes)


def _arrays_of(packet: FramePacket) -> list[np.ndarray]:
    # One entry per distinct array object (a packet could in principle repeat one).
    seen: dict[int, np.ndarray] = {}
    for arr in (*packet.planes, packet.depth):
        seen.setdefault(id(arr), arr)
    return list(seen.values())
