"""Publish reader events (views, comments) rate-limited, in one Redis round trip.

A Lua script counts the client's requests in the current window (shared by
all gateway replicas) and, when under the limit, XADDs the event in wire
format v1. One round trip keeps ``POST /views`` close to a bare endpoint. On a
Redis Cluster a view's partition and its address's counter lie in two slots:
the counter is checked first, by a script of its own (docs/scaling.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from opentelemetry import trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.propagate import inject
from opentelemetry.trace import SpanKind, Tracer
from redis.asyncio.cluster import RedisCluster
from redis.crc import key_slot
from redis.exceptions import NoScriptError

from shared.contracts.events import Event
from shared.contracts.wire import event_envelope
from shared.messaging.replication import NotReplicated, Replication
from shared.web.problems import Problem

# The rate limit: KEYS[1] the client's counter; ARGV[1] the limit, ARGV[2] the window ms.
RATE_CHECK = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if n > tonumber(ARGV[1]) then
  return {0, redis.call('PTTL', KEYS[1])}
end
"""

# KEYS: rate counter, stream, [marker | readers of this address]; ARGV: limit, window ms,
# maxlen, payload, then either the marker's ttl ms, or "" and (reader, bound, ttl ms).
# A limit of "" means the counter was checked already, by RATE_LIMIT in its own slot
# (a cluster's view partitions): KEYS[1] is then the stream again and is not touched.
RATE_LIMITED_XADD = f"""
if ARGV[1] ~= '' then
{RATE_CHECK}
end
if ARGV[6] then
  if redis.call('SADD', KEYS[3], ARGV[6]) == 1 then
    if redis.call('SCARD', KEYS[3]) > tonumber(ARGV[7]) then
      redis.call('SREM', KEYS[3], ARGV[6])
      return {{2, 0}}
    end
    redis.call('PEXPIRE', KEYS[3], ARGV[8])
  end
end
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', '__data__', ARGV[4])
if KEYS[3] and ARGV[5] ~= '' then redis.call('SET', KEYS[3], id, 'PX', ARGV[5]) end
return {{1, id}}
"""

RATE_LIMIT = f"{RATE_CHECK}\nreturn {{1, 0}}\n"


