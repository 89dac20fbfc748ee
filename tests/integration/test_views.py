"""The views service against real Redis and real databases: exact, deduplicated counts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis.asyncio as aioredis
from pydantic import TypeAdapter
from sqlalchemy import text

from services.views.counting import BatchResult, _View, count_views
from services.views.schema import SCHEMA
from services.views.window import VisitorWindow
from shared.contracts.events import ArticlePublished, ViewRecorded
from shared.contracts.lean import lean
from shared.contracts.streams import Streams
from shared.messaging.consuming import Entry
from shared.messaging.redis_client import make_redis
from shared.storage.engines import make_sync_engine
from shared.storage.migrations import prepare_schema
from tests.integration.views_helpers import publish, running_views, view, views_settings
from tests.support import article_published, await_for

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("reset_pg_schema")]


def published(article_id: uuid.UUID, legacy: int) -> ArticlePublished:
    return article_published(article_id, legacy_views=legacy)


async def _total(client: Any, article_id: uuid.UUID, expected: int) -> bool:
    response = await client.get(f"/counts/{article_id}")
    return response.status_code == 200 and response.json()["total"] == expected


async def test_counts_start_from_the_legacy_count_and_dedupe_by_visitor_window(
    place: dict[str, str], redis_url: str, namespace: str
) -> None:
    settings = views_settings(**place)
    article = uuid.uuid4()
    t0 = datetime.now(UTC) - timedelta(hours=2)
    async with running_views(settings) as (_app, client):
        await publish(redis_url, f"{namespace}:articles", [published(article, 1085)])
        await await_for(lambda: _total(client, article, 1085), what="legacy count")

        await publish(
            redis_url,
            f"{namespace}:views",
            [
                view(article, "visitor-a", t0),
                view(article, "visitor-a", t0 + timedelta(minutes=10)),  # within 30 min: once
                view(article, "visitor-a", t0 + timedelta(minutes=31)),  # after the window: again
                view(article, "visitor-b", t0 + timedelta(minutes=1)),
            ],
        )
        await await_for(lambda: _total(client, article, 1085 + 3), what="three counted views")
        # An article update must not reset what was counted.
        await publish(redis_url, f"{namespace}:articles", [published(article, 1085)])
        await publish(redis_url, f"{namespace}:views", [view(article, "visitor-c")])
        await await_for(
            lambda: _total(client, article, 1085 + 4), what="counts kept across updates"
        )


async def test_redelivered_and_duplicated_entries_count_once(
    place: dict[str, str], redis_url: str, namespace: str
) -> None:
    settings = views_settings(**place)
    article = uuid.uuid4()
    events = [view(article, f"v{i}") for i in range(50)]
    async with running_views(settings) as (app, client):
        await publish(redis_url, f"{namespace}:views", events)
        await await_for(lambda: _total(client, article, 50), what="50 views")
        # The same events again (a producer retry or a replay): nothing changes.
        await publish(redis_url, f"{namespace}:views", events + events[:10])
        consumer = app.state.consumers["views"]
        await await_for(lambda: _processed(consumer, 110), what="duplicates processed")
        assert await _total(client, article, 50)


async def _processed(consumer: Any, n: int) -> bool:
    return bool(consumer.processed >= n)


async def test_unique_visitors_within_hyperloglog_error(
    redis_url: str, namespace: str, tmp_path: Any
) -> None:
    settings = views_settings(
        namespace=namespace, redis_url=redis_url, database_url=f"sqlite:///{tmp_path / 'v.db'}"
    )
    article = uuid.uuid4()
    async with running_views(settings) as (_app, client):
        await publish(
            redis_url, f"{namespace}:views", [view(article, f"reader-{i:04d}") for i in range(1000)]
        )
        await await_for(lambda: _total(client, article, 1000), what="1000 views")
        counts = (await client.get(f"/counts/{article}")).json()
        assert counts["today"] == 1000
        assert 1000 * 0.97 <= counts["unique_today"] <= 1000 * 1.03  # HLL: 0.81% standard error


async def test_poison_entry_goes_to_the_dlq_and_later_entries_still_count(
    place: dict[str, str], redis_url: str, namespace: str
) -> None:
    settings = views_settings(**place)
    article = uuid.uuid4()
    async with running_views(settings) as (_app, client):
        await publish(
            redis_url,
            f"{namespace}:views",
            [view(article, "a"), b"\x00garbage{", view(article, "b")],
        )
        await publish(
            redis_url, f"{namespace}:views", [b'{"headers":{},"data":{"type":"view.recorded"}}']
        )
        await publish(redis_url, f"{namespace}:views", [view(article, "c")])
        await await_for(lambda: _total(client, article, 3), what="good views counted")

        raw = aioredis.Redis.from_url(redis_url)
        try:
            dlq = await await_for(
                lambda: _entries(raw, f"{namespace}:views.dlq", 2), what="two dead letters"
            )
            # (two batches may be applied at once: dead letters in either order)
            garbage = next(f for _i, f in dlq if f[b"__data__"] == b"\x00garbage{")
            assert garbage[b"group"] == b"views"
            assert b"invalid entry" in garbage[b"reason"]
            pending = await raw.xpending(f"{namespace}:views", "views")
            assert pending["pending"] == 0  # nothing is stuck
        finally:
            await raw.aclose()


async def _entries(client: Any, stream: str, n: int) -> list[Any] | None:
    entries = await client.xrange(stream)
    return entries if len(entries) >= n else None


async def test_popular_lists_rank_by_recent_views(
    redis_url: str, namespace: str, tmp_path: Any
) -> None:
    settings = views_settings(
        namespace=namespace, redis_url=redis_url, database_url=f"sqlite:///{tmp_path / 'v.db'}"
    )
    hot, warm, old = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    events = (
        [view(hot, f"h{i}") for i in range(5)]
        + [view(warm, f"w{i}") for i in range(3)]
        + [view(old, f"o{i}", now - timedelta(days=3)) for i in range(9)]
    )
    async with running_views(settings) as (_app, client):
        await publish(redis_url, f"{namespace}:views", events)
        await await_for(lambda: _total(client, old, 9), what="all counted")
        day = (await client.get("/popular", params={"window": "24h"})).json()
        week = (await client.get("/popular", params={"window": "7d"})).json()
        assert [(p["article_id"], p["views"]) for p in day] == [(str(hot), 5), (str(warm), 3)]
        assert [p["article_id"] for p in week] == [str(old), str(hot), str(warm)]
        many = (await client.get("/counts", params={"ids": f"{hot},{warm}"})).json()
        assert sorted(c["total"] for c in many) == [3, 5]


async def test_a_batch_applied_again_after_its_commit_changes_nothing(
    database_url: str, redis_url: str, namespace: str
) -> None:
    """A replica that committed a batch and died before the ack: whoever gets the batch
    again finds its entries in the ledger, alone or mixed with new ones."""
    await prepare_schema(SCHEMA, database_url, migrate=True)
    writer = make_sync_engine(database_url, immediate=True)
    window = VisitorWindow(make_redis(redis_url), Streams(namespace), timedelta(minutes=30), 40)
    reader = TypeAdapter(lean(ViewRecorded))
    article = uuid.uuid4()

    def entries(first: int, last: int) -> list[Entry[Any]]:
        return [
            Entry(
                f"1764403200000-{n}",
                reader.validate_json(view(article, f"r{n}").model_dump_json()),
                {},
            )
            for n in range(first, last)
        ]

    try:
        assert await count_views(writer, window, entries(0, 20)) == BatchResult(20, 0, 0)
        assert await count_views(writer, window, entries(0, 20)) == BatchResult(0, 20, 0)
        assert await count_views(writer, window, entries(10, 25)) == BatchResult(5, 10, 0)
        with writer.connect() as conn:
            counted = conn.execute(
                text("SELECT counted FROM article_views WHERE article_id = :a"), {"a": str(article)}
            ).scalar_one()
        assert counted == 25
    finally:
        await window.client.aclose()
        writer.dispose()


async def test_a_large_batch_of_one_article_is_judged_whole(redis_url: str, namespace: str) -> None:
    """NEWSROOM_BATCH_SIZE is the operator's: 9,000 readers of one story in one batch."""
    client = make_redis(redis_url)
    window = VisitorWindow(client, Streams(namespace), timedelta(minutes=30), 40)
    article, now = str(uuid.uuid4()), int(datetime.now(UTC).timestamp() * 1000)
    day = datetime.now(UTC).date().isoformat()
    views = [_View(now + n, f"{now}-{n}", article, f"reader-{n:05d}", "", day) for n in range(9000)]
    try:
        assert await window.claim(views) == [True] * 9000
        (unique,) = await window.unique_counts([article], day)
        assert abs(unique - 9000) <= 9000 * 0.03
    finally:
        await client.aclose()


async def test_a_batch_judged_in_chunks_decides_as_one_call_would(
    redis_url: str, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Repeats of one reader across chunk boundaries: only views 30 minutes apart count."""
    monkeypatch.setattr("services.views.window.CLAIM_CHUNK", 64)  # 300 views: 5 calls
    client = make_redis(redis_url)
    window = VisitorWindow(client, Streams(namespace), timedelta(minutes=30), 40)
    article, start = str(uuid.uuid4()), int(datetime.now(UTC).timestamp() * 1000)
    day = datetime.now(UTC).date().isoformat()
    minute = 60_000
    # One reader viewing every 20 s for 100 minutes.
    views = [
        _View(start + n * minute // 3, f"{start}-{n}", article, "reader-1", "", day)
        for n in range(300)
    ]
    try:
        counted = await window.claim(views)
        assert [n for n, c in enumerate(counted) if c] == [0, 90, 180, 270]
        assert await window.claim(views) == counted  # asked again: the same answers
    finally:
        await client.aclose()
