"""FrameCache: LRU order, the memory budget, shared arrays counted once, thread safety."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from rackfocus_live.media.decoder import FramePacket
from rackfocus_live.media.framecache import FrameCache


def packet(index: int, nbytes: int = 100, depth: np.ndarray | None = None) -> FramePacket:
    y = np.zeros(nbytes, np.uint8).reshape(1, nbytes)
    return FramePacket(
        index=index, pts=index, time=index / 24, planes=(y,), format="yuv420p",
        depth=depth if depth is not None else np.zeros((1, 1), np.float32), epoch=0,
    )


def test_hit_miss_and_lru_order() -> None:
    cache = FrameCache(budget_bytes=3 * 104)  # three packets of 100 + 4 bytes
    for i in range(3):
        cache.put(packet(i))
    assert cache.get(0) is not None  # 0 is now the most recently used
    cache.put(packet(3))  # evicts the least recently used: 1
    assert 1 not in cache
    assert all(i in cache for i in (0, 2, 3))
    assert cache.get(1) is None
    assert (cache.hits, cache.misses) == (1, 1)
    assert len(cache) == 3 and cache.nbytes == 3 * 104


def test_budget_is_never_exceeded() -> None:
    cache = FrameCache(budget_bytes=1000)
    for i in range(100):
        cache.put(packet(i, nbytes=96 + i % 7))
        assert cache.nbytes <= 1000
    assert 90 <= max(i for i in range(100) if i in cache) <= 99


def test_oversized_packet_is_not_cached_and_evicts_nothing() -> None:
    cache = FrameCache(budget_bytes=500)
    cache.put(packet(0))
    cache.put(packet(1, nbytes=1000))
    assert 1 not in cache and 0 in cache


def test_replacing_an_index_does_not_double_count() -> None:
    cache = FrameCache(budget_bytes=10_000)
    cache.put(packet(5))
    cache.put(packet(5))
    assert len(cache) == 1 and cache.nbytes == 104


def test_shared_depth_is_counted_once_while_any_holder_is_cached() -> None:
    still = np.zeros((10, 10), np.float32)  # 400 bytes, shared by every packet
    cache = FrameCache(budget_bytes=10_000)
    for i in range(5):
        cache.put(packet(i, depth=still))
    assert cache.nbytes == 5 * 100 + 400
    cache.clear()
    assert cache.nbytes == 0 and len(cache) == 0
    # Eviction of some holders keeps the shared array counted; the last one releases it.
    small = FrameCache(budget_bytes=2 * 100 + 400)
    for i in range(4):
        small.put(packet(i, depth=still))
    assert len(small) == 2 and small.nbytes == 600


def test_zero_budget_disables_and_negative_is_rejected() -> None:
    cache = FrameCache(budget_bytes=0)
    cache.put(packet(0))
    assert len(cache) == 0
    with pytest.raises(ValueError):
        FrameCache(budget_bytes=-1)


def test_concurrent_put_and_get_keep_the_accounting_exact() -> None:
    cache = FrameCache(budget_bytes=50 * 104)
    errors: list[BaseException] = []

    def writer(offset: int) -> None:
        try:
            for i in range(300):
                cache.put(packet(offset + i))
                cache.get(offset + i // 2)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k * 1000,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not errors
    assert cache.nbytes == 104 * len(cache) <= 50 * 104
