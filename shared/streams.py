"""Stream names and the JSON wire format of every stream entry.

Wire format v1 (documented in ``docs/events.md``): each entry has one field,
``__data__``, holding a JSON object ``{"headers": {...}, "data": <event>}``.
``headers`` carries ``traceparent`` (W3C), ``content-type`` and
``correlation_id``. FastStream reads it through :class:`JsonEnvelopeFormat`;
any other system needs only a Redis client and a JSON parser.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from faststream.redis.parser.message import MessageFormat

DATA_FIELD = "__data__"


@dataclass(frozen=True, slots=True)
class Streams:
    """Fully qualified stream and key names under one namespace."""

    namespace: str

    def key(self, *parts: str) -> str:
        return ":".join((self.namespace, *parts))

    @property
    def articles(self) -> str:
        return self.key("articles")

    @property
    def views(self) -> str:
        return self.key("views")

    @property
    def comments_submitted(self) -> str:
        return self.key("comments.submitted")

    @property
    def comments(self) -> str:
        return self.key("comments")

    @staticmethod
    def dlq(stream: str) -> str:
        return f"{stream}.dlq"


class JsonEnvelopeFormat(MessageFormat):
    """FastStream message format that keeps stream entries plain JSON."""

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
        try:
            envelope = orjson.loads(data)
            body = envelope["data"]
            headers = envelope.get("headers") or {}
        except (orjson.JSONDecodeError, TypeError, KeyError):
            # Not our envelope (hand-written entry): hand the raw bytes on, the
            # handler's validation sends it to the dead-letter stream.
            return data, {}
        if isinstance(body, str):
            return body.encode(), headers
        return orjson.dumps(body), headers


def encode_envelope(
    payload: bytes | str | Sequence[Any] | dict[str, Any], headers: dict[str, Any]
) -> bytes:
    """Wrap an already-serialised JSON payload and headers into wire format v1.

    The output is UTF-8 JSON without escapes, so Arabic stays readable in redis-cli.
    """
    if isinstance(payload, bytes | str):
        try:
            body: Any = orjson.loads(payload)
        except orjson.JSONDecodeError:
            body = payload.decode() if isinstance(payload, bytes) else payload
    else:
        body = payload
    return orjson.dumps({"headers": headers, "data": body})


def event_envelope(event_json: bytes, headers: dict[str, Any]) -> bytes:
    """Wire format v1 around an event already serialised to JSON (no re-parsing)."""
    return b'{"headers":' + orjson.dumps(headers) + b',"data":' + event_json + b"}"


def decode_envelope(fields: Mapping[Any, Any]) -> tuple[dict[str, Any], Any]:
    """Read a raw stream entry (as redis-py returns it) into (headers, data)."""
    raw = fields.get(DATA_FIELD) or fields.get(DATA_FIELD.encode())
    if raw is None:
        raise ValueError("entry has no __data__ field")
    envelope = orjson.loads(raw)
    return envelope.get("headers") or {}, envelope["data"]
