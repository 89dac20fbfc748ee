"""The webhooks service's tables: subscriptions, their deliveries, and each delivery's attempts.

A delivery is one event for one subscription, made when the event is read from its
stream (unique on subscription and event: a redelivered entry adds nothing). It is
sent in stream order (``entry_ms``, ``entry_seq``) and kept until delivered or given
up on (``dead``: the subscription's dead letters).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.storage.engines import BIG_ID, UtcDateTime


class Base(DeclarativeBase):
    pass


class Subscription(Base):
    __tablename__ = "webhook_subscriptions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list[str]] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(Text)
    #: Standard Webhooks ``whsec_…``: the service signs with it, so it is kept as it is.
    secret: Mapped[str] = mapped_column(String(100))
    #: active, paused (events kept, none sent) or disabled (failing for too long).
    state: Mapped[str] = mapped_column(String(16), default="active")
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    failing_since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: The replica delivering this subscription's events, until when (one at a time: order).
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Delivery(Base):
    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    subscription_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    event_type: Mapped[str] = mapped_column(String(64))
    stream: Mapped[str] = mapped_column(String(64))
    entry_ms: Mapped[int] = mapped_column(BIG_ID)
    entry_seq: Mapped[int] = mapped_column(Integer)
    #: The event's JSON as it is POSTed.
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    #: The trace the event came with: the delivery's span joins it.
    traceparent: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ux_webhook_delivery_event", "subscription_id", "event_id", unique=True),
        # The next delivery of a subscription: its oldest pending one in stream order.
        Index("ix_webhook_delivery_queue", "subscription_id", "status", "entry_ms", "entry_seq"),
    )


class Attempt(Base):
    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(
        BIG_ID, ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer)
