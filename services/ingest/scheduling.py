"""Scheduled publication: an article whose ``publish_at`` has come goes out, once.

The schedule lives in the database, so it survives restarts of every service;
several replicas may look at once (each article is published by one of them:
its row is locked, and skipped by the others, while it is published).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.messaging.consuming import is_transient
from shared.messaging.outbox import OutboxRelay

from . import store
from .settings import IngestSettings

log = logging.getLogger(__name__)


async def run_scheduler(
    sessions: async_sessionmaker[AsyncSession], relay: OutboxRelay, settings: IngestSettings
) -> None:
    last_cleanup = datetime.min.replace(tzinfo=UTC)
    while True:
        now = datetime.now(UTC)
        try:
            if await store.publish_due(sessions, now):
                relay.wake()
            if now - last_cleanup > timedelta(hours=1):
                await store.forget_answers(
                    sessions, now - timedelta(hours=settings.idempotency_hours)
                )
                last_cleanup = now
        except Exception as exc:  # the next round tries again; never take the service down
            if not is_transient(exc):
                log.exception("scheduled publication failed: %r", exc)
        await asyncio.sleep(settings.schedule_poll_seconds)
