"""Counting views exactly once, one transaction per batch.

A view counts unless its event was already applied (a redelivery: it is in
``processed_events``) or the visitor's window says it is a repeat (see
:mod:`services.views.window`). Buckets use the event's own time, so a
replay lands where the original would have.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import driver_sql, execute_many
from shared.events import ArticleData, ArticleRef, ViewRecorded

from .window import VisitorWindow

EPOCH_HOUR = 3600


@dataclass(frozen=True)
class BatchResult:
    counted: int
    duplicates: int  # already applied (redelivered or sent twice)
    repeats: int  # the same visitor again within the window


def epoch_hour(ts: datetime) -> int:
    return int(ts.timestamp()) // EPOCH_HOUR


async def already_applied(engine: AsyncEngine, event_ids: Sequence[str]) -> set[str]:
    if not event_ids:
        return set()
    sql = f"SELECT event_id FROM processed_events WHERE event_id IN ({','.join('?' * len(event_ids))})"
    async with engine.connect() as conn:
        result = await conn.exec_driver_sql(driver_sql(conn.dialect, sql), tuple(event_ids))
        return {row[0] for row in result}


async def count_views(
    engine: AsyncEngine, window: VisitorWindow, events: Sequence[ViewRecorded]
) -> BatchResult:
    by_id = {e.event_id.hex: e for e in events}  # the same event twice in a batch counts once
    applied = await already_applied(engine, list(by_id))
    fresh = sorted((e for i, e in by_id.items() if i not in applied), key=lambda e: e.occurred_at)
    duplicates = len(events) - len(fresh)
    if not fresh:
        return BatchResult(0, duplicates, 0)

    counts = await window.claim(fresh)
    per_article: Counter[str] = Counter()
    per_hour: Counter[tuple[str, int]] = Counter()
    per_day: Counter[tuple[str, str]] = Counter()
    for event, counts_now in zip(fresh, counts, strict=True):
        if not counts_now:
            continue
        article = str(event.data.article_id)
        per_article[article] += 1
        per_hour[(article, epoch_hour(event.occurred_at))] += 1
        per_day[(article, event.occurred_at.astimezone(UTC).date().isoformat())] += 1

    now = int(time.time())
    async with engine.begin() as conn:
        # A concurrent replica that applied one of these first makes this insert fail:
        # the batch rolls back and is retried, and the retry skips what is applied.
        await execute_many(
            conn,
            "INSERT INTO processed_events (event_id, processed_at) VALUES (?, ?)",
            [(e.event_id.hex, now) for e in fresh],
        )
        await execute_many(
            conn,
            "INSERT INTO article_views (article_id, legacy_views, counted, status) VALUES (?, 0, ?, 'published') "
            "ON CONFLICT (article_id) DO UPDATE SET counted = article_views.counted + excluded.counted",
            list(per_article.items()),
        )
        await execute_many(
            conn,
            "INSERT INTO hourly_views (article_id, hour, views) VALUES (?, ?, ?) "
            "ON CONFLICT (article_id, hour) DO UPDATE SET views = hourly_views.views + excluded.views",
            [(a, h, n) for (a, h), n in per_hour.items()],
        )
        await execute_many(
            conn,
            "INSERT INTO daily_views (article_id, day, views) VALUES (?, ?, ?) "
            "ON CONFLICT (article_id, day) DO UPDATE SET views = daily_views.views + excluded.views",
            [(a, d, n) for (a, d), n in per_day.items()],
        )
    counted = sum(per_article.values())
    return BatchResult(counted, duplicates, len(fresh) - counted)


async def record_article(engine: AsyncEngine, data: ArticleData | ArticleRef) -> None:
    """Keep the article's legacy count (the base of its total) and its status; idempotent."""
    async with engine.begin() as conn:
        if isinstance(data, ArticleData):
            await execute_many(
                conn,
                "INSERT INTO article_views (article_id, legacy_views, counted, status) VALUES (?, ?, 0, 'published') "
                "ON CONFLICT (article_id) DO UPDATE SET legacy_views = excluded.legacy_views, status = 'published'",
                [(str(data.article_id), data.legacy_views)],
            )
        else:
            await execute_many(
                conn,
                "INSERT INTO article_views (article_id, legacy_views, counted, status) VALUES (?, 0, 0, 'unpublished') "
                "ON CONFLICT (article_id) DO UPDATE SET status = 'unpublished'",
                [(str(data.article_id),)],
            )
