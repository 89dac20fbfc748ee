"""Taking over entries left pending: a dead replica's, or ones whose apply failed.

Our own XAUTOCLAIM loop rather than FastStream's ``min_idle_time`` subscriber:
that one only reclaims (it never reads new entries) and polls in a hot loop
while the group has many young pending entries; this one sleeps between scans.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from opentelemetry.trace import Link, SpanKind, Tracer

from .entries import EntryValidator, Parsed, producer_spans, text_ids
from .member import Member

T = TypeVar("T")
Handle = Callable[[Parsed[T], int], Awaitable[None]]


@dataclass(slots=True)
class Claimer(Generic[T]):
    member: Member
    validator: EntryValidator[T]
    handle: Handle[T]
    tracer: Tracer
    idle_ms: int
    batch: int = 100

    async def reclaim(self) -> int:
        """Take over entries idle for ``idle_ms``, and handle them."""
        cursor: Any = "0-0"
        claimed_total = 0
        while True:
            reply: Any = await self.member.client.xautoclaim(
                self.member.stream,
                self.member.group,
                self.member.consumer,
                min_idle_time=self.idle_ms,
                start_id=cursor,
                count=self.batch,
            )
            cursor, claimed = reply[0], [(i, f) for i, f in reply[1] if f]
            if claimed:
                claimed_total += len(claimed)
                await self.handle_claimed(claimed)
            if cursor in (b"0-0", "0-0"):
                return claimed_total

    async def handle_claimed(self, claimed: list[tuple[Any, Any]]) -> None:
        """Handle entries this consumer holds, grouped by how often each was delivered."""
        ids = text_ids([i for i, _f in claimed])
        pending: Any = await self.member.client.xpending_range(
            self.member.stream,
            self.member.group,
            min=ids[0],
            max=ids[-1],
            count=len(ids) * 2,
            consumername=self.member.consumer,
        )
        deliveries = {text_ids([p["message_id"]])[0]: int(p["times_delivered"]) for p in pending}
        parsed, _joined = self.validator.validate(ids, [fields for _i, fields in claimed])
        by_count: dict[int, Parsed[T]] = {}
        for entry in parsed.good:
            by_count.setdefault(deliveries.get(entry.entry_id, 2), Parsed([], [])).good.append(
                entry
            )
        for entry_id, reason in parsed.bad:
            by_count.setdefault(deliveries.get(entry_id, 2), Parsed([], [])).bad.append(
                (entry_id, reason)
            )
        for count, batch in by_count.items():
            with self.tracer.start_as_current_span(
                f"process {self.member.stream}",
                kind=SpanKind.CONSUMER,
                links=[Link(c) for c in producer_spans(batch.good)],
                attributes={
                    "messaging.system": "redis",
                    "messaging.destination.name": self.member.stream,
                    "messaging.operation.type": "process",
                    "messaging.consumer.group.name": self.member.group,
                    "messaging.batch.message_count": len(batch.good) + len(batch.bad),
                    "newsroom.reclaimed": True,
                    "newsroom.delivery_count": count,
                },
            ):
                await self.handle(batch, count)

    async def own_pending(self) -> None:
        """Handle what was delivered to this consumer but never reached a worker.

        FastStream drops a batch whose read returns after its subscriber was told to
        stop: those entries sit in this consumer's pending list. Reading the list
        (XREADGROUP from id 0) and handling them now leaves nothing for another
        replica to reclaim later.
        """
        seen: set[str] = set()
        while True:
            reply: Any = await self.member.client.xreadgroup(
                self.member.group, self.member.consumer, {self.member.stream: "0"}, count=self.batch
            )
            entries = reply[0][1] if reply else []
            ids = set(text_ids([i for i, _f in entries]))
            if not entries or ids <= seen:  # nothing left, or nothing could be applied
                return
            seen |= ids
            gone = [i for i, f in entries if not f]  # trimmed from the stream meanwhile
            if gone:
                await self.member.client.xack(self.member.stream, self.member.group, *gone)
            live = [(i, f) for i, f in entries if f]
            if live:
                await self.handle_claimed(live)
