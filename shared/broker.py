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

from faststream.redis import RedisBroker
from faststream.redis.opentelemetry import RedisTelemetryMiddleware
from opentelemetry.sdk.trace import TracerProvider

from shared.events import Event
from shared.settings import NewsroomSettings
from shared.streams import JsonEnvelopeFormat
from shared.telemetry import tracing_disabled


def make_broker(settings: NewsroomSettings, tracer_provider: TracerProvider) -> RedisBroker:
    middlewares = (
        [] if tracing_disabled() else [RedisTelemetryMiddleware(tracer_provider=tracer_provider)]
    )
    return RedisBroker(
        settings.redis_url,
        message_format=JsonEnvelopeFormat,
        middlewares=middlewares,
        log_level=logging.DEBUG,
        logger=logging.getLogger("newsroom.broker"),
        graceful_timeout=10.0,
    )


async def publish_event(
    broker: RedisBroker,
    stream: str,
    event: Event,
    *,
    maxlen: int,
    headers: dict[str, Any] | None = None,
) -> None:
    """Publish one event as JSON (wire format v1) with a capped XADD."""
    await broker.publish(
        event.model_dump(mode="json"),
        stream=stream,
        maxlen=maxlen,
        headers={"event_type": event.type, "event_id": str(event.event_id), **(headers or {})},  # type: ignore[attr-defined]
        correlation_id=str(event.event_id),
    )
