"""Stream entries as consumers see them, validated a whole batch at a time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, NotRequired, TypeVar

import redis.asyncio as aioredis
from opentelemetry import trace
from opentelemetry.propagate import extract
from opentelemetry.trace import SpanContext
from pydantic import ConfigDict, TypeAdapter, ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from typing_extensions import TypedDict

from shared.contracts.wire import DATA_FIELD

T = TypeVar("T")
DATA_FIELD_BYTES = DATA_FIELD.encode()
_new_tuple = tuple.__new__


class TraceHeaders(TypedDict, total=False):
    """The headers of an entry that consumers use: its trace context, and the
    ``correlation_id`` FastStream's batch spans link producers by. The others
    (``event_type``, ``event_id``, ``content-type``) repeat the event and are skipped
    (building them into a dict for every entry costs more than the rest of the read)."""

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


@dataclass(slots=True)
class Parsed(Generic[T]):
    good: list[Entry[T]]
    bad: list[tuple[str, str]]  # (entry id, why it is invalid)


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


def producer_spans(entries: Sequence[Entry[Any]]) -> list[SpanContext]:
    """The producers' span contexts worth a link: those that were recorded (sampled)."""
    found = []
    for entry in entries:
        if sampled(entry.headers):
            ctx = trace.get_current_span(extract(entry.headers)).get_span_context()
            if ctx.is_valid:
                found.append(ctx)
    return found


class EntryValidator(Generic[T]):
    """Validates raw entries (wire format v1) into :class:`Entry` values of one event type."""

    def __init__(self, event_type: Any) -> None:
        # The event type is only known here, hence the envelope's TypedDict built now.
        Envelope = TypedDict(  # noqa: UP013
            "Envelope", {"headers": NotRequired[TraceHeaders], "data": event_type}
        )
        # No string cache: ids and visitors are new in every entry, caching them only
        # churns the cache.
        fresh = ConfigDict(cache_strings=False)
        Envelope.__pydantic_config__ = fresh  # type: ignore[attr-defined]
        self._envelope = TypeAdapter(Envelope)
        self._envelopes = TypeAdapter(list[Envelope], config=fresh)  # type: ignore[valid-type]

    def validate(
        self, ids: Sequence[str], fields: Sequence[Mapping[Any, Any]]
    ) -> tuple[Parsed[T], bytes]:
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
                return Parsed(good, []), joined
        parsed: Parsed[T] = Parsed([], [])
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


def text_ids(ids: Sequence[Any]) -> list[str]:
    return [i.decode() if isinstance(i, bytes) else i for i in ids]
