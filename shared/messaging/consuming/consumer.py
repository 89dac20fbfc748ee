"""Reliable stream consumption on FastStream: at-least-once in, exactly-once in effect.

One :class:`StreamConsumer` per (stream, group) and replica puts the parts
together: a :class:`~.reading.BatchReader` for new entries, ``workers`` tasks
applying batches (:class:`~.applying.BatchApplier`) while the next one is read,
a :class:`~.claiming.Claimer` for entries left pending, and the consumer group
made again if Redis lost it (:mod:`.groups`). ``apply`` must be idempotent
(deduplicate by ``event_id``) and may return the ids of entries it cannot
handle *yet*: they stay pending and come back through the claimer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

import redis.asyncio as aioredis
from faststream.redis import RedisBroker
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import TracerProvider

from shared.observability.metrics import Metrics

from .applying import Apply, BatchApplier
from .claiming import Claimer
from .dead_letters import DeadLetters
from .entries import EntryValidator, Parsed, is_transient
from .groups import ensure_group
from .member import Member
from .reading import BatchReader

T = TypeVar("T")
log = logging.getLogger(__name__)


class StreamConsumer(Generic[T]):
    def __init__(
        self,
        *,
        broker: RedisBroker,
        client: aioredis.Redis,
        stream: str,
        group: str,
        consumer: str,
        event_type: Any,
        apply: Apply[T],
        batch_size: int = 500,
        max_deliveries: int = 5,
        claim_idle_ms: int = 30_000,
        polling_ms: int = 100,
        dlq_maxlen: int = 100_000,
        tracer_provider: TracerProvider | None = None,
        workers: int = 1,
        metrics: Metrics | None = None,
    ) -> None:
        self.client = client
        self.stream = stream
        self.group = group
        self.consumer = consumer
        member = Member(client, stream, group, consumer)
        self.validator: EntryValidator[T] = EntryValidator(event_type)
        self.applier = BatchApplier[T](
            member=member,
            apply=apply,
            dead_letters=DeadLetters(client, stream, group, dlq_maxlen),
            max_deliveries=max_deliveries,
            metrics=metrics,
        )
        # Batches are applied by `workers` tasks while the reader fetches the next ones:
        # their waits on Redis and the database overlap. `apply` must allow that.
        self._queue: asyncio.Queue[tuple[Parsed[T], otel_context.Context]] = asyncio.Queue(
            maxsize=1
        )
        self.reader = BatchReader[T](
            broker=broker,
            member=member,
            validator=self.validator,
            queue=self._queue,
            batch_size=batch_size,
            polling_ms=polling_ms,
        )
        tracer = (tracer_provider or trace.get_tracer_provider()).get_tracer("newsroom.consumer")
        self.claimer = Claimer[T](
            member=member,
            validator=self.validator,
            handle=self.applier.handle,
            tracer=tracer,
            idle_ms=claim_idle_ms,
        )
        self._workers: list[asyncio.Task[None]] = []
        self._worker_count = workers
        self._claiming: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self.reading = True  # off once stop_consumers stops the readers on purpose

    @property
    def processed(self) -> int:
        return self.applier.processed

    @property
    def failing_since(self) -> datetime | None:
        return self.applier.failing_since

    def parse_entries(self, ids: Sequence[str], fields: Sequence[Mapping[Any, Any]]) -> Parsed[T]:
        """Validate raw stream entries (wire format v1) into events, and sort out the bad."""
        return self.validator.validate(ids, fields)[0]

    async def ensure_group(self) -> None:
        await ensure_group(self.client, self.stream, self.group, self.consumer)

    def start(self) -> None:
        """Start the batch workers and the claimer (call once the event loop runs)."""
        self._workers = [
            asyncio.create_task(self._work(), name=f"apply {self.stream} #{n}")
            for n in range(self._worker_count)
        ]
        self._claiming = asyncio.create_task(self._claim_forever(), name=f"claim {self.stream}")

    async def drain(self, within: float = 8.0) -> None:
        """Apply and ack what was read, then stop (after the broker stopped reading).

        Bounded: what is not done ``within`` seconds stays pending and another replica
        reclaims it, so a stuck database cannot keep the process from exiting.
        """
        if not self._workers:
            return
        self._stopping.set()  # the claimer finishes the entries it holds, then stops

        async def settle() -> None:
            if self._claiming is not None:
                await self._claiming
            await self._queue.join()
            await self.claimer.own_pending()

        try:
            await asyncio.wait_for(settle(), within)
        except TimeoutError:
            log.warning(
                "%s: stopped with work in flight; it stays pending for another replica", self.stream
            )
            if self._claiming is not None:
                self._claiming.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._claiming
        for worker in self._workers:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    async def _work(self) -> None:
        while True:
            parsed, ctx = await self._queue.get()
            token = otel_context.attach(ctx)  # spans of the batch join the consumer's trace
            try:
                await self.applier.handle(parsed, deliveries=1)
            except Exception as exc:  # never let the worker die; entries stay pending
                log.exception("applying a batch of %s failed: %r", self.stream, exc)
            finally:
                otel_context.detach(token)
                self._queue.task_done()

    async def _claim_forever(self) -> None:
        # Each tick also checks the group is still there (see _recover_group).
        interval = max(0.2, self.claimer.idle_ms / 2000)
        tick = min(interval, 1.0)
        last_scan = time.monotonic()
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), tick)
            if self._stopping.is_set():
                return
            try:
                if self.reading and not self.reader.running:
                    await self._recover_group()
                if time.monotonic() - last_scan >= interval:
                    last_scan = time.monotonic()
                    await self.claimer.reclaim()
            except aioredis.ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    log.exception("reclaiming %s failed: %r", self.stream, exc)
                    continue
                await self._recover_group()
            except Exception as exc:
                if is_transient(exc):
                    await self.applier.outage(exc)
                else:
                    log.exception("reclaiming %s failed: %r", self.stream, exc)

    async def _recover_group(self) -> None:
        """The group is gone (a Redis restarted without persistence): make it, read again.

        What the lost Redis held is lost with it; every entry after is counted.
        """
        await self.ensure_group()
        if not self.reader.running:
            await self.reader.start()
        log.warning("%s: consumer group %s recreated; reading again", self.stream, self.group)


async def start_consumers(broker: RedisBroker, consumers: Sequence[StreamConsumer[Any]]) -> None:
    """Groups first (at the stream's start), then the broker's readers, then our workers."""
    for consumer in consumers:
        await consumer.ensure_group()
    await broker.start()
    for consumer in consumers:
        consumer.start()


async def stop_consumers(broker: RedisBroker, consumers: Sequence[StreamConsumer[Any]]) -> None:
    """Stop reading first, then apply and ack what was read (bounded)."""
    for consumer in consumers:
        consumer.reading = False  # stopped readers are not a lost group to recover
    await _stop_readers(broker)
    await broker.stop()
    for consumer in consumers:
        await consumer.drain()


async def _stop_readers(broker: RedisBroker, within: float = 5.0) -> None:
    """Every subscriber's reading task stopped and ended before the broker closes its
    connections. FastStream's own stop cancels them and closes the connections at once,
    so a read could end on the closed socket before its cancellation: "Message fetch
    error: Connection closed by server" at nearly every stop, as if Redis had failed."""
    subscribers = list(broker.subscribers)
    readers = [task for sub in subscribers for task in getattr(sub, "tasks", ())]
    await asyncio.gather(*(sub.stop() for sub in subscribers))
    if readers:
        await asyncio.wait(readers, timeout=within)
