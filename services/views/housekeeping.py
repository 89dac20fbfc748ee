"""Forget what can no longer matter: old ledger rows and old hourly buckets."""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy import Engine, delete

from .counting import run_write
from .models import AppliedBatch, HourlyViews
from .settings import ViewsSettings

log = logging.getLogger(__name__)


def prune(engine: Engine, settings: ViewsSettings) -> None:
    now = int(time.time())
    with engine.begin() as conn:
        conn.execute(
            delete(AppliedBatch).where(
                AppliedBatch.applied_at < now - settings.processed_retention_hours * 3600
            )
        )
        conn.execute(
            delete(HourlyViews).where(
                HourlyViews.hour < now // 3600 - settings.hourly_retention_days * 24
            )
        )


async def run_housekeeping(writer: Engine, settings: ViewsSettings) -> None:
    while True:
        await asyncio.sleep(settings.housekeeping_interval_seconds)
        try:
            await run_write(writer, prune, settings)
        except Exception as exc:  # the next round retries; never take the service down
            log.warning("housekeeping failed: %r", exc)
