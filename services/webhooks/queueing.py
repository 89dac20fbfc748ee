"""Events read from the public streams become deliveries, one per subscription that asks.

The stream handler of the ``webhooks`` group: what it commits is acknowledged after,
so an entry read twice (a crash before the acknowledgement) adds no delivery twice
(unique on subscription and event). Paused subscriptions keep their events; disabled
ones take none until resumed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts.events import utcnow
from shared.contracts.streams import entry_position
from shared.messaging.consuming import Entry
from shared.service.skeleton import StreamHandler
from shared.storage.engines import Sessions

from .models import Delivery, Subscription


def insert_new(session: AsyncSession, rows: list[dict[str, Any]]) -> Any:
    """An INSERT that leaves out rows already there (the same event for the same subscription)."""
    dialect = session.bind.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(Delivery)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["subscription_id", "event_id"])
    )


async def queue_deliveries(
    stream: str, entries: Sequence[Entry[Any]], writes: Sessions, wake: asyncio.Event
) -> None:
    now = utcnow()
    async with writes() as session, session.begin():
        subscriptions = (
            await session.execute(
                select(Subscription.id, Subscription.event_types, Subscription.created_at).where(
                    Subscription.state != "disabled"
                )
            )
        ).all()
        rows = []
        for entry in entries:
            event = entry.event
            ms, seq = entry_position(entry.entry_id)
            payload = None
            for subscription_id, types, created_at in subscriptions:
                # Not what came before it (a stream replayed after a restore, say).
                if event.type not in types or ms < created_at.timestamp() * 1000:
                    continue
                payload = payload or event.model_dump_json().encode()
                rows.append(
                    {
                        "subscription_id": subscription_id,
                        "event_id": event.event_id,
                        "event_type": event.type,
                        "stream": stream,
                        "entry_ms": ms,
                        "entry_seq": seq,
                        "payload": payload,
                        "traceparent": entry.headers.get("traceparent"),
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_at": now,
                        "created_at": now,
                    }
                )
        # Bounded statements: SQLite takes at most 32,766 parameters in one.
        for start in range(0, len(rows), 500):
            await session.execute(insert_new(session, rows[start : start + 500]))
    if rows:
        wake.set()


async def queue_articles(
    entries: Sequence[Entry[Any]], writes: Sessions, wake: asyncio.Event
) -> None:
    await queue_deliveries("articles", entries, writes, wake)


async def queue_comments(
    entries: Sequence[Entry[Any]], writes: Sessions, wake: asyncio.Event
) -> None:
    await queue_deliveries("comments", entries, writes, wake)


#: The public streams the service's group reads: every event is a delivery to queue.
HANDLERS = (
    StreamHandler("articles", queue_articles),
    StreamHandler("comments", queue_comments),
)
