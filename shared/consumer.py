"""Reliable stream consumption on FastStream: at-least-once in, exactly-once in effect.

One :class:`StreamConsumer` per (stream, group) and replica has:

* a FastStream batch subscriber (XREADGROUP ``>``) for new entries, handing
  each batch to a worker so the next batch is read while this one is applied;
* a claimer task (XAUTOCLAIM after ``claim_idle_ms``) that takes over entries
  left pending by a dead replica, or by a failure here.

Delivery policy, chosen on purpose (``AckPolicy.MANUAL``): an entry is acked
only after ``apply`` has committed its effect. Entries that do not parse are
dead-lettered at once (retrying cannot fix them). An entry whose ``apply``
fails for a reason of its own is retried through the claimer and
dead-lettered once it has been delivered ``max_deliveries`` times. A
*transient* failure (database or Redis unreachable) dead-letters nothing: the
entries stay pending and are retried with back-off until the outage ends.
``apply`` must be idempotent (deduplicate by ``event_id``). It may return the
ids of entries it cannot handle *yet* (say, a comment on an article not seen
yet): they stay pending, are not counted as failures, and come back through
the claimer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, NamedTuple, NotRequired, TypeVar

import redis.asyncio as aioredis
from faststream import AckPolicy
from faststream.redis import RedisBroker, StreamSub
from faststream.redis.message import RedisBatchStreamMessage
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.propagate import extract
from opentelemetry.trace import Link, SpanContext, SpanKind, TracerProvider
from pydantic import ConfigDict, TypeAdapter, ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from typing_extensions import TypedDict

from shared.metrics import Metrics
from shared.streams import DATA_FIELD, Streams

T = TypeVar("T")
log = logging.getLogger(__name__)
DATA_FIELD_BYTES = DATA_FIELD.encode()
_new_tuple = tuple.__new__


class TraceHeaders(TypedDict, total=False):
    """The headers of an entry that consumers use: its trace context, and the
    ``correlation_id`` FastStream's batch spans link producers by. The others
    (``event_type``, ``event_id``, ``content-type``) repeat the event and are skipped:
    building them into a dict for every entry cost ~1 µs a view."""

    traceparent: str
    tracestate: str
    baggage: str
    correlation_id: str


class Entry(NamedTuple, Generic[T]):
    """One stream entry, validated. A tuple: one is made per entry of every batch, and
    a frozen dataclass costs several times more to make."""

    entry_id: str
    event: T
    headers: TraceHeaders


def is_transient(exc: BaseException) -> bool:
    """Failures of the infrastructure, not of the entry: retry, never dead-letter."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(
        exc,
        OperationalError
        | PoolTimeout
        | aioredis.ConnectionError
        | aioredis.TimeoutError
        | ConnectionError
        | OSError,
    )


_HEX = frozenset("0123456789abcdefABCDEF")
_ODD_HEX = frozenset("13579bdfBDF")


def sampled(headers: Mapping[str, Any]) -> bool:
    """Whether the producer's span was recorded: the W3C ``traceparent`` flags' last bit
    (asked of every entry of every batch, hence no parsing)."""
    traceparent = headers.get("traceparent")
    return (
        isinstance(traceparent, str)
        and len(traceparent) == 55
        and traceparent[-1] in _ODD_HEX
        and traceparent[-2] in _HEX
    )


@dataclass(slots=True)
class _Parsed(Generic[T]):
    good: list[Entry[T]]
    bad: list[tuple[str, str]]  # (entry id, why it is invalid)


