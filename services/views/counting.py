"""Counting views exactly once, in one transaction per batch.

A view counts unless its event was already counted (redelivery), or the same
visitor's view of the same article already counted within the dedupe window.
Buckets use the event's own time, so a replay lands where the original would.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import insert_for
from shared.events import ArticleData, ArticleRef, ViewRecorded

from .models import ArticleViews, DailyViews, HourlyViews, ProcessedEvent, VisitorLastView


@dataclass(frozen=True)
class BatchResult:
    counted: int
    duplicates: int  # redelivered events, already counted
    within_window: int  # repeat views of the same visitor


def _hour(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _day(ts: datetime) -> date:
    return ts.astimezone(UTC).date()


async def count_views(
    sessions: async_sessionmaker[AsyncSession],
    events: Sequence[ViewRecorded],
    window: timedelta,
) -> BatchResult:
    async with sessions() as session, session.begin():
        return await _count(session, events, window)


async def _count(
    session: AsyncSession, events: Sequence[ViewRecorded], window: timedelta
) -> BatchResult:
    insert = insert_for(session.bind.dialect.name)
    by_id = {e.event_id: e for e in events}  # the same entry twice in one batch counts once
    seen = set(
        await session.scalars(
            select(ProcessedEvent.event_id).where(ProcessedEvent.event_id.in_(by_id))
        )
    )
    fresh = sorted((e for i, e in by_id.items() if i not in seen), key=lambda e: e.occurred_at)
    duplicates = len(events) - len(fresh)
    if not fresh:
        return BatchResult(0, duplicates, 0)

    keys = set()
    for e in fresh:
        keys.add((e.data.article_id, e.data.visitor_id))
        if e.data.previous_visitor_id:
            keys.add((e.data.article_id, e.data.previous_visitor_id))
    last: dict[tuple[uuid.UUID, str], datetime] = {
        (row.article_id, row.visitor_id): row.counted_at
        for row in await session.execute(
            select(
                VisitorLastView.article_id, VisitorLastView.visitor_id, VisitorLastView.counted_at
            ).where(tuple_(VisitorLastView.article_id, VisitorLastView.visitor_id).in_(list(keys)))
        )
    }

    per_article: Counter[uuid.UUID] = Counter()
    per_hour: Counter[tuple[uuid.UUID, datetime]] = Counter()
    per_day: Counter[tuple[uuid.UUID, date]] = Counter()
    touched: dict[tuple[uuid.UUID, str], datetime] = {}
    within_window = 0
    for e in fresh:
        key = (e.data.article_id, e.data.visitor_id)
        previous = [last.get(key)]
        if e.data.previous_visitor_id:
            previous.append(last.get((e.data.article_id, e.data.previous_visitor_id)))
        recent = [p for p in previous if p is not None and e.occurred_at - p < window]
        if recent:
            within_window += 1
            continue
        last[key] = touched[key] = e.occurred_at
        per_article[e.data.article_id] += 1
        per_hour[(e.data.article_id, _hour(e.occurred_at))] += 1
        per_day[(e.data.article_id, _day(e.occurred_at))] += 1

    now = datetime.now(UTC)
    await session.execute(
        insert(ProcessedEvent), [{"event_id": e.event_id, "processed_at": now} for e in fresh]
    )
    if touched:
        stmt = insert(VisitorLastView)
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=["article_id", "visitor_id"],
                set_={"counted_at": stmt.excluded.counted_at},
            ),
            [{"article_id": a, "visitor_id": v, "counted_at": t} for (a, v), t in touched.items()],
        )
    if per_article:
        stmt = insert(ArticleViews)
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=["article_id"],
                set_={"counted": ArticleViews.counted + stmt.excluded.counted},
            ),
            [
                {"article_id": a, "counted": n, "legacy_views": 0, "status": "published"}
                for a, n in per_article.items()
            ],
        )
        stmt = insert(HourlyViews)
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=["article_id", "hour"],
                set_={"views": HourlyViews.views + stmt.excluded.views},
            ),
            [{"article_id": a, "hour": h, "views": n} for (a, h), n in per_hour.items()],
        )
        stmt = insert(DailyViews)
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=["article_id", "day"],
                set_={"views": DailyViews.views + stmt.excluded.views},
            ),
            [{"article_id": a, "day": d, "views": n} for (a, d), n in per_day.items()],
        )
    return BatchResult(sum(per_article.values()), duplicates, within_window)


async def record_article(
    sessions: async_sessionmaker[AsyncSession], data: ArticleData | ArticleRef
) -> None:
    """Keep the article's legacy count (the base of its total) and its status; idempotent."""
    published = isinstance(data, ArticleData)
    values = {
        "article_id": data.article_id,
        "legacy_views": data.legacy_views if isinstance(data, ArticleData) else 0,
        "counted": 0,
        "status": "published" if published else "unpublished",
    }
    async with sessions() as session, session.begin():
        stmt = insert_for(session.bind.dialect.name)(ArticleViews)
        update = {"status": stmt.excluded.status}
        if published:
            update["legacy_views"] = stmt.excluded.legacy_views
        await session.execute(
            stmt.on_conflict_do_update(index_elements=["article_id"], set_=update), [values]
        )
