"""Counting views exactly once, one transaction per batch.

Redelivered entries change nothing: the ledger (``applied_batches``) records
every committed batch's entry ids in the same transaction as its counts,
and is checked under the write lock. Duplicated events (the same view sent
twice) are repeats within the visitor's window (:mod:`services.views.window`).
Buckets use the event's own time, so a replay lands where the original would.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.consumer import Entry
from shared.db import driver_sql, execute_many
from shared.events import ArticleData, ArticleRef, ViewRecorded

from .window import VisitorWindow

LEDGER_LOCK = 0x7669657773  # "views": serialises ledger check + insert on PostgreSQL


@dataclass(frozen=True)
class BatchResult:
    counted: int
    redelivered: int  # already applied: no effect
    repeats: int  # the same visitor again within the window


def epoch_hour(ts: datetime) -> int:
    return int(ts.timestamp()) // 3600


def sortable(entry_id: str) -> str:
    ms, _, seq = entry_id.partition("-")
    return f"{int(ms):015d}-{int(seq or 0):010d}"


async def _lock(conn: AsyncConnection) -> None:
    # SQLite: the write engine already began with BEGIN IMMEDIATE.
    if conn.dialect.name == "postgresql":
        await conn.exec_driver_sql(
            driver_sql(conn.dialect, "SELECT pg_advisory_xact_lock(?)"), (LEDGER_LOCK,)
        )


async def _applied(conn: AsyncConnection, keys: Sequence[str]) -> set[str]:
    sql = "SELECT entries FROM applied_batches WHERE last_entry >= ? AND first_entry <= ?"
    result = await conn.exec_driver_sql(driver_sql(conn.dialect, sql), (min(keys), max(keys)))
    wanted = set(keys)
    return {k for (entries,) in result for k in entries.split() if k in wanted}


async def count_views(
    engine: AsyncEngine, window: VisitorWindow, entries: Sequence[Entry[ViewRecorded]]
) -> BatchResult:
    keys = [sortable(e.entry_id) for e in entries]
    async with engine.begin() as conn:
        await _lock(conn)
        applied = await _applied(conn, keys)
        fresh = [(k, e) for k, e in zip(keys, entries, strict=True) if k not in applied]
        if not fresh:
            return BatchResult(0, len(entries), 0)
        fresh.sort(key=lambda pair: pair[1].event.occurred_at)
        events = [e.event for _k, e in fresh]
        names: dict[object, str] = {}
        articles = [names.setdefault(v.data.article_id, str(v.data.article_id)) for v in events]
        counts = await window.claim(events, articles, [e.entry_id for _k, e in fresh])

        per_article: Counter[str] = Counter()
        per_hour: Counter[tuple[str, int]] = Counter()
        per_day: Counter[tuple[str, str]] = Counter()
        for event, article, counts_now in zip(events, articles, counts, strict=True):
            if counts_now:
                at = event.occurred_at
                per_article[article] += 1
                per_hour[(article, epoch_hour(at))] += 1
                per_day[(article, at.astimezone(UTC).date().isoformat())] += 1

        fresh_keys = sorted(k for k, _e in fresh)
        await execute_many(
            conn,
            "INSERT INTO applied_batches (first_entry, last_entry, entries, applied_at) VALUES (?, ?, ?, ?)",
            [(fresh_keys[0], fresh_keys[-1], " ".join(fresh_keys), int(time.time()))],
        )
        await execute_many(
            conn,
            "INSERT INTO article_views (article_id, legacy_views, counted, status) "
            "VALUES (?, 0, ?, 'published') ON CONFLICT (article_id) "
            "DO UPDATE SET counted = article_views.counted + excluded.counted",
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
    return BatchResult(counted, len(entries) - len(fresh), len(fresh) - counted)


async def record_article(engine: AsyncEngine, data: ArticleData | ArticleRef) -> None:
    """Keep the article's legacy count (the base of its total) and its status; idempotent."""
    async with engine.begin() as conn:
        if isinstance(data, ArticleData):
            await execute_many(
                conn,
                "INSERT INTO article_views (article_id, legacy_views, counted, status) "
                "VALUES (?, ?, 0, 'published') ON CONFLICT (article_id) "
                "DO UPDATE SET legacy_views = excluded.legacy_views, status = 'published'",
                [(str(data.article_id), data.legacy_views)],
            )
        else:
            await execute_many(
                conn,
                "INSERT INTO article_views (article_id, legacy_views, counted, status) "
                "VALUES (?, 0, 0, 'unpublished') ON CONFLICT (article_id) DO UPDATE SET status = 'unpublished'",
                [(str(data.article_id),)],
            )
