"""Subscriptions as editors manage them: plain functions over a session."""

from __future__ import annotations

import base64
import secrets
import uuid
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts.api import (
    DeliveryAttempt,
    DeliveryOut,
    DeliveryPage,
    WebhookCreated,
    WebhookIn,
    WebhookOut,
)
from shared.contracts.copying import copy_into
from shared.contracts.events import utcnow

from .models import Attempt, Delivery, Subscription

#: Attempts shown with each delivery in the log.
LOG_ATTEMPTS = 10


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


async def create(session: AsyncSession, request: WebhookIn) -> WebhookCreated:
    subscription = Subscription(
        id=uuid.uuid4(),
        url=request.url,
        event_types=list(request.event_types),
        description=request.description,
        secret=new_secret(),
        state="active",
        created_at=utcnow(),
    )
    session.add(subscription)
    await session.flush()
    return WebhookCreated(**out(subscription).model_dump(), secret=subscription.secret)


def out(subscription: Subscription, counts: dict[str, int] | None = None) -> WebhookOut:
    counts = counts or {}
    return WebhookOut(
        id=subscription.id,
        url=subscription.url,
        event_types=list(subscription.event_types),
        description=subscription.description,
        state=subscription.state,  # type: ignore[arg-type]
        disabled_reason=subscription.disabled_reason,
        created_at=subscription.created_at,
        failing_since=subscription.failing_since,
        pending=counts.get("pending", 0),
        dead=counts.get("dead", 0),
    )


async def counts_of(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, int]]:
    rows = await session.execute(
        select(Delivery.subscription_id, Delivery.status, func.count())
        .where(Delivery.subscription_id.in_(ids), Delivery.status.in_(("pending", "dead")))
        .group_by(Delivery.subscription_id, Delivery.status)
    )
    found: dict[uuid.UUID, dict[str, int]] = {}
    for sid, status, n in rows.all():
        found.setdefault(sid, {})[status] = n
    return found


async def list_all(session: AsyncSession) -> list[WebhookOut]:
    subscriptions = (
        await session.scalars(select(Subscription).order_by(Subscription.created_at))
    ).all()
    counts = await counts_of(session, [s.id for s in subscriptions])
    return [out(s, counts.get(s.id)) for s in subscriptions]


async def one(session: AsyncSession, sid: uuid.UUID) -> WebhookOut | None:
    subscription = await session.get(Subscription, sid)
    if subscription is None:
        return None
    return out(subscription, (await counts_of(session, [sid])).get(sid))


async def set_state(session: AsyncSession, sid: uuid.UUID, state: str) -> bool:
    """Pause or resume. Resuming a disabled subscription starts its failure clock again."""
    values: dict[str, Any] = {"state": state}
    if state == "active":
        values.update(disabled_reason=None, failing_since=None)
    result: Any = await session.execute(
        update(Subscription).where(Subscription.id == sid).values(**values)
    )
    if state == "active":
        # Resumed: what waits is tried now, not after the back-off it had reached.
        await session.execute(
            update(Delivery)
            .where(Delivery.subscription_id == sid, Delivery.status == "pending")
            .values(next_attempt_at=utcnow())
        )
    return bool(result.rowcount)


async def remove(session: AsyncSession, sid: uuid.UUID) -> bool:
    subscription = await session.get(Subscription, sid)
    if subscription is None:
        return False
    await session.delete(subscription)  # deliveries and attempts go with it (cascade)
    return True


async def deliveries(
    session: AsyncSession,
    sid: uuid.UUID,
    status: str | None,
    before: int | None,
    limit: int,
) -> DeliveryPage:
    """The subscription's deliveries, newest first, each with its latest attempts."""
    query = select(Delivery).where(Delivery.subscription_id == sid)
    if status:
        query = query.where(Delivery.status == status)
    if before is not None:
        query = query.where(Delivery.id < before)
    rows = (await session.scalars(query.order_by(Delivery.id.desc()).limit(limit + 1))).all()
    page = rows[:limit]
    attempts: dict[int, list[Attempt]] = {}
    if page:
        found = await session.scalars(
            select(Attempt)
            .where(Attempt.delivery_id.in_([d.id for d in page]))
            .order_by(Attempt.id.desc())
        )
        for attempt in found:
            bucket = attempts.setdefault(attempt.delivery_id, [])
            if len(bucket) < LOG_ATTEMPTS:
                bucket.append(attempt)
    items = [
        copy_into(
            DeliveryOut,
            d,
            entry_id=f"{d.entry_ms}-{d.entry_seq}",
            next_attempt_at=d.next_attempt_at if d.status == "pending" else None,
            log=[copy_into(DeliveryAttempt, a) for a in attempts.get(d.id, [])],
        )
        for d in page
    ]
    next_cursor = str(page[-1].id) if len(rows) > limit else None
    return DeliveryPage(items=items, next_cursor=next_cursor)


async def redrive(session: AsyncSession, sid: uuid.UUID) -> int:
    """The dead letters queued again (in their stream order, before newer ones), with a
    fresh retry window."""
    now = utcnow()
    result: Any = await session.execute(
        update(Delivery)
        .where(Delivery.subscription_id == sid, Delivery.status == "dead")
        .values(status="pending", attempts=0, next_attempt_at=now)
    )
    await session.execute(
        update(Subscription).where(Subscription.id == sid).values(failing_since=None)
    )
    return int(result.rowcount or 0)
