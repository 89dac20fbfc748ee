"""Followers (every replica reads every entry, no group: the gateway's caches) against
real Redis: an event written while a follower starts, or on a quiet stream between two
of its reads, is still seen; a missed one left a cached page stale for its whole ttl."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

import pytest

from shared.contracts.events import ArticleRef, ArticleUnpublished
from shared.service.skeleton import Follower, Service, build_app
from shared.settings import NewsroomSettings
from tests.support import await_for, publish

pytestmark = pytest.mark.integration


async def remember(body: dict[str, Any], seen: list[str]) -> None:
    seen.append(body["data"]["slug"])


def unpublished(slug: str) -> ArticleUnpublished:
    return ArticleUnpublished(data=ArticleRef(article_id=uuid.uuid4(), slug=slug))


async def test_an_event_written_while_the_follower_starts_is_seen(
    redis_url: str, namespace: str
) -> None:
    seen: list[str] = []
    service: Service[Any, Any] = Service(
        name="gateway",
        parts=lambda kit: SimpleNamespace(seen=seen),
        followers=[Follower("articles", remember, polling_ms=50)],
    )
    settings = NewsroomSettings(namespace=namespace, redis_url=redis_url)
    app = build_app(service, settings)
    stream = settings.streams.articles
    # Written after the app was made and before its first read: with XREAD "$" it was lost.
    await publish(redis_url, stream, [unpublished("before-start")])
    async with app.router.lifespan_context(app):
        await await_for(lambda: _has(seen, "before-start"), what="the event before start")
        await publish(redis_url, stream, [unpublished("after-start")])
        await await_for(lambda: _has(seen, "after-start"), what="the event after start")
    assert seen == ["before-start", "after-start"]


async def _has(seen: list[str], slug: str) -> bool:
    return slug in seen
