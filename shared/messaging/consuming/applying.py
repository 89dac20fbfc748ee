"""Applying a validated batch: ack what was committed, dead-letter what cannot be,
leave what failed for a transient reason pending (with back-off)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar

from shared.observability.metrics import Metrics

from .dead_letters import DeadLetters
from .entries import Entry, Parsed, is_transient
from .member import Member

T = TypeVar("T")
log = logging.getLogger(__name__)

Apply = Callable[[Sequence[Entry[T]]], Awaitable[Collection[str] | None]]


@dataclass(slots=True)
class BatchApplier(Generic[T]):
    """``apply`` a batch; on failure find the failing entries one by one.

    An entry whose ``apply`` fails for a reason of its own stays pending (the
    claimer brings it back) until it was delivered ``max_deliveries`` times, then
    it is dead-lettered. ``apply`` may return ids it cannot handle *yet*: they
    stay pending without counting as failures.
    """

    member: Member
    apply: Apply[T]
    dead_letters: DeadLetters
    max_deliveries: int
    metrics: Metrics | None
    processed: int = 0
    failing_since: datetime | None = None
    _backoff: float = 0.0

    async def handle(self, parsed: Parsed[T], deliveries: int) -> None:
        good = parsed.good
        for entry_id, reason in parsed.bad:
            await self.dead_letter(entry_id, reason, deliveries)
        if not good:
            return
        try:
            deferred = await self.apply(good) or ()
        except Exception as exc:
            if is_transient(exc):
                await self.outage(exc)
                return
            if len(good) == 1:
                await self._failed(good[0], exc, deliveries)
                return
            await self._one_by_one(good, deliveries)
            return
        await self._ack([e.entry_id for e in good if e.entry_id not in deferred])

    async def _one_by_one(self, entries: Sequence[Entry[T]], deliveries: int) -> None:
        """A batch failed: find the entries that fail, let the others through."""
        for entry in entries:
            try:
                deferred = await self.apply([entry]) or ()
            except Exception as exc:
                if is_transient(exc):
                    await self.outage(exc)
                    return
                await self._failed(entry, exc, deliveries)
                continue
            if entry.entry_id not in deferred:
                await self._ack([entry.entry_id])

    async def _failed(self, entry: Entry[T], exc: Exception, deliveries: int) -> None:
        if self.metrics:
            self.metrics.message_outcome(self.member.stream, "failed")
        if deliveries >= self.max_deliveries:
            await self.dead_letter(
                entry.entry_id, f"failed {deliveries} times: {exc!r}", deliveries
            )
        else:
            log.warning(
                "entry %s of %s failed (delivery %d of %d), left pending for retry: %r",
                entry.entry_id,
                self.member.stream,
                deliveries,
                self.max_deliveries,
                exc,
            )

    async def dead_letter(self, entry_id: str, reason: str, deliveries: int) -> None:
        await self.dead_letters.send(entry_id, reason, deliveries)
        if self.metrics:
            self.metrics.message_outcome(self.member.stream, "dead_lettered")
        log.warning("entry %s of %s dead-lettered: %s", entry_id, self.member.stream, reason)

    async def _ack(self, ids: list[str]) -> None:
        if not ids:
            return
        await self.member.client.xack(self.member.stream, self.member.group, *ids)
        self.processed += len(ids)
        if self.metrics:
            self.metrics.message_outcome(self.member.stream, "processed", len(ids))
        if self.failing_since is not None:
            log.info(
                "%s consumer recovered (failing since %s)", self.member.stream, self.failing_since
            )
            self.failing_since = None
        self._backoff = 0.0

    async def outage(self, exc: BaseException) -> None:
        if self.failing_since is None:  # one log line per outage, not per batch
            self.failing_since = datetime.now(UTC)
            log.error(
                "%s consumer cannot commit, entries stay pending: %r", self.member.stream, exc
            )
        # Sleeping in the handler delays the next read: that is the back-off.
        self._backoff = min(max(self._backoff * 2, 0.2), 5.0)
        await asyncio.sleep(self._backoff)
