"""Forget what can no longer matter: old ledger rows and old hourly buckets."""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from .models import AppliedBatch, HourlyViews
from .settings import ViewsSettings

log = logging.getLogger(__name__)


async def prune(engine: AsyncEngine, settings: ViewsSettings) -> None:
    now = int(time.time())
    async with engine.begin() as conn:
        await conn.execute(
            delete(AppliedBatch).where(
                AppliedBatch.applied_at < now - settings.processed_retention_hours * 3600
            )
        )
        await conn.execute(
            delete(HourlyViews).where(
                HourlyViews.hour < now // 3600 - settings.hourly_retention_days * 24
            )
        )


async def run_housekeeping(engine: AsyncEngine, settings: ViewsSettings) -> None:
    while True:
        await asyncio.sleep(settings.housekeeping_interval_seconds)
        try:
            await prune(engine, settings)
        except Exception as exc:  # the next round retries; never take the service down
            log.warning("housekeeping failed: %r", exc)
