"""Reading counts: totals, per day, unique visitors, and the popular lists."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from .counting import epoch_hour
from .models import ArticleViews, DailyViews, HourlyViews
from .window import VisitorWindow


async def counts(
    engine: AsyncEngine, window: VisitorWindow, article_ids: Sequence[str], today: str | None = None
) -> dict[str, dict[str, int]]:
    """Total, today's and today's unique views of the articles we know of."""
    today = today or datetime.now(UTC).date().isoformat()
    async with engine.connect() as conn:
        totals = {
            row.article_id: row.legacy_views + row.counted
            for row in await conn.execute(
                select(
                    ArticleViews.article_id, ArticleViews.legacy_views, ArticleViews.counted
                ).where(ArticleViews.article_id.in_(article_ids))
            )
        }
        daily = {
            row.article_id: row.views
            for row in await conn.execute(
                select(DailyViews.article_id, DailyViews.views).where(
                    DailyViews.article_id.in_(list(totals)), DailyViews.day == today
                )
            )
        }
    known = list(totals)
    unique = (
        dict(zip(known, await window.unique_counts(known, today), strict=True)) if known else {}
    )
    return {
        a: {"total": totals[a], "today": daily.get(a, 0), "unique_today": unique.get(a, 0)}
        for a in known
    }


async def popular(
    engine: AsyncEngine, span: timedelta, limit: int, now: datetime | None = None
) -> list[tuple[str, int]]:
    since = epoch_hour((now or datetime.now(UTC)) - span)
    total = func.sum(HourlyViews.views).label("views")
    query = (
        select(HourlyViews.article_id, total)
        .join(ArticleViews, ArticleViews.article_id == HourlyViews.article_id)
        .where(HourlyViews.hour >= since, ArticleViews.status == "published")
        .group_by(HourlyViews.article_id)
        .order_by(total.desc(), HourlyViews.article_id)
        .limit(limit)
    )
    async with engine.connect() as conn:
        return [(row.article_id, int(row.views)) for row in await conn.execute(query)]
