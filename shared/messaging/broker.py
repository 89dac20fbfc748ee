"""Broker factory and publishing helpers shared by every service.

Delivery policy, chosen on purpose: consumers use ``AckPolicy.MANUAL`` and
ack only after their effect is committed; a failed entry stays pending and is
reclaimed (XAUTOCLAIM) after ``claim_idle_ms``; after ``max_deliveries`` it
moves to ``<stream>.dlq``. Per-message logs go to DEBUG: at INFO they halve
throughput.
"""

from __future__ import annotations

import logging
from typing import Any

from faststream.redis import RedisBroker, RedisClusterBroker
from faststream.redis.opentelemetry import RedisTelemetryMiddleware
from faststream.redis.parser.message import MessageFormat
from opentelemetry.sdk.trace import TracerProvider

from shared.contracts.wire import encode_envelope, parse_envelope
from shared.observability.tracing import tracing_disabled
from shared.settings import NewsroomSettings


class JsonEnvelopeFormat(MessageFormat):
    """FastStream message format that keeps stream entries plain JSON (wire format v1)."""

    __slots__ = ()

    @classmethod
    async def encode(  # type: ignore[override]
        cls,
        *,
        message: Any,
        reply_to: str | None,
        headers: dict[str, Any] | None,
        correlation_id: str,
        serializer: Any = None,
        codec: Any = None,
    ) -> bytes:
        msg = await cls.build(
            message=message,
            reply_to=reply_to,
            headers=headers,
            correlation_id=correlation_id,
            serializer=serializer,
            codec=codec,
        )
        return encode_envelope(msg.data, msg.headers)

    @classmethod
    def parse(cls, data: bytes) -> tuple[bytes, dict[str, Any]]:
        return parse_envelope(data)


def make_broker(settings: NewsroomSettings, tracer_provider: TracerProvider) -> RedisBroker:
    middlewares = (
        [] if tracing_disabled() else [RedisTelemetryMiddleware(tracer_provider=tracer_provider)]
    )
    options: dict[str, Any] = {
        "message_format": JsonEnvelopeFormat,
        "middlewares": middlewares,
        "log_level": logging.DEBUG,
        "logger": logging.getLogger("newsroom.broker"),
        "graceful_timeout": 10.0,
    }
    if settings.redis_cluster:
        return RedisClusterBroker(settings.redis_url, **options)
    return RedisBroker(settings.redis_url, **options)
