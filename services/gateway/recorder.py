"""Publish reader events (views, comments) rate-limited, in one Redis round trip.

A Lua script counts the client's requests in the current window (shared by
all gateway replicas) and, when under the limit, XADDs the event in wire
format v1. One round trip keeps ``POST /views`` close to a bare endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from opentelemetry import trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.propagate import inject
from opentelemetry.trace import SpanKind, Tracer

from shared.contracts.events import Event
from shared.contracts.wire import event_envelope
from shared.web.problems import Problem

RATE_LIMITED_XADD = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if n > tonumber(ARGV[1]) then
  return {0, redis.call('PTTL', KEYS[1])}
end
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', '__data__', ARGV[4])
if KEYS[3] then redis.call('SET', KEYS[3], id, 'PX', ARGV[5]) end
return {1, id}
"""


@dataclass(frozen=True)
class Published:
    accepted: bool
    retry_after_ms: int = 0
    entry_id: str | None = None

    def or_too_many(self) -> Published:
        """Itself if accepted; else the reader's 429 with ``Retry-After``."""
        if not self.accepted:
            seconds = max(1, -(-self.retry_after_ms // 1000))
            raise Problem(
                429,
                "Too many requests",
                f"Try again in {seconds} s.",
                headers={"Retry-After": str(seconds)},
            )
        return self


def event_store_down(what: str) -> Problem:
    """Refuse rather than accept what cannot be delivered."""
    return Problem(503, what, "The event store is unreachable.", headers={"Retry-After": "5"})


class RateLimitedPublisher:
    def __init__(self, client: aioredis.Redis, tracer: Tracer, *, maxlen: int) -> None:
        self.client = client
        self.tracer = tracer
        self.maxlen = maxlen
        self.script = client.register_script(RATE_LIMITED_XADD)

    async def publish(
        self,
        stream: str,
        event: Event,
        *,
        rate_key: str,
        limit: int,
        window_ms: int,
        marker: tuple[str, int] | None = None,
    ) -> Published:
        """XADD ``event`` unless ``rate_key`` is over ``limit`` per ``window_ms``.

        ``marker`` (key, ttl ms) is set to the entry id on success: proof, for a
        while, that the event was accepted.
        """
        if not trace.get_current_span().is_recording():
            # An unsampled request (most of them): a PRODUCER span would record
            # nothing; the trace context still travels on (sampled=0), so every
            # later hop makes the same decision.
            return await self._send(stream, event, rate_key, limit, window_ms, marker)
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
            published = await self._send(stream, event, rate_key, limit, window_ms, marker)
            if published.accepted:
                span.set_attribute("messaging.redis.entry_id", published.entry_id or "")
            else:
                span.set_attribute("newsroom.rate_limited", True)
            return published

    async def _send(
        self,
        stream: str,
        event: Event,
        rate_key: str,
        limit: int,
        window_ms: int,
        marker: tuple[str, int] | None,
    ) -> Published:
        headers: dict[str, Any] = {
            "event_type": event.type,  # type: ignore[attr-defined]
            "event_id": str(event.event_id),
            "correlation_id": str(event.event_id),  # FastStream links batch spans by it
            "content-type": "application/json",
        }
        inject(headers)  # traceparent of the PRODUCER span (or of the unsampled request)
        payload = event_envelope(event.__pydantic_serializer__.to_json(event), headers)
        keys = [rate_key, stream] + ([marker[0]] if marker else [])
        args: list[int | bytes] = [limit, window_ms, self.maxlen, payload]
        if marker:
            args.append(marker[1])
        # The PRODUCER span is the XADD (with the rate-limit check): no CLIENT span
        # of redis-py's instrumentation under it, on the hottest path of all.
        with suppress_instrumentation():
            accepted, value = await self.script(keys=keys, args=args)
        if not accepted:
            return Published(False, retry_after_ms=max(int(value), 0))
        entry_id = value.decode() if isinstance(value, bytes) else str(value)
        return Published(True, entry_id=entry_id)
