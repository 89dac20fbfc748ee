"""The comments service against real Redis and real databases: idempotent, poison-proof."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from services.comments.app import create_app
from services.comments.settings import CommentsSettings
from shared.contracts.wire import decode_envelope
from tests.support import (
    Running,
    article_published,
    await_for,
    comment_submission,
    publish,
    serving,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("reset_pg_schema")]


def running(settings: CommentsSettings) -> AbstractAsyncContextManager[Running]:
    return serving(create_app(settings), "comments")


async def _entries(redis_url: str, stream: str) -> list[Any]:
    client = aioredis.Redis.from_url(redis_url)
    try:
        return list(await client.xrange(stream))
    finally:
        await client.aclose()


@pytest.fixture
def settings(place: dict[str, str]) -> CommentsSettings:
    return CommentsSettings(**place, claim_idle_ms=500)


@pytest.fixture
async def comments(
    settings: CommentsSettings, redis_url: str, namespace: str
) -> AsyncIterator[tuple[httpx.AsyncClient, uuid.UUID]]:
    """The comments service running, and an article it knows of."""
    article_id = uuid.uuid4()
    async with running(settings) as (_app, client):
        await publish(redis_url, f"{namespace}:articles", [article_published(article_id)])
        yield client, article_id


async def test_a_redelivered_submission_is_decided_and_announced_once(
    comments: tuple[httpx.AsyncClient, uuid.UUID], redis_url: str, namespace: str
) -> None:
    client, article_id = comments
    event = comment_submission(article_id, 1)

    async def known() -> bool:
        await publish(redis_url, f"{namespace}:comments.submitted", [event])
        return (await client.get(f"/comments/{event.data.comment_id}")).status_code == 200

    await await_for(
        known, what="the comment decided"
    )  # may publish it more than once: that is the test
    await publish(redis_url, f"{namespace}:comments.submitted", [event, event])

    async def announced() -> list[Any] | None:
        entries = await _entries(redis_url, f"{namespace}:comments")
        return entries or None

    decisions = await await_for(announced, what="the decision event")
    status = (await client.get(f"/comments/{event.data.comment_id}")).json()
    assert status["status"] == "approved"
    listed = (await client.get(f"/articles/{article_id}/comments")).json()["items"]
    assert [c["id"] for c in listed] == [str(event.data.comment_id)]

    headers, data = decode_envelope(decisions[0][1])
    assert data["type"] == "comment.approved"
    assert data["data"]["comment_id"] == str(event.data.comment_id)
    assert "email" not in data["data"]
    assert headers["traceparent"].startswith("00-")
    # Later submissions still flow; the duplicates produced nothing more.
    other = comment_submission(article_id, 2)
    await publish(redis_url, f"{namespace}:comments.submitted", [other])

    async def two() -> bool:
        return len(await _entries(redis_url, f"{namespace}:comments")) >= 2

    await await_for(two, what="the second decision")
    assert len(await _entries(redis_url, f"{namespace}:comments")) == 2


async def test_poison_submission_goes_to_the_dlq_and_the_consumer_goes_on(
    comments: tuple[httpx.AsyncClient, uuid.UUID], redis_url: str, namespace: str
) -> None:
    client, article_id = comments
    good = comment_submission(article_id, 3)
    await publish(
        redis_url,
        f"{namespace}:comments.submitted",
        [
            b"not json at all",
            b'{"headers":{},"data":{"type":"comment.submitted","data":{"name":"x"}}}',
            good,
        ],
    )

    async def decided() -> bool:
        return (await client.get(f"/comments/{good.data.comment_id}")).status_code == 200

    await await_for(decided, what="the good comment decided")
    dlq = await await_for(
        lambda: _dead(redis_url, f"{namespace}:comments.submitted.dlq"), what="two dead letters"
    )
    assert dlq[0][1][b"__data__"] == b"not json at all"
    assert all(e[1][b"group"] == b"comments" for e in dlq)


async def _dead(redis_url: str, stream: str) -> list[Any] | None:
    entries = await _entries(redis_url, stream)
    return entries if len(entries) >= 2 else None
