"""The outbox never loses an event: Redis down at commit time → published when it is back."""

from __future__ import annotations

import asyncio
import uuid
import warnings
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import DeclarativeBase

from newsroom.embedded_redis import EmbeddedRedis
from shared.contracts.events import ArticleRef, ArticleUnpublished
from shared.contracts.streams import Streams
from shared.contracts.wire import decode_envelope
from shared.messaging.broker import make_broker
from shared.messaging.outbox import OutboxColumns, OutboxRelay, outbox_row
from shared.settings import NewsroomSettings
from shared.storage.engines import make_engine, session_factory
from tests.conftest import SEED
from tests.integration.ingest_helpers import EDITOR, ingest_settings, running_ingest
from tests.support import await_for

pytestmark = pytest.mark.integration


async def test_event_committed_while_redis_is_down_is_published_when_it_returns(
    tmp_path: Path,
) -> None:
    server = EmbeddedRedis(tmp_path / "redis", appendonly=False)
    server.start()
    settings = ingest_settings(
        namespace="outbox-drill",
        redis_url=server.url,
        database_url=f"sqlite:///{tmp_path / 'ingest.db'}",
    )
    try:
        async with running_ingest(settings) as (app, client):
            relay = app.state.parts.relay
            server.kill()

            response = await client.post(
                "/articles/import",
                content=SEED.read_bytes(),
                headers={**EDITOR, "Content-Type": "text/plain"},
            )
            assert response.status_code == 201  # accepted: the article and its event are committed
            article_id = response.json()["article"]["id"]
            await await_for(lambda: _is_failing(relay), what="relay to notice Redis is down")
            assert await relay.pending() == 1

            restarted = EmbeddedRedis(tmp_path / "redis", port=server.port, appendonly=False)
            restarted.start()
            server = restarted

            async def published() -> list[dict[str, object]]:
                reader = aioredis.Redis.from_url(server.url)
                try:
                    return [
                        decode_envelope(f)[1]
                        for _i, f in await reader.xrange("outbox-drill:articles")
                    ]
                finally:
                    await reader.aclose()

            events = await await_for(published, timeout=20, what="the held event on the stream")
            assert [e["type"] for e in events] == ["article.published"]
            assert events[0]["data"]["article_id"] == article_id  # type: ignore[index]
            assert await relay.pending() == 0
    finally:
        server.stop()


async def _is_failing(relay: object) -> bool:
    return getattr(relay, "failing_since", None) is not None


class _Base(DeclarativeBase):
    pass


class _Outbox(OutboxColumns, _Base):
    __tablename__ = "race_outbox"


async def test_replicas_relaying_one_sqlite_outbox_publish_each_event_once(
    tmp_path: Path, redis_url: str, namespace: str
) -> None:
    """Two replicas of a service on one SQLite file (``newsroom up --scale``, or two
    versions during an upgrade) relay its outbox by turns, not both."""
    engine, sessions = await _outbox_database(tmp_path / "race.db")
    events = [
        ArticleUnpublished(data=ArticleRef(article_id=uuid.uuid4(), slug="s")) for _ in range(300)
    ]
    async with sessions() as session, session.begin():
        await session.execute(insert(_Outbox), [outbox_row(e, "articles") for e in events])
    settings = NewsroomSettings(redis_url=redis_url, namespace=namespace)
    brokers = [make_broker(settings, TracerProvider()) for _ in range(2)]
    client = aioredis.Redis.from_url(redis_url)
    relays = [
        OutboxRelay(
            sessions, _Outbox, b, Streams(namespace), maxlen=10_000, batch_size=20, redis=client
        )
        for b in brokers
    ]
    try:
        for broker in brokers:
            await broker.connect()
        tasks = [asyncio.create_task(r.run()) for r in relays]
        await await_for(lambda: _all_published(relays[0]), what="the outbox relayed")
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        reader = aioredis.Redis.from_url(redis_url)
        try:
            ids = [
                decode_envelope(f)[1]["event_id"]
                for _i, f in await reader.xrange(f"{namespace}:articles")
            ]
        finally:
            await reader.aclose()
        assert sorted(ids) == sorted(str(e.event_id) for e in events)  # each once
    finally:
        for broker in brokers:
            await broker.stop()
        await client.aclose()
        await engine.dispose()


async def _outbox_database(path: Path) -> tuple[AsyncEngine, Any]:
    engine = make_engine(f"sqlite:///{path}")
    async with engine.begin() as conn:
        await conn.run_sync(_Base.metadata.create_all)
    return engine, session_factory(engine)


async def _all_published(relay: OutboxRelay) -> bool:
    return await relay.pending() == 0


