"""Forget what can no longer matter: old processed ids, expired windows, old hourly buckets."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .models import HourlyViews, ProcessedEvent, VisitorLastView
from .settings import ViewsSettings

log = logging.getLogger(__name__)


async def prune(sessions: async_sessionmaker[AsyncSession], settings: ViewsSettings) -> None:
    now = datetime.now(UTC)
    async with sessions() as session, session.begin():
        await session.execute(
            delete(ProcessedEvent).where(
                ProcessedEvent.processed_at
                < now - timedelta(hours=settings.processed_retention_hours)
            )
        )
        # A day of slack beyond the window: views may arrive late (redelivery, clock skew).
        await session.execute(
            delete(VisitorLastView).where(
                VisitorLastView.counted_at
                < now - timedelta(minutes=settings.dedupe_window_minutes) - timedelta(days=1)
            )
        )
        await session.execute(
            delete(HourlyViews).where(
                HourlyViews.hour < now - timedelta(days=settings.hourly_retention_days)
            )
        )


async def run_housekeeping(
    sessions: async_sessionmaker[AsyncSession], settings: ViewsSettings
) -> None:
    while True:
        await asyncio.sleep(settings.housekeeping_interval_seconds)
        try:
            await prune(sessions, settings)
        except Exception as exc:  # next round retries; never take the service down
            log.warning("housekeeping failed: %r", exc)
