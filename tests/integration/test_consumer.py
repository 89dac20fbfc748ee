"""The reliable consumer on a real Redis: what it was given, it applies before it stops,
and a consumer group lost with an unpersisted Redis comes back by itself."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis.asyncio as aioredis
from opentelemetry.sdk.trace import TracerProvider

from shared.contracts.events import ViewData, ViewRecorded
from shared.contracts.wire import DATA_FIELD, encode_envelope
from shared.messaging.broker import make_broker
from shared.messaging.consuming import Entry, StreamConsumer, start_consumers, stop_consumers
from shared.settings import NewsroomSettings
from tests.support import await_for

pytestmark = pytest.mark.integration


def _view(n: int) -> bytes:
    event = ViewRecorded(data=ViewData(article_id=uuid.uuid4(), visitor_id=f"visitor-{n:04d}"))
    return encode_envelope(event.model_dump_json().encode(), {})


@dataclass
class ViewsConsumer:
    """A views consumer on the test's stream, and what it applied."""

    consumer: StreamConsumer[ViewRecorded]
    client: aioredis.Redis
    broker: object
    stream: str
    applied: list[str] = field(default_factory=list)


@pytest.fixture
async def views(redis_url: str, namespace: str) -> AsyncIterator[ViewsConsumer]:
    settings = NewsroomSettings(redis_url=redis_url, namespace=namespace)
    provider = TracerProvider()
    broker = make_broker(settings, provider)
    client = aioredis.Redis.from_url(redis_url)
    applied: list[str] = []

    async def apply(entries: Sequence[Entry[ViewRecorded]]) -> None:
        applied.extend(e.entry_id for e in entries)

    consumer = StreamConsumer[ViewRecorded](
        broker=broker,
        client=client,
        stream=f"{namespace}:views",
        group="views",
        consumer="replica-1",
        event_type=ViewRecorded,
        apply=apply,
        claim_idle_ms=60_000,  # nobody else's entries to take over in these tests
        tracer_provider=provider,
    )
    yield ViewsConsumer(consumer, client, broker, f"{namespace}:views", applied)
    await client.aclose()


async def test_entries_delivered_but_not_handled_are_applied_before_stopping(
    views: ViewsConsumer,
) -> None:
    client, stream = views.client, views.stream
    await views.consumer.ensure_group()
    ids = [await client.xadd(stream, {DATA_FIELD: _view(n)}) for n in range(10)]
    # Delivered to this consumer, as a read cut short by a stop leaves them: pending, unhandled.
    await client.xreadgroup("views", "replica-1", {stream: ">"}, count=100)
    await start_consumers(views.broker, [views.consumer])  # type: ignore[arg-type]
    await stop_consumers(views.broker, [views.consumer])  # type: ignore[arg-type]
    assert sorted(views.applied) == sorted(i.decode() for i in ids)
    assert (await client.xpending(stream, "views"))["pending"] == 0


async def test_stopping_ends_every_read_before_the_connections_close(
    views: ViewsConsumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read still running when the broker closes its connections ends on the closed
    socket and is logged as "Message fetch error: Connection closed by server", as if Redis
    had failed, at nearly every stop."""
    await start_consumers(views.broker, [views.consumer])  # type: ignore[arg-type]
    readers = list(views.consumer.reader.subscriber.tasks)
    assert readers and not any(task.done() for task in readers)
    reading_at_close: list[bool] = []
    disconnect = aioredis.ConnectionPool.disconnect

    async def spied(pool: aioredis.ConnectionPool, *args: Any, **kwargs: Any) -> None:
        reading_at_close.append(any(not task.done() for task in readers))
        await disconnect(pool, *args, **kwargs)

    monkeypatch.setattr(aioredis.ConnectionPool, "disconnect", spied)
    await stop_consumers(views.broker, [views.consumer])  # type: ignore[arg-type]
    assert reading_at_close and not any(reading_at_close)


async def test_a_lost_consumer_group_is_recreated_and_reading_resumes(views: ViewsConsumer) -> None:
    client, stream, applied = views.client, views.stream, views.applied
    await start_consumers(views.broker, [views.consumer])  # type: ignore[arg-type]
    try:
        await client.xadd(stream, {DATA_FIELD: _view(1)})
        await await_for(lambda: len(applied) == 1, what="the first view applied")
        await client.delete(stream)  # what a Redis restarted without persistence looks like
        await await_for(lambda: _group_exists(client, stream), what="the group recreated")
        second: str = (await client.xadd(stream, {DATA_FIELD: _view(2)})).decode()
        await await_for(lambda: second in applied, what="reading again")
    finally:
        await stop_consumers(views.broker, [views.consumer])  # type: ignore[arg-type]


async def _group_exists(client: aioredis.Redis, stream: str) -> bool:
    try:
        return any(g["name"] == b"views" for g in await client.xinfo_groups(stream))
    except aioredis.ResponseError:
        return False
