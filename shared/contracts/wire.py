"""Wire format v1 of every stream entry (documented in ``docs/events.md``).

Each entry has one field, ``__data__``, holding a JSON object
``{"headers": {...}, "data": <event>}``. ``headers`` carries ``traceparent``
(W3C), ``content-type`` and ``correlation_id``. Any system needs only a Redis
client and a JSON parser to read it; FastStream reads it through
:class:`shared.messaging.broker.JsonEnvelopeFormat`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

DATA_FIELD = "__data__"


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


def parse_envelope(data: bytes) -> tuple[bytes, dict[str, Any]]:
    """The event's JSON bytes and headers of one ``__data__`` value.

    Not our envelope (a hand-written entry): the raw bytes go on, and the
    consumer's validation sends them to the dead-letter stream.
    """
    try:
        envelope = orjson.loads(data)
        body = envelope["data"]
        headers = envelope.get("headers") or {}
    except (orjson.JSONDecodeError, TypeError, KeyError):
        return data, {}
    if isinstance(body, str):
        return body.encode(), headers
    return orjson.dumps(body), headers
