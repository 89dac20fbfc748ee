"""Relay the outbox to Redis: every committed event reaches its stream, eventually.

Events are read in commit order, published, then marked published. If Redis
is down the rows stay and the relay retries with backoff; an event may be
published twice after a crash between XADD and the mark (at-least-once;
consumers deduplicate by ``event_id``).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from faststream.redis import RedisBroker
from opentelemetry import context
from opentelemetry.propagate import extract
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.streams import Streams

from .models import OutboxEvent

log = logging.getLogger(__name__)


class OutboxRelay:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        broker: RedisBroker,
        streams: Streams,
        *,
        maxlen: int,
        batch_size: int = 200,
        poll_interval: float = 1.0,
    ) -> None:
        self._sessions = sessions
        self._broker = broker
        self._streams = streams
        self._maxlen = maxlen
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._wake = asyncio.Event()
        self.failing_since: datetime | None = None

    def wake(self) -> None:
        """Called after a commit so the event goes out now, not at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        backoff = 0.1
        while True:
            try:
                sent = await self.relay_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.failing_since is None:  # one line per outage, not per retry
                    self.failing_since = datetime.now(UTC)
                    log.warning("outbox relay cannot publish, will retry: %r", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if self.failing_since is not None:
                log.info("outbox relay publishing again (down since %s)", self.failing_since)
                self.failing_since = None
            backoff = 0.1
            if sent < self._batch_size:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), self._poll_interval)
                except TimeoutError:
                    pass

    async def relay_once(self) -> int:
        """Publish up to one batch of pending events; returns how many went out."""
        async with self._sessions() as session, session.begin():
            query = (
                select(OutboxEvent)
                .where(OutboxEvent.published_at.is_(None))
                .order_by(OutboxEvent.id)
                .limit(self._batch_size)
            )
            if session.bind.dialect.name == "postgresql":
                # Several ingest replicas: each row is relayed by one of them.
                query = query.with_for_update(skip_locked=True)
            rows = list(await session.scalars(query))
            sent, error = 0, None
            for row in rows:
                try:
                    await self._publish(row)
                except Exception as exc:
                    error = exc
                    break
                row.published_at = datetime.now(UTC)
                sent += 1
        # Committed above: the marks of what did go out survive a failure midway.
        if error is not None:
            raise error
        return sent

    async def _publish(self, row: OutboxEvent) -> None:
        token = context.attach(extract({"traceparent": row.traceparent} if row.traceparent else {}))
        try:
            await self._broker.publish(
                row.payload,
                stream=self._streams.key(row.stream),
                maxlen=self._maxlen,
                headers={"event_type": row.event_type, "event_id": str(row.event_id)},
                correlation_id=str(row.event_id),
            )
        finally:
            context.detach(token)

    async def pending(self) -> int:
        async with self._sessions() as session:
            return int(
                await session.scalar(
                    select(func.count())
                    .select_from(OutboxEvent)
                    .where(OutboxEvent.published_at.is_(None))
                )
                or 0
            )