class _ReadBatch(RedisBatchStreamMessage):
    """A batch as read by FastStream, validated by :meth:`StreamConsumer._parse_batch`."""

    def __init__(self, *args: Any, parsed: _Parsed[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.parsed = parsed


class DeadLetters:
    """Moves entries to ``<stream>.dlq`` (with the reason) and acks them, atomically."""

    def __init__(self, client: aioredis.Redis, stream: str, group: str, maxlen: int) -> None:
        self.client = client
        self.stream = stream
        self.dlq = Streams.dlq(stream)
        self.group = group
        self.maxlen = maxlen

    async def send(self, entry_id: str, reason: str, deliveries: int) -> None:
        original: Any = await self.client.xrange(self.stream, entry_id, entry_id)
        fields: dict[Any, Any] = dict(original[0][1]) if original else {}
        raw = fields.get(DATA_FIELD.encode(), fields.get(DATA_FIELD, b""))
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.xadd(
                self.dlq,
                {
                    DATA_FIELD: raw,
                    "source_stream": self.stream,
                    "source_id": entry_id,
                    "group": self.group,
                    "reason": reason[:2000],
                    "deliveries": str(deliveries),
                    "failed_at": datetime.now(UTC).isoformat(),
                },
                maxlen=self.maxlen,
                approximate=True,
            )
            pipe.xack(self.stream, self.group, entry_id)
            await pipe.execute()


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
        apply: Callable[[Sequence[Entry[T]]], Awaitable[Collection[str] | None]],
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
        self.metrics = metrics
        # Wire format v1 (shared/streams.py); the event type is only known here.
        Envelope = TypedDict(  # noqa: UP013
            "Envelope", {"headers": NotRequired[TraceHeaders], "data": event_type}
        )
        # No string cache: ids and visitors are new in every entry, caching them only
        # churns the cache (measured: validation ~20 % faster without).
        fresh = ConfigDict(cache_strings=False)
        Envelope.__pydantic_config__ = fresh  # type: ignore[attr-defined]
        self._envelope = TypeAdapter(Envelope)
        self._envelopes = TypeAdapter(list[Envelope], config=fresh)  # type: ignore[valid-type]
        self.apply = apply
        self.max_deliveries = max_deliveries
        self.dead_letters = DeadLetters(client, stream, group, dlq_maxlen)
        self._backoff = 0.0
        self.failing_since: datetime | None = None
        self.processed = 0
        self.dead_lettered = 0
        # Batches are applied by `workers` tasks while the reader fetches the next ones:
        # their waits on Redis and the database overlap. `apply` must allow that.
        self._queue: asyncio.Queue[tuple[_Parsed[T], otel_context.Context]] = asyncio.Queue(
            maxsize=1
        )
        self._workers: list[asyncio.Task[None]] = []
        self._worker_count = workers
        self._claimer: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._reading = True  # off once stop_consumers stops the readers on purpose
        self.consumer = consumer
        self.claim_idle_ms = claim_idle_ms
        self.claim_batch = 100
        self.tracer = (tracer_provider or trace.get_tracer_provider()).get_tracer(
            "newsroom.consumer"
        )

        reader = broker.subscriber(
            stream=StreamSub(
                stream,
                group=group,
                consumer=consumer,
                batch=True,
                max_records=batch_size,
                polling_interval=polling_ms,
            ),
            ack_policy=AckPolicy.MANUAL,
            parser=self._parse_batch,
            decoder=self._decoded,
            title=f"{stream}:{group}:read",
        )
        self.subscribers = [reader]

        @reader
        async def on_batch(body: _Parsed[T]) -> None:
            # FastStream's process span lacks these two messaging conventions.
            span = trace.get_current_span()
            span.set_attribute("messaging.consumer.group.name", group)
            span.set_attribute("messaging.operation.type", "process")
            await self._queue.put((body, otel_context.get_current()))

    async def ensure_group(self) -> None:
        """Create the group at the stream's start, before the broker starts reading.

        FastStream would create it at ``$`` (skipping everything published before
        this service first ran) and cannot be told ``0`` safely (its issue #2694).
        """
        try:
            await self.client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except aioredis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        # Listed in XINFO CONSUMERS from the start, not only once it was given work.
        await self.client.xgroup_createconsumer(self.stream, self.group, self.consumer)

    def start(self) -> None:
        """Start the batch worker and the claimer (call once the event loop runs)."""
        self._workers = [
            asyncio.create_task(self._work(), name=f"apply {self.stream} #{n}")
            for n in range(self._worker_count)
        ]
        self._claimer = asyncio.create_task(self._claim_forever(), name=f"claim {self.stream}")

    async def drain(self, within: float = 8.0) -> None:
        """Apply and ack what was read, then stop (after the broker stopped reading).

        Bounded: what is not done ``within`` seconds stays pending and another replica
        reclaims it, so a stuck database cannot keep the process from exiting.
        """
        if not self._workers:
            return
        self._stopping.set()  # the claimer finishes the entries it holds, then stops

        async def settle() -> None:
            if self._claimer is not None:
                await self._claimer
            await self._queue.join()
            await self._finish_own_pending()

        try:
            await asyncio.wait_for(settle(), within)
        except TimeoutError:
            log.warning(
                "%s: stopped with work in flight; it stays pending for another replica", self.stream
            )
            if self._claimer is not None:
                self._claimer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._claimer
        for worker in self._workers:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    async def _finish_own_pending(self) -> None:
        """Handle what was delivered to this consumer but never reached a worker.

        FastStream drops a batch whose read returns after its subscriber was told to
        stop: those entries sit in this consumer's pending list. Reading the list
        (XREADGROUP from id 0) and handling them now leaves nothing for another
        replica to reclaim later.
        """
        seen: set[str] = set()
        while True:
            reply: Any = await self.client.xreadgroup(
                self.group, self.consumer, {self.stream: "0"}, count=self.claim_batch
            )
            entries = reply[0][1] if reply else []
            ids = {i.decode() if isinstance(i, bytes) else i for i, _f in entries}
            if not entries or ids <= seen:  # nothing left, or nothing could be applied
                return
            seen |= ids
            gone = [i for i, f in entries if not f]  # trimmed from the stream meanwhile
            if gone:
                await self.client.xack(self.stream, self.group, *gone)
            live = [(i, f) for i, f in entries if f]
            if live:
                log.info("%s: handling %d entries read while stopping", self.stream, len(live))
                await self._handle_claimed(live)

    async def _claim_forever(self) -> None:
        # FastStream's min_idle_time subscriber polls XAUTOCLAIM in a hot loop while
        # the group has many young pending entries; this one sleeps between scans.
        # Each second it also checks the group is still there (see _recover_group).
        interval = max(0.2, self.claim_idle_ms / 2000)
        tick = min(interval, 1.0)
        last_scan = time.monotonic()
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), tick)
            if self._stopping.is_set():
                return
            try:
                if self._reading and any(not r.running for r in self.subscribers):
                    await self._recover_group()
                if time.monotonic() - last_scan >= interval:
                    last_scan = time.monotonic()
                    await self.reclaim()
            except aioredis.ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    log.exception("reclaiming %s failed: %r", self.stream, exc)
                    continue
                await self._recover_group()
            except Exception as exc:
                if is_transient(exc):
                    await self._outage(exc)
                else:
                    log.exception("reclaiming %s failed: %r", self.stream, exc)

    async def _recover_group(self) -> None:
        """The group is gone (a Redis restarted without persistence): make it, read again.

        FastStream stops a subscriber whose group vanished (NOGROUP) for good; we
        recreate the group at the stream's start and start the reader again.
        What the lost Redis held is lost with it; every entry after is counted.
        """
        await self.ensure_group()
        for reader in self.subscribers:
            if not reader.running:
                await reader.start()
        log.warning("%s: consumer group %s recreated; reading again", self.stream, self.group)

    async def reclaim(self) -> int:
        """Take over entries idle for ``claim_idle_ms`` (a dead replica's, or failed ones)."""
        cursor: Any = "0-0"
        claimed_total = 0
        while True:
            reply: Any = await self.client.xautoclaim(
                self.stream,
                self.group,
                self.consumer,
                min_idle_time=self.claim_idle_ms,
                start_id=cursor,
                count=self.claim_batch,
            )
            cursor, claimed = reply[0], [(i, f) for i, f in reply[1] if f]
            if claimed:
                claimed_total += len(claimed)
                await self._handle_claimed(claimed)
            if cursor in (b"0-0", "0-0"):
                return claimed_total

    async def _handle_claimed(self, claimed: list[tuple[Any, Any]]) -> None:
        ids = [i.decode() if isinstance(i, bytes) else i for i, _f in claimed]
        pending: Any = await self.client.xpending_range(
            self.stream,
            self.group,
            min=ids[0],
            max=ids[-1],
            count=len(ids) * 2,
            consumername=self.consumer,
        )
        deliveries = {
            (
                p["message_id"].decode() if isinstance(p["message_id"], bytes) else p["message_id"]
            ): int(p["times_delivered"])
            for p in pending
        }
        parsed = self.parse_entries(ids, [fields for _i, fields in claimed])
        by_count: dict[int, _Parsed[T]] = {}
        for entry in parsed.good:
            by_count.setdefault(deliveries.get(entry.entry_id, 2), _Parsed([], [])).good.append(
                entry
            )
        for entry_id, reason in parsed.bad:
            by_count.setdefault(deliveries.get(entry_id, 2), _Parsed([], [])).bad.append(
                (entry_id, reason)
            )
        for count, batch in by_count.items():
            links = [Link(c) for c in self._producer_spans(batch.good)]
            with self.tracer.start_as_current_span(
                f"process {self.stream}",
                kind=SpanKind.CONSUMER,
                links=links,
                attributes={
                    "messaging.system": "redis",
                    "messaging.destination.name": self.stream,
                    "messaging.operation.type": "process",
                    "messaging.consumer.group.name": self.group,
                    "messaging.batch.message_count": len(batch.good) + len(batch.bad),
                    "newsroom.reclaimed": True,
                    "newsroom.delivery_count": count,
                },
            ):
                await self._handle_parsed(batch, deliveries=count)

    @staticmethod
    def _producer_spans(entries: Sequence[Entry[Any]]) -> list[SpanContext]:
        """The producers' span contexts worth a link: those that were recorded (sampled)."""
        found = []
        for entry in entries:
            if sampled(entry.headers):
                ctx = trace.get_current_span(extract(entry.headers)).get_span_context()
                if ctx.is_valid:
                    found.append(ctx)
        return found

    def parse_entries(self, ids: Sequence[str], fields: Sequence[Mapping[Any, Any]]) -> _Parsed[T]:
        """Validate raw stream entries (wire format v1) into events, and sort out the bad."""
        return self._validate(ids, fields)[0]

    def _validate(
        self, ids: Sequence[str], fields: Sequence[Mapping[Any, Any]]
    ) -> tuple[_Parsed[T], bytes]:
        """The whole batch in one call: its envelopes joined into one JSON array and
        validated straight from bytes (no parse, re-encode and parse again, which is
        most of the cost of reading a batch). Only if some entry is bad are they taken
        one by one. Also returns the joined array.
        """
        raws: list[Any] = [f.get(DATA_FIELD_BYTES) or f.get(DATA_FIELD) for f in fields]
        if None not in raws:
            joined = b"[" + b",".join(raws) + b"]"
            try:
                envelopes = self._envelopes.validate_json(joined)
            except ValidationError:
                pass
            else:
                # tuple.__new__: a NamedTuple's own constructor is a Python function.
                good = [
                    _new_tuple(Entry, (i, e["data"], e.get("headers") or {}))
                    for i, e in zip(ids, envelopes, strict=True)
                ]
                return _Parsed(good, []), joined
        parsed: _Parsed[T] = _Parsed([], [])
        for entry_id, raw in zip(ids, raws, strict=True):
            if raw is None:
                parsed.bad.append((entry_id, f"invalid entry: no {DATA_FIELD} field"))
                continue
            try:
                envelope = self._envelope.validate_json(raw)
            except ValidationError as exc:
                parsed.bad.append((entry_id, f"invalid entry: {exc}"))
                continue
            parsed.good.append(Entry(entry_id, envelope["data"], envelope.get("headers") or {}))
        return parsed, b"[" + b",".join(r or b"null" for r in raws) + b"]"

    async def _parse_batch(self, raw: Any) -> _ReadBatch:
        """FastStream parser of a batch read: validate it here, once (see _validate).

        A coroutine on purpose: FastStream runs a plain function in a worker thread,
        a thread hop per batch that costs more than the validation. The batch headers
        handed on to FastStream's tracing are those of sampled producers only: it links
        the batch's span to each of them (and reads baggage from each), and a link to an
        unrecorded span is worth nothing.
        """
        ids = [i.decode() if isinstance(i, bytes) else i for i in raw["message_ids"]]
        parsed, joined = self._validate(ids, raw["data"])
        return _ReadBatch(
            raw_message=raw,
            body=joined,  # as FastStream's own batch parser: a JSON array of the bodies
            parsed=parsed,
            headers={"content-type": "application/json"},
            batch_headers=[e.headers for e in parsed.good if sampled(e.headers)],
            content_type="application/json",
            consumer=self.client,
            group=self.group,
        )

    @staticmethod
    async def _decoded(msg: _ReadBatch) -> _Parsed[Any]:
        return msg.parsed  # our parser validated it already

    async def _work(self) -> None:
        while True:
            parsed, ctx = await self._queue.get()
            token = otel_context.attach(ctx)  # spans of the batch join the consumer's trace
            try:
                await self._handle_parsed(parsed, deliveries=1)
            except Exception as exc:  # never let the worker die; entries stay pending
                log.exception("applying a batch of %s failed: %r", self.stream, exc)
            finally:
                otel_context.detach(token)
                self._queue.task_done()

    async def _handle_parsed(self, parsed: _Parsed[T], deliveries: int) -> None:
        good = parsed.good
        for entry_id, reason in parsed.bad:
            await self._dead_letter(entry_id, reason, deliveries)
        if not good:
            return
        try:
            deferred = await self.apply(good) or ()
        except Exception as exc:
            if is_transient(exc):
                await self._outage(exc)
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
                    await self._outage(exc)
                    return
                await self._failed(entry, exc, deliveries)
                continue
            if entry.entry_id not in deferred:
                await self._ack([entry.entry_id])

    async def _failed(self, entry: Entry[T], exc: Exception, deliveries: int) -> None:
        if self.metrics:
            self.metrics.message_outcome(self.stream, "failed")
        if deliveries >= self.max_deliveries:
            await self._dead_letter(
                entry.entry_id, f"failed {deliveries} times: {exc!r}", deliveries
            )
        else:
            log.warning(
                "entry %s of %s failed (delivery %d of %d), left pending for retry: %r",
                entry.entry_id,
                self.stream,
                deliveries,
                self.max_deliveries,
                exc,
            )

    async def _dead_letter(self, entry_id: str, reason: str, deliveries: int) -> None:
        await self.dead_letters.send(entry_id, reason, deliveries)
        self.dead_lettered += 1
        if self.metrics:
            self.metrics.message_outcome(self.stream, "dead_lettered")
        log.warning("entry %s of %s dead-lettered: %s", entry_id, self.stream, reason)

    async def _ack(self, ids: list[str]) -> None:
        if not ids:
            return
        await self.client.xack(self.stream, self.group, *ids)
        self.processed += len(ids)
        if self.metrics:
            self.metrics.message_outcome(self.stream, "processed", len(ids))
        if self.failing_since is not None:
            log.info("%s consumer recovered (failing since %s)", self.stream, self.failing_since)
            self.failing_since = None
        self._backoff = 0.0

    async def _outage(self, exc: BaseException) -> None:
        if self.failing_since is None:  # one log line per outage, not per batch
            self.failing_since = datetime.now(UTC)
            log.error("%s consumer cannot commit, entries stay pending: %r", self.stream, exc)
        # Sleeping in the handler delays the next read: that is the back-off.
        self._backoff = min(max(self._backoff * 2, 0.2), 5.0)
        await asyncio.sleep(self._backoff)


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
        consumer._reading = False  # stopped readers are not a lost group to recover
    await broker.stop()
    for consumer in consumers:
        await consumer.drain()
