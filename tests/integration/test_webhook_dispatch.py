"""The webhook dispatcher on a real database (SQLite and PostgreSQL), with a fake sender:
stream order per subscription, a failure holding the ones after it, redelivered entries
adding nothing, dead letters after the retry window, re-drive, disabling, pausing, and
no delivery overtaking an entry still being handled."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from opentelemetry import trace
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy import select, update

from services.webhooks import subscriptions
from services.webhooks.dispatching import Dispatcher
from services.webhooks.models import Delivery, Subscription
from services.webhooks.queueing import queue_deliveries
from services.webhooks.schema import SCHEMA
from services.webhooks.sending import Outcome
from services.webhooks.settings import WebhooksSettings
from shared.contracts.api import WebhookIn
from shared.contracts.streams import Streams
from shared.messaging.consuming import Entry
from shared.storage.engines import make_engine, session_factory
from tests.e2e.public_events import article
from tests.support import await_for

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("reset_pg_schema")]
#: Entry ids' time: after the subscriptions are made (events before one are not its own).
BASE = int(time.time() * 1000) + 3_600_000


@dataclass
class FakeSender:
    """Answers from a script per URL (then 200); remembers what was sent where."""

    script: dict[str, list[int]] = field(default_factory=dict)
    sent: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    async def send(
        self, url: str, secret: str, event_id: str, payload: bytes, at: datetime
    ) -> Outcome:
        answers = self.script.get(url) or []
        status = answers.pop(0) if answers else 200
        if 200 <= status < 300:
            self.sent[url].append(event_id)
        return Outcome(status, None if status < 300 else f"HTTP {status}", 1)


@dataclass
class FakeGroups:
    """The ``webhooks`` group's pending lists, as XPENDING's summary tells them."""

    oldest: dict[str, str] = field(default_factory=dict)

    async def xpending(self, stream: str, group: str) -> dict[str, Any]:
        low = self.oldest.get(stream.rsplit(":", 1)[1])
        return {"pending": 1 if low else 0, "min": low}


@dataclass
class Desk:
    dispatcher: Dispatcher
    sender: FakeSender
    writes: Any

    async def subscribe(
        self, url: str, types: tuple[str, ...] = ("article.published",)
    ) -> uuid.UUID:
        async with self.writes() as session, session.begin():
            created = await subscriptions.create(
                session, WebhookIn(url=url, event_types=list(types))
            )
        return created.id

    async def queue(self, events: list[Any], offset: int = 0) -> None:
        entries = [Entry(f"{BASE + offset + i}-0", e, {}) for i, e in enumerate(events)]
        await queue_deliveries("articles", entries, self.writes, asyncio.Event())

    async def statuses(self, sid: uuid.UUID) -> list[str]:
        async with self.writes() as session:
            rows = await session.scalars(
                select(Delivery.status)
                .where(Delivery.subscription_id == sid)
                .order_by(Delivery.entry_ms)
            )
            return list(rows)

    async def drain(self, sid: uuid.UUID) -> None:
        """As a round of the dispatcher does: read the pending lists, take the lease, send."""
        await self.dispatcher.read_pending()
        assert sid in await self.dispatcher.claim(10)
        await self.dispatcher.drain(sid)


@pytest.fixture
async def desk(database_url: str) -> AsyncIterator[Desk]:
    await asyncio.to_thread(SCHEMA.upgrade, database_url)
    engine = make_engine(database_url, immediate=True)
    writes = session_factory(engine)
    sender = FakeSender()
    settings = WebhooksSettings(webhook_backoff_first_seconds=0.05, webhook_backoff_max_seconds=0.1)
    dispatcher = Dispatcher(
        settings=settings,
        writes=writes,
        redis=FakeGroups(),  # type: ignore[arg-type]
        streams=Streams("test"),
        sender=sender,  # type: ignore[arg-type]
        wake=asyncio.Event(),
        tracer=trace.get_tracer("test"),
        outcomes=Counter("deliveries", "d", ["outcome"], registry=CollectorRegistry()),
        owner="replica-1",
    )
    yield Desk(dispatcher, sender, writes)
    await engine.dispose()


async def test_each_subscription_in_stream_order_and_a_failure_holds_the_ones_after_it(
    desk: Desk,
) -> None:
    good = await desk.subscribe("https://good.example/hook")
    flaky = await desk.subscribe("https://flaky.example/hook")
    events = [article(n) for n in range(5)]
    await desk.queue(events)
    await desk.queue(events)  # the same entries read again: nothing added
    wanted = [str(e.event_id) for e in events]
    desk.sender.script["https://flaky.example/hook"] = [500, 503]

    await desk.drain(good)
    assert desk.sender.sent["https://good.example/hook"] == wanted
    await desk.drain(flaky)
    assert desk.sender.sent["https://flaky.example/hook"] == []
    assert await desk.statuses(flaky) == ["pending"] * 5
    # The ones after the failed one wait for its retry (not due before it).
    async with desk.writes() as session:
        times = list(
            await session.scalars(
                select(Delivery.next_attempt_at).where(Delivery.subscription_id == flaky)
            )
        )
        failing = await session.scalar(
            select(Subscription.failing_since).where(Subscription.id == flaky)
        )
    assert len(set(times)) == 1 and failing is not None

    async def delivered() -> bool:
        if flaky in await desk.dispatcher.claim(10):
            await desk.dispatcher.drain(flaky)
        return desk.sender.sent["https://flaky.example/hook"] == wanted

    await await_for(delivered, what="the flaky receiver's events after two retries")
    log = await desk_log(desk, flaky)
    assert [a["status_code"] for a in log[-1]["log"]] == [200, 503, 500]  # newest first
    assert await desk.statuses(flaky) == ["delivered"] * 5


async def desk_log(desk: Desk, sid: uuid.UUID) -> list[dict[str, Any]]:
    async with desk.writes() as session:
        page = await subscriptions.deliveries(session, sid, None, None, 50)
    return [d.model_dump(mode="json") for d in page.items]


async def test_given_up_after_the_retry_window_then_redriven_in_order(desk: Desk) -> None:
    desk.dispatcher.settings = desk.dispatcher.settings.model_copy(
        update={"webhook_retry_hours": 0.0}
    )
    sid = await desk.subscribe("https://down.example/hook")
    events = [article(n) for n in range(3)]
    await desk.queue(events)
    desk.sender.script["https://down.example/hook"] = [500, 500, 500]
    await desk.drain(sid)
    # Failing past the window: each is tried once and becomes a dead letter, in turn.
    assert await desk.statuses(sid) == ["dead"] * 3
    async with desk.writes() as session, session.begin():
        assert await subscriptions.redrive(session, sid) == 3
    await desk.drain(sid)
    assert desk.sender.sent["https://down.example/hook"] == [str(e.event_id) for e in events]
    async with desk.writes() as session:
        found = await subscriptions.one(session, sid)
    assert found is not None and (found.dead, found.pending, found.failing_since) == (0, 0, None)


async def test_failing_for_too_long_disables_the_subscription_until_resumed(desk: Desk) -> None:
    desk.dispatcher.settings = desk.dispatcher.settings.model_copy(
        update={"webhook_disable_after_hours": 0.0}
    )
    sid = await desk.subscribe("https://gone.example/hook")
    await desk.queue([article(1)])
    desk.sender.script["https://gone.example/hook"] = [500]
    await desk.drain(sid)
    async with desk.writes() as session:
        found = await subscriptions.one(session, sid)
    assert found is not None and found.state == "disabled"
    assert found.disabled_reason and "HTTP 500" in found.disabled_reason
    # Disabled: new events are not queued for it, and it is not delivered.
    await desk.queue([article(2)], offset=5000)
    assert len(await desk.statuses(sid)) == 1
    assert sid not in await desk.dispatcher.claim(10)
    async with desk.writes() as session, session.begin():
        assert await subscriptions.set_state(session, sid, "active")
    await desk.drain(sid)
    assert await desk.statuses(sid) == ["delivered"]


async def test_events_from_before_a_subscription_are_not_its_own(desk: Desk) -> None:
    sid = await desk.subscribe("https://new.example/hook")
    await desk.queue([article(1)], offset=-2 * 3_600_000)  # an hour before it was made
    assert await desk.statuses(sid) == []


async def test_a_paused_subscription_keeps_its_events_and_is_not_delivered(desk: Desk) -> None:
    sid = await desk.subscribe("https://paused.example/hook")
    async with desk.writes() as session, session.begin():
        await subscriptions.set_state(session, sid, "paused")
    await desk.queue([article(n) for n in range(2)])
    assert await desk.statuses(sid) == ["pending", "pending"]
    assert await desk.dispatcher.claim(10) == []


async def test_no_delivery_overtakes_an_entry_still_being_handled(desk: Desk) -> None:
    """Another replica still holds the third entry (pending in the group): the ones after
    it wait."""
    sid = await desk.subscribe("https://order.example/hook")
    events = [article(n) for n in range(5)]
    await desk.queue(events)
    groups = desk.dispatcher.redis
    assert isinstance(groups, FakeGroups)
    groups.oldest["articles"] = f"{BASE + 2}-0"
    await desk.drain(sid)
    assert desk.sender.sent["https://order.example/hook"] == [str(e.event_id) for e in events[:3]]
    del groups.oldest["articles"]
    await desk.drain(sid)
    assert desk.sender.sent["https://order.example/hook"] == [str(e.event_id) for e in events]


async def test_one_replica_at_a_time_delivers_a_subscription(desk: Desk) -> None:
    sid = await desk.subscribe("https://lease.example/hook")
    await desk.queue([article(1)])
    other = Dispatcher(**{**desk.dispatcher.__dict__, "owner": "replica-2", "_running": {}})
    assert await desk.dispatcher.claim(10) == [sid]
    assert await other.claim(10) == []
    # A replica that died holding it: its lease runs out, then another takes it.
    async with desk.writes() as session, session.begin():
        await session.execute(update(Subscription).values(lease_until=datetime(2000, 1, 1)))
    assert await other.claim(10) == [sid]