@dataclass(frozen=True)
class Published:
    accepted: bool
    retry_after_ms: int = 0
    entry_id: str | None = None
    #: Not published: one address already sent this many distinct readers.
    capped: bool = False

    def or_too_many(self) -> Published:
        """Itself if accepted; else the reader's 429 with ``Retry-After``."""
        if not self.accepted:
            seconds = max(1, -(-self.retry_after_ms // 1000))
            raise Problem(
                429,
                "Too many requests",
                f"طلبات كثيرة: حاول بعد {seconds} ث. / Try again in {seconds} s.",
                headers={"Retry-After": str(seconds)},
            )
        return self


@dataclass(frozen=True)
class Readers:
    """The distinct readers one address sent for one article, bounded."""

    key: str
    reader: str
    bound: int
    ttl_ms: int


def event_store_down(what: str, exc: BaseException | None = None) -> Problem:
    """Refuse rather than accept what cannot be delivered (nor what only a master that may
    yet fail holds: not replicated in time)."""
    if isinstance(exc, NotReplicated):
        return Problem(
            503,
            what,
            "لم يُحفظ بأمان بعد: أرسله مرة أخرى. / Not stored safely yet: send it again.",
            headers={"Retry-After": "1"},
        )
    return Problem(
        503,
        what,
        "تعذّر الوصول إلى مخزن الأحداث مؤقتاً. / The event store is unreachable.",
        headers={"Retry-After": "5"},
    )


class RateLimitedPublisher:
    def __init__(
        self,
        client: aioredis.Redis,
        tracer: Tracer,
        *,
        maxlen: int,
        replication: Replication | None = None,
    ) -> None:
        self.client = client
        self.tracer = tracer
        self.maxlen = maxlen
        self.script = client.register_script(RATE_LIMITED_XADD)
        self.limit = client.register_script(RATE_LIMIT)
        self.replication = replication
        # On a cluster, a counter in another slot than its stream is checked on its own.
        self.cluster = isinstance(client, RedisCluster)

    async def _run(self, keys: list[str], args: list[Any]) -> Any:
        """The script; where a replica must confirm, with its ``WAIT`` on the same
        connection (one pipeline, one round trip) — raises NotReplicated."""
        replication = self.replication
        if replication is None or not replication.replicas:
            return await self.script(keys=keys, args=args)
        for _attempt in range(2):
            async with self.client.pipeline(transaction=False) as pipe:
                # execute_command: a cluster pipeline refuses pipe.evalsha() by name.
                pipe.execute_command("EVALSHA", self.script.sha, len(keys), *keys, *args)
                replication.add_wait(pipe, keys[1])
                try:
                    result, acked = await replication.execute(pipe)
                except NoScriptError:  # a new or promoted master: load it there
                    await self.client.script_load(RATE_LIMITED_XADD)
                    continue
            if result[0] == 1:
                replication.check(acked)
            return result
        raise NotReplicated(0, replication.replicas)

    async def publish(
        self,
        stream: str,
        event: Event,
        *,
        rate_key: str,
        limit: int,
        window_ms: int,
        marker: tuple[str, int] | None = None,
        readers: Readers | None = None,
    ) -> Published:
        """XADD ``event`` unless ``rate_key`` is over ``limit`` per ``window_ms``.

        ``marker`` (key, ttl ms) is set to the entry id on success: proof, for a
        while, that the event was accepted. ``readers`` bounds the distinct readers
        one address may send for one article in a window (the rest are not published).
        """
        # The script's keys and arguments, around the payload (made under the span).
        keys = [rate_key, stream]
        limits: list[int | bytes | str] = [limit, window_ms, self.maxlen]
        more: list[int | bytes | str] = []
        if marker:
            keys.append(marker[0])
            more.append(marker[1])
        elif readers is not None:
            keys.append(readers.key)
            more += ["", readers.reader, readers.bound, readers.ttl_ms]
        if not trace.get_current_span().is_recording():
            # An unsampled request (most of them): a PRODUCER span would record
            # nothing; the trace context still travels on (sampled=0), so every
            # later hop makes the same decision.
            return await self._send(event, keys, limits, more)
        with self.tracer.start_as_current_span(
            f"send {stream}",
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "redis",
                "messaging.destination.name": stream,
                "messaging.operation.type": "send",
                "messaging.operation.name": "XADD",
                "messaging.message.id": str(event.event_id),
            },
        ) as span:
            published = await self._send(event, keys, limits, more)
            if published.accepted:
                span.set_attribute("messaging.redis.entry_id", published.entry_id or "")
            else:
                span.set_attribute("newsroom.rate_limited", True)
            return published

    async def _send(
        self, event: Event, keys: list[str], limits: list[int | bytes | str], more: list[Any]
    ) -> Published:
        headers: dict[str, Any] = {
            "event_type": event.type,  # type: ignore[attr-defined]
            "event_id": str(event.event_id),
            "correlation_id": str(event.event_id),  # FastStream links batch spans by it
            "content-type": "application/json",
        }
        inject(headers)  # traceparent of the PRODUCER span (or of the unsampled request)
        payload = event_envelope(event.__pydantic_serializer__.to_json(event), headers)
        args = [*limits, payload, *more]
        limit = limits[0]
        # The PRODUCER span is the XADD (with the rate-limit check): no CLIENT span
        # of redis-py's instrumentation under it, on the hottest path of all.
        with suppress_instrumentation():
            # A view's partition is its (article, reader)'s, the address's counter in the
            # address's own: on a cluster, two slots, so the counter is checked first, on
            # its own. No limit here (0: the edge's): the counter is not touched at all.
            apart = self.cluster and key_slot(keys[0].encode()) != key_slot(keys[1].encode())
            if apart or not limit:
                if limit:
                    allowed, ttl = await self.limit(keys=keys[:1], args=limits[:2])
                    if not allowed:
                        return Published(False, retry_after_ms=max(int(ttl), 0))
                keys = [keys[1], *keys[1:]]
                args[0] = ""
            accepted, value = await self._run(keys, args)
        if accepted == 2:
            return Published(False, capped=True)
        if not accepted:
            return Published(False, retry_after_ms=max(int(value), 0))
        entry_id = value.decode() if isinstance(value, bytes) else str(value)
        return Published(True, entry_id=entry_id)
