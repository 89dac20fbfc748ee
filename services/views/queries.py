"""Reading counts: totals, per day, unique visitors, and the popular lists."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import redis.asyncio as aioredis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.events import ViewRecorded
from shared.streams import Streams

from .models import ArticleViews, DailyViews, HourlyViews


class UniqueVisitors:
    """Per-article, per-day unique visitors as Redis HyperLogLogs (≈0.8% standard error).

    PFADD is idempotent, so adding a redelivered view again changes nothing.
    """

    def __init__(self, client: aioredis.Redis, streams: Streams, retention_days: int) -> None:
        self.client = client
        self.streams = streams
        self.ttl = timedelta(days=retention_days)

    def key(self, article_id: uuid.UUID, day: date) -> str:
        return self.streams.key("views", "unique", str(article_id), day.isoformat())

    async def add(self, events: Sequence[ViewRecorded]) -> None:
        groups: dict[str, list[str]] = {}
        for e in events:
            groups.setdefault(
                self.key(e.data.article_id, e.occurred_at.astimezone(UTC).date()), []
            ).append(e.data.visitor_id)
        async with self.client.pipeline(transaction=False) as pipe:
            for key, visitors in groups.items():
                pipe.pfadd(key, *visitors)
                pipe.expire(key, self.ttl)
            await pipe.execute()

    async def count(self, article_ids: Sequence[uuid.UUID], day: date) -> list[int]:
        async with self.client.pipeline(transaction=False) as pipe:
            for article_id in article_ids:
                pipe.pfcount(self.key(article_id, day))
            return [int(n) for n in await pipe.execute()]


async def counts(
    sessions: async_sessionmaker[AsyncSession],
    uniques: UniqueVisitors,
    article_ids: Sequence[uuid.UUID],
    today: date | None = None,
) -> dict[uuid.UUID, dict[str, int]]:
    """Total, today's and today's unique views of the articles we know of."""
    today = today or datetime.now(UTC).date()
    async with sessions() as session:
        totals = {
            row.article_id: row.legacy_views + row.counted
            for row in await session.execute(
                select(
                    ArticleViews.article_id, ArticleViews.legacy_views, ArticleViews.counted
                ).where(ArticleViews.article_id.in_(article_ids))
            )
        }
        daily = {
            row.article_id: row.views
            for row in await session.execute(
                select(DailyViews.article_id, DailyViews.views).where(
                    DailyViews.article_id.in_(list(totals)), DailyViews.day == today
                )
            )
        }
    known = list(totals)
    unique = dict(zip(known, await uniques.count(known, today), strict=True)) if known else {}
    return {
        a: {"total": totals[a], "today": daily.get(a, 0), "unique_today": unique.get(a, 0)}
        for a in known
    }


async def popular(
    sessions: async_sessionmaker[AsyncSession],
    window: timedelta,
    limit: int,
    now: datetime | None = None,
) -> list[tuple[uuid.UUID, int]]:
    since = (now or datetime.now(UTC)) - window
    total = func.sum(HourlyViews.views).label("views")
    query = (
        select(HourlyViews.article_id, total)
        .join(ArticleViews, ArticleViews.article_id == HourlyViews.article_id)
        .where(
            HourlyViews.hour >= since.replace(minute=0, second=0, microsecond=0),
            ArticleViews.status == "published",
        )
        .group_by(HourlyViews.article_id)
        .order_by(total.desc(), HourlyViews.article_id)
        .limit(limit)
    )
    async with sessions() as session:
        return [(row.article_id, int(row.views)) for row in await session.execute(query)]
