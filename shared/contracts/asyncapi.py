"""AsyncAPI 3.0 description of the public streams, derived from the event models.

Built from the same pydantic models the services use, so it cannot drift
from what goes on the wire. Served by the gateway at ``/asyncapi``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from shared.contracts.streams import STREAM_MAP, Streams, StreamSpec
from shared.contracts.wire import DATA_FIELD

ENVELOPE_DOC = (
    f"Each stream entry has one field, `{DATA_FIELD}`, whose value is a JSON object "
    '`{"headers": {...}, "data": <event>}`. `headers.traceparent` is the W3C trace '
    "context; `headers.event_type` and `headers.event_id` repeat the event's own fields."
)


def public_streams() -> list[StreamSpec]:
    """What other systems may read: the public rows of the stream map."""
    return [spec for spec in STREAM_MAP if spec.public]


def _message(model: type[BaseModel]) -> tuple[str, dict[str, Any]]:
    event_type = model.model_fields["type"].default
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    defs = schema.pop("$defs", {})
    return event_type, {
        "name": event_type,
        "title": model.__name__,
        "contentType": "application/json",
        "summary": model.__doc__ or event_type,
        "headers": {
            "type": "object",
            "properties": {
                "traceparent": {"type": "string", "description": "W3C trace context"},
                "event_type": {"type": "string", "const": event_type},
                "event_id": {"type": "string", "format": "uuid"},
                "correlation_id": {"type": "string"},
                "content-type": {"type": "string", "const": "application/json"},
            },
            "required": ["traceparent", "event_type", "event_id"],
        },
        "payload": schema,
        "x-defs": defs,
    }


HTTP_DOC = (
    "The same events, the same JSON, over HTTP: `GET /api/v1/events` on the gateway answers "
    "Server-Sent Events (`event:` the type, `data:` the event, `id:` a position to resume "
    "from with `Last-Event-ID`); a subscriber token is needed (docs/events.md)."
)
WEBHOOK_DOC = (
    "Or pushed: a webhook subscription (`POST /api/v1/webhooks`, editor token) gets a JSON "
    "`POST` of each event it names, the event's JSON as on the stream, signed as Standard "
    "Webhooks says (`webhook-id` is the event's `event_id`, `webhook-timestamp`, "
    "`webhook-signature`), at least once and in stream order, retried with back-off for up "
    "to 24 h (docs/events.md)."
)


def asyncapi_document(
    streams: Streams,
    redis_url: str = "redis://localhost:6379",
    gateway_host: str = "localhost:8000",
) -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for spec in public_streams():
        suffix, description = spec.name, spec.description
        channel_messages = {}
        for model in spec.events:
            name, message = _message(model)
            schemas.update(message.pop("x-defs"))
            key = name.replace(".", "_")
            messages[key] = message
            channel_messages[key] = {"$ref": f"#/components/messages/{key}"}
        channel_id = suffix.replace(".", "_")
        channels[channel_id] = {
            "address": streams.of(suffix),
            "description": f"{description} {ENVELOPE_DOC}",
            "messages": channel_messages,
            "bindings": {"redis": {"bindingVersion": "custom", "type": "stream"}},
        }
        operations[f"consume_{channel_id}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "summary": f"Read {streams.of(suffix)} with XREADGROUP in your own consumer group.",
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Newsroom events",
            "version": "1.0.0",
            "description": "Public event streams of Newsroom. "
            + " ".join((ENVELOPE_DOC, HTTP_DOC, WEBHOOK_DOC)),
        },
        "defaultContentType": "application/json",
        "servers": {
            "redis": {"host": redis_url.split("://")[-1].rsplit("@")[-1], "protocol": "redis"},
            "events-over-http": {
                "host": gateway_host,
                "pathname": "/api/v1/events",
                "protocol": "http",
                "description": HTTP_DOC,
            },
            "webhooks": {
                "host": "subscribers' own URLs",
                "protocol": "https",
                "description": WEBHOOK_DOC,
            },
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }
