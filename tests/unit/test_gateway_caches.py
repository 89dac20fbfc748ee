"""The gateway's caches make room one entry at a time, the least recently used first; rendered
bodies are reused while their sources are the same objects."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.gateway.articles import ArticleParts, Rendered, TtlCache
from services.gateway.catalog import ArticleCatalog
from tests.support import article_published, await_for

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


async def test_a_load_overtaken_by_a_drop_is_not_kept() -> None:
    """A comment approved while the article's comments were loading: the load may predate
    it, so the next reader must not get it from the cache for the whole ttl."""
    import asyncio

    cache: TtlCache[str] = TtlCache(ttl=60)
    started, answered = asyncio.Event(), asyncio.Event()

    async def slow_load() -> str:
        started.set()
        await answered.wait()
        return "before the comment"

    loading = asyncio.ensure_future(cache.fetch("article", slow_load))
    await await_for(started.is_set, what="the load under way")
    cache.drop("article")  # the comments event arrives meanwhile
    answered.set()
    assert await loading == "before the comment"  # answered once
    assert cache.get("article") is None  # not kept: the next read loads again


class FakeIngest:
    """A fake of our own ingest port: answers once ``answered`` is set, counting the asks."""

    def __init__(self, article_id: uuid.UUID) -> None:
        self.article_id = article_id
        self.answered = asyncio.Event()
        self.status = "scheduled"
        self.publish_at: str | None = None
        self.asked = 0

    async def get_json(self, path: str, params: Any = None) -> dict[str, Any]:
        self.asked += 1
        await self.answered.wait()
        return {
            "id": str(self.article_id),
            "slug": "later",
            "title": "لاحقاً",
            "body": [{"kind": "paragraph", "text": "نص"}],
            "status": self.status,
            "revision": 1,
            "author": None,
            "published_on": None,
            "legacy_views": 0,
            "source_url": None,
            "language": "ar",
            "publish_at": self.publish_at,
            "created_at": "2026-12-01T00:00:00Z",
            "updated_at": "2026-12-01T00:00:00Z",
        }


async def test_the_catalog_does_not_keep_an_answer_an_event_overtook() -> None:
    """A scheduled article published while the gateway was asking ingest about it stayed
    hidden for the catalog's whole ttl (seen under load in CI)."""
    article_id = uuid.uuid4()
    ingest = FakeIngest(article_id)
    catalog = ArticleCatalog(ingest, ttl=60)  # type: ignore[arg-type]
    asking = asyncio.ensure_future(catalog.get("later"))
    await await_for(lambda: ingest.asked == 1, what="ingest asked")
    catalog.apply(article_published(article_id, "نص", slug="later", title="لاحقاً"))
    ingest.answered.set()
    assert await asking is None  # ingest's answer predates the publication
    ingest.status = "published"
    found = await catalog.get("later")  # asked again, not served from the cache
    assert found is not None and found.status == "published"


async def test_a_scheduled_article_is_asked_again_once_its_time_has_come() -> None:
    """Its event may be late or missed (a follower's gap once hid one for the whole ttl):
    the catalog knows when it changes and does not keep it past then."""
    ingest = FakeIngest(uuid.uuid4())
    ingest.answered.set()
    ingest.publish_at = (datetime.now(UTC) + timedelta(seconds=0.2)).isoformat()
    catalog = ArticleCatalog(ingest, ttl=60)  # type: ignore[arg-type]
    assert await catalog.get("later") is None
    assert await catalog.get("later") is None and ingest.asked == 1  # cached before its time
    ingest.status = "published"
    found = await await_for(lambda: catalog.get("later"), what="published after its time")
    assert found.status == "published"  # and no event was applied


async def test_a_burst_of_readers_of_an_uncached_article_asks_ingest_once() -> None:
    """A story just published, a feed's twenty articles: every reader asking at once made a
    request to ingest of its own (a cold feed under 64 connections answered nothing in 3 s)."""
    ingest = FakeIngest(uuid.uuid4())
    ingest.status = "published"
    catalog = ArticleCatalog(ingest, ttl=60)  # type: ignore[arg-type]
    readers = [asyncio.ensure_future(catalog.get("later")) for _ in range(50)]
    await await_for(lambda: ingest.asked == 1, what="ingest asked")
    readers[0].cancel()  # one reader goes away: the others still get their answer
    ingest.answered.set()
    answers = await asyncio.gather(*readers[1:])
    assert ingest.asked == 1
    assert {a.slug for a in answers if a is not None} == {"later"} and None not in answers
    assert await catalog.get("later") is answers[0]  # and it is cached


def test_a_rendered_body_is_reused_until_one_of_its_sources_is_a_new_object() -> None:
    rendered = Rendered(10)
    calls: list[int] = []

    def render(n: int) -> bytes:
        calls.append(n)
        return f"feed of {n}".encode()

    first, second = object(), object()
    one = rendered.get("feed", (first, second), lambda: render(2))
    assert rendered.get("feed", (first, second), lambda: render(2)) == one and calls == [2]
    # A new article at the top of the feed: one source more, rendered again, a new ETag.
    three = rendered.get("feed", (object(), first, second), lambda: render(3))
    assert calls == [2, 3] and three[1] != one[1]
    # An article changed (the catalog hands out a new object): rendered again.
    rendered.get("feed", (first, object()), lambda: render(2))
    assert calls == [2, 3, 2]


class FakeComments:
    """A fake of our own comments port: approved comments, oldest first, in pages."""

    def __init__(self, count: int) -> None:
        self.items = [{"id": str(n), "html": f"تعليق {n}"} for n in range(count)]
        self.asked: list[dict[str, Any]] = []

    async def get_json(self, path: str, params: Any = None) -> dict[str, Any]:
        self.asked.append(dict(params))
        start = int(params.get("cursor") or 0)
        end = start + int(params["limit"])
        more = end < len(self.items)
        return {"items": self.items[start:end], "next_cursor": str(end) if more else None}


async def test_an_article_shows_its_comments_past_the_first_page() -> None:
    """The gateway asked for one page of 200: the 201st approved comment, and every newer one,
    never reached a reader."""
    comments = FakeComments(450)
    upstreams = type("FakeUpstreams", (), {"comments": comments})()
    parts = ArticleParts(upstreams, 1.0, 30.0, max_comments=1000)  # type: ignore[arg-type]
    shown = await parts.approved_comments("article")
    assert [c["id"] for c in shown] == [str(n) for n in range(450)]
    assert [a["limit"] for a in comments.asked] == [200, 200, 200]  # three pages, in order

    capped = ArticleParts(upstreams, 1.0, 30.0, max_comments=250)  # type: ignore[arg-type]
    comments.asked.clear()
    assert len(await capped.approved_comments("article")) == 250  # the setting's bound
    assert [a["limit"] for a in comments.asked] == [200, 50]
