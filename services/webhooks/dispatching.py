"""Deliveries sent: each subscription's in stream order, many subscriptions at once.

A replica takes a subscription by a lease (one replica at a time delivers it, so its
order holds) and sends its oldest pending delivery, then the next, until none is due
or one fails. A failed one is tried again after an exponential back-off with jitter;
the ones after it wait (order). A subscription failing for ``retry_hours`` gives its
failing deliveries up (they become its dead letters, one attempt each from then on),
and one failing for ``disable_after_hours`` is disabled and says why.

Order across replicas of the stream handler: a delivery is sent only once every
earlier entry of its stream has been handled, which the group's pending list tells
(no entry before it still pending): a batch that another replica commits later
cannot be overtaken.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import redis.asyncio as aioredis
from opentelemetry import trace
from opentelemetry.propagate import extract
from opentelemetry.trace import SpanKind, Tracer
from prometheus_client import Counter
from sqlalchemy import delete, exists, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from shared.contracts.events import utcnow
from shared.contracts.streams import Streams, entry_position, read_by
from shared.storage.engines import Sessions

from .models import Attempt, Delivery, Subscription
from .sending import Outcome, Sender
from .settings import WebhooksSettings

log = logging.getLogger(__name__)
#: The streams the webhooks group reads (the stream map says which).
STREAMS = read_by("webhooks")
#: Deliveries of one subscription read at once (its state is looked at again after each page).
PAGE = 50


def backoff(attempts: int, first: float, longest: float, rng: random.Random) -> float:
    """Seconds before attempt ``attempts + 1``: doubling, capped, half of it random."""
    delay = min(longest, first * 2 ** max(attempts - 1, 0))
    return delay / 2 + rng.uniform(0, delay / 2)


def settled(delivery: Delivery, oldest_pending: Mapping[str, tuple[int, int] | None]) -> bool:
    """Every entry of the delivery's stream before it has been handled."""
    oldest = oldest_pending.get(delivery.stream)
    return oldest is None or (delivery.entry_ms, delivery.entry_seq) <= oldest


@dataclass
class Dispatcher:
    settings: WebhooksSettings
    writes: Sessions
    redis: aioredis.Redis
    streams: Streams
    sender: Sender
    wake: asyncio.Event
    tracer: Tracer
    outcomes: Counter
    owner: str
    rng: random.Random = field(default_factory=random.Random)
    _running: dict[uuid.UUID, asyncio.Task[None]] = field(default_factory=dict)
    _oldest_pending: dict[str, tuple[int, int] | None] = field(default_factory=dict)

    async def run(self) -> None:
        """Until cancelled: the webhooks service's background task."""
        swept = 0.0
        loop = asyncio.get_running_loop()
        try:
            while True:
                try:
                    await self.round()
                    if loop.time() - swept > 60:
                        await self.sweep()
                        swept = loop.time()
                except (aioredis.RedisError, OSError, SQLAlchemyError) as exc:
                    log.warning("webhook dispatcher: %r; trying again", exc)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.settings.webhook_poll_seconds):
                        await self.wake.wait()
                self.wake.clear()
        finally:
            for task in self._running.values():
                task.cancel()
            await asyncio.gather(*self._running.values(), return_exceptions=True)
            await self.release_all()

    async def round(self) -> None:
        for sid, task in list(self._running.items()):
            if task.done():
                del self._running[sid]
        await self.read_pending()
        free = self.settings.webhook_concurrency - len(self._running)
        if free <= 0:
            return
        for sid in await self.claim(free):
            self._running[sid] = asyncio.create_task(self.drain(sid), name=f"webhook-{sid}")

    async def read_pending(self, *streams: str) -> None:
        for name in streams or STREAMS:
            summary: Any = await self.redis.xpending(self.streams.of(name), "webhooks")
            low = summary.get("min") if summary and summary.get("pending") else None
            if isinstance(low, bytes):
                low = low.decode()
            self._oldest_pending[name] = entry_position(low) if low else None

    async def claim(self, limit: int) -> list[uuid.UUID]:
        now = utcnow()
        # Free, run out (its replica died), or ours from a round whose release failed.
        free_lease = or_(
            Subscription.lease_until.is_(None),
            Subscription.lease_until < now,
            Subscription.lease_owner == self.owner,
        )
        due = exists().where(
            Delivery.subscription_id == Subscription.id,
            Delivery.status == "pending",
            Delivery.next_attempt_at <= now,
        )
        async with self.writes() as session, session.begin():
            candidates = (
                await session.scalars(
                    select(Subscription.id)
                    .where(Subscription.state == "active", free_lease, due)
                    .where(Subscription.id.not_in(list(self._running)))
                    .limit(limit)
                )
            ).all()
            taken = []
            for sid in candidates:
                result: Any = await session.execute(
                    update(Subscription)
                    .where(Subscription.id == sid, free_lease)
                    .values(lease_owner=self.owner, lease_until=now + self.lease)
                )
                if result.rowcount == 1:
                    taken.append(sid)
        return taken

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.settings.webhook_lease_seconds)

    async def drain(self, sid: uuid.UUID) -> None:
        """Send the subscription's due deliveries in order; stop at the first failure."""
        try:
            while await self.deliver_page(sid):
                pass
        except (OSError, SQLAlchemyError, aioredis.RedisError) as exc:
            log.warning("webhook %s: %r; trying again later", sid, exc)
        finally:
            with contextlib.suppress(OSError, SQLAlchemyError):
                await self.release(sid)

    async def deliver_page(self, sid: uuid.UUID) -> bool:
        """The next ``PAGE`` pending deliveries, one after the other; whether to go on."""
        async with self.writes() as session:
            subscription = await session.get(Subscription, sid)
            if (
                subscription is None
                or subscription.state != "active"
                or subscription.lease_owner != self.owner
            ):
                return False
            page = (
                await session.scalars(
                    select(Delivery)
                    .where(Delivery.subscription_id == sid, Delivery.status == "pending")
                    .order_by(Delivery.entry_ms, Delivery.entry_seq, Delivery.id)
                    .limit(PAGE)
                )
            ).all()
        for delivery in page:
            if not settled(delivery, self._oldest_pending):
                # The pending list may have moved on since this round began: ask once more.
                await self.read_pending(delivery.stream)
                if not settled(delivery, self._oldest_pending):
                    return False
            now = utcnow()
            if delivery.next_attempt_at is not None and delivery.next_attempt_at > now:
                return False
            outcome = await self.send(subscription, delivery, now)
            if not await self.record(subscription, delivery, outcome):
                return False
        return len(page) == PAGE

    async def send(self, subscription: Subscription, delivery: Delivery, now: datetime) -> Outcome:
        parent = extract({"traceparent": delivery.traceparent}) if delivery.traceparent else None
        with self.tracer.start_as_current_span(
            "webhook deliver",
            context=parent,
            kind=SpanKind.PRODUCER,
            attributes={
                "newsroom.webhook.subscription": str(subscription.id),
                "newsroom.webhook.event_type": delivery.event_type,
                "messaging.message.id": str(delivery.event_id),
                "newsroom.webhook.attempt": delivery.attempts + 1,
            },
        ) as span:
            outcome = await self.sender.send(
                subscription.url, subscription.secret, str(delivery.event_id), delivery.payload, now
            )
            if outcome.status_code is not None:
                span.set_attribute("http.response.status_code", outcome.status_code)
            if not outcome.ok:
                span.set_status(trace.StatusCode.ERROR, outcome.error or "")
        return outcome

    async def record(
        self, subscription: Subscription, delivery: Delivery, outcome: Outcome
    ) -> bool:
        """Store the attempt and what follows from it; whether to go on with the next."""
        now = utcnow()
        settings = self.settings
        changes: dict[str, Any] = {
            "attempts": delivery.attempts + 1,
            "last_status_code": outcome.status_code,
            "last_error": outcome.error,
        }
        subscription_changes: dict[str, Any] = {"lease_until": now + self.lease}
        go_on = outcome.ok
        if outcome.ok:
            changes.update(status="delivered", delivered_at=now, next_attempt_at=None)
            subscription_changes.update(failing_since=None)
            self.outcomes.labels("delivered").inc()
        else:
            failing_since = subscription.failing_since or now
            subscription_changes["failing_since"] = failing_since
            failing = now - failing_since
            if failing >= timedelta(hours=settings.webhook_retry_hours):
                changes.update(status="dead", next_attempt_at=None)
                self.outcomes.labels("dead").inc()
                log.warning(
                    "webhook %s: event %s given up after %d attempts (%s)",
                    subscription.id,
                    delivery.event_id,
                    delivery.attempts + 1,
                    outcome.error,
                )
                go_on = True  # the next one is tried (once, while the receiver still fails)
            else:
                wait = backoff(
                    delivery.attempts + 1,
                    settings.webhook_backoff_first_seconds,
                    settings.webhook_backoff_max_seconds,
                    self.rng,
                )
                changes.update(next_attempt_at=now + timedelta(seconds=wait))
                self.outcomes.labels("failed").inc()
                go_on = False
            if failing >= timedelta(hours=settings.webhook_disable_after_hours):
                reason = (
                    f"every delivery failed since {failing_since.isoformat(timespec='seconds')}; "
                    f"last: {outcome.error}"
                )
                subscription_changes.update(state="disabled", disabled_reason=reason)
                log.error("webhook %s disabled: %s", subscription.id, reason)
                go_on = False
        # The page goes on with this copy: keep it as the database now has it.
        subscription.failing_since = subscription_changes.get("failing_since")
        subscription.state = subscription_changes.get("state", subscription.state)
        async with self.writes() as session, session.begin():
            session.add(
                Attempt(
                    delivery_id=delivery.id,
                    at=now,
                    status_code=outcome.status_code,
                    error=outcome.error,
                    duration_ms=outcome.duration_ms,
                )
            )
            await session.execute(
                update(Delivery).where(Delivery.id == delivery.id).values(**changes)
            )
            retry_at = changes.get("next_attempt_at")
            if retry_at is not None:
                # The ones after it wait for it (order): none is due before its retry.
                await session.execute(
                    update(Delivery)
                    .where(
                        Delivery.subscription_id == subscription.id,
                        Delivery.status == "pending",
                        Delivery.next_attempt_at < retry_at,
                    )
                    .values(next_attempt_at=retry_at)
                )
            await session.execute(
                update(Subscription)
                .where(Subscription.id == subscription.id, Subscription.lease_owner == self.owner)
                .values(**subscription_changes)
            )
        return go_on

    async def release(self, sid: uuid.UUID) -> None:
        async with self.writes() as session, session.begin():
            await session.execute(
                update(Subscription)
                .where(Subscription.id == sid, Subscription.lease_owner == self.owner)
                .values(lease_owner=None, lease_until=None)
            )

    async def release_all(self) -> None:
        with contextlib.suppress(OSError, SQLAlchemyError):
            async with self.writes() as session, session.begin():
                await session.execute(
                    update(Subscription)
                    .where(Subscription.lease_owner == self.owner)
                    .values(lease_owner=None, lease_until=None)
                )

    async def sweep(self) -> None:
        """Delivered deliveries older than ``keep_days`` go, with their attempts."""
        before = utcnow() - timedelta(days=self.settings.webhook_keep_days)
        old = select(Delivery.id).where(
            Delivery.status == "delivered", Delivery.delivered_at < before
        )
        async with self.writes() as session, session.begin():
            await session.execute(delete(Attempt).where(Attempt.delivery_id.in_(old)))
            await session.execute(delete(Delivery).where(Delivery.id.in_(old)))