async def _committed_around_one_refused(
    sessions: Any, before: int, after: int
) -> tuple[list[ArticleUnpublished], ArticleUnpublished, list[ArticleUnpublished]]:
    """Events committed to the outbox in order: ``before`` for ``articles``, one for
    ``comments`` (which the test makes refuse it), ``after`` for ``articles``."""

    def event() -> ArticleUnpublished:
        return ArticleUnpublished(data=ArticleRef(article_id=uuid.uuid4(), slug="a"))

    first, stuck, rest = [event() for _ in range(before)], event(), [event() for _ in range(after)]
    async with sessions() as session, session.begin():
        await session.execute(
            insert(_Outbox),
            [outbox_row(e, "articles") for e in first]
            + [outbox_row(stuck, "comments")]
            + [outbox_row(e, "articles") for e in rest],
        )
    return first, stuck, rest


async def test_a_pipelined_batch_that_fails_midway_keeps_the_rest_pending(
    tmp_path: Path, redis_url: str, namespace: str
) -> None:
    """A batch goes out in one pipeline: what Redis refused, and everything after it, stays
    pending and goes out again next time, so a stream never shows an event after one that
    was written later; nothing before the refusal goes out twice."""
    engine, sessions = await _outbox_database(tmp_path / "pipe.db")
    first, stuck, after = await _committed_around_one_refused(sessions, 5, 4)
    client = aioredis.Redis.from_url(redis_url)
    await client.set(f"{namespace}:comments", "not a stream")  # XADD there: WRONGTYPE
    broker = make_broker(
        NewsroomSettings(redis_url=redis_url, namespace=namespace), TracerProvider()
    )
    relay = OutboxRelay(
        sessions, _Outbox, broker, Streams(namespace), maxlen=10_000, batch_size=50, redis=client
    )

    async def ids(stream: str) -> list[str]:
        entries = await client.xrange(f"{namespace}:{stream}")
        return [decode_envelope(f)[1]["event_id"] for _i, f in entries]

    try:
        await broker.connect()
        with pytest.raises(Exception, match="WRONGTYPE"):
            await relay.relay_once()
        assert await relay.pending() == 5  # the refused event and the four after it
        # The pipeline went on past the refusal: the four after it are on the stream
        # already, and go again with it (consumers deduplicate on event_id).
        assert await ids("articles") == [str(e.event_id) for e in first + after]

        await client.delete(f"{namespace}:comments")
        assert await relay.relay_once() == 5
        assert await relay.pending() == 0
        assert await ids("comments") == [str(stuck.event_id)]
        assert await ids("articles") == [str(e.event_id) for e in first + after + after]
    finally:
        await client.delete(f"{namespace}:articles", f"{namespace}:comments")
        await client.aclose()
        await broker.stop()
        await engine.dispose()


async def test_on_a_cluster_a_batch_stops_at_the_refusal_and_the_rest_stays_pending(
    tmp_path: Path, redis_cluster: Any, namespace: str
) -> None:
    """FastStream's cluster broker takes no pipeline: the relay publishes one event at a
    time there (no warning per batch), stops at the first refusal, and sends the rest
    next time, in order, nothing twice."""
    engine, sessions = await _outbox_database(tmp_path / "cluster.db")
    first, stuck, after = await _committed_around_one_refused(sessions, 3, 2)
    streams = Streams(namespace, cluster=True)
    client = aioredis.RedisCluster.from_url(redis_cluster.url)
    await client.set(streams.key("comments"), "not a stream")  # XADD there: WRONGTYPE
    settings = NewsroomSettings(
        redis_url=redis_cluster.url, namespace=namespace, redis_cluster=True
    )
    broker = make_broker(settings, TracerProvider())
    relay = OutboxRelay(
        sessions, _Outbox, broker, streams, maxlen=10_000, batch_size=50, redis=client
    )

    async def ids(stream: str) -> list[str]:
        entries = await client.xrange(streams.key(stream))
        return [decode_envelope(f)[1]["event_id"] for _i, f in entries]

    try:
        await broker.connect()
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # "Pipeline is not supported…"
            with pytest.raises(Exception, match="WRONGTYPE"):
                await relay.relay_once()
            assert await relay.pending() == 3  # the refused event and the two after it
            assert await ids("articles") == [str(e.event_id) for e in first]

            await client.delete(streams.key("comments"))
            assert await relay.relay_once() == 3
        assert await relay.pending() == 0
        assert await ids("comments") == [str(stuck.event_id)]
        assert await ids("articles") == [str(e.event_id) for e in first + after]
    finally:
        await client.delete(streams.key("articles"), streams.key("comments"))
        await client.aclose()
        await broker.stop()
        await engine.dispose()
