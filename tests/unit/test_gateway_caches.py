"""The gateway's caches make room one entry at a time, the least recently used first."""

from __future__ import annotations

import pytest

from services.gateway.articles import TtlCache

pytestmark = pytest.mark.unit


def test_a_full_cache_drops_only_its_least_recently_used_entry() -> None:
    cache: TtlCache[int] = TtlCache(ttl=60, max_entries=3)
    for n in range(3):
        cache.put(f"k{n}", n)
    assert cache.get("k0") == 0  # k0 is now the most recently used
    cache.put("k3", 3)
    assert cache.get("k1") is None  # the one evicted
    assert [cache.get(k) for k in ("k0", "k2", "k3")] == [0, 2, 3]


async def test_an_expired_value_is_served_while_one_refresh_runs() -> None:
    cache: TtlCache[int] = TtlCache(ttl=0, max_entries=10)
    cache.put("a", 1)
    loads = 0

    async def load() -> int:
        nonlocal loads
        loads += 1
        return 2

    assert await cache.fetch("a", load) == 1  # stale, a refresh started
    assert await cache.fetch("a", load) == 1
    assert loads <= 1
