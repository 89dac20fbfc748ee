"""How the consumer reads raw stream entries: good ones validated in one go, bad ones
sorted out one by one with a reason, producer headers kept (no Redis needed)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import pytest
import redis.asyncio as aioredis

from shared.contracts.events import ViewData, ViewRecorded
from shared.contracts.lean import lean
from shared.contracts.wire import DATA_FIELD, encode_envelope
from shared.messaging.broker import make_broker
from shared.messaging.consuming import Entry, StreamConsumer, sampled
from shared.settings import NewsroomSettings

pytestmark = pytest.mark.unit

SAMPLED = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
UNSAMPLED = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"


def _consumer(event_type: Any) -> StreamConsumer[Any]:
    settings = NewsroomSettings(namespace="unit")

    async def apply(entries: Sequence[Entry[Any]]) -> None:
        return None

    return StreamConsumer[Any](
        broker=make_broker(settings, None),  # type: ignore[arg-type]
        client=aioredis.Redis(),  # never connects in these tests
        stream="unit:views",
        group="views",
        consumer="unit-1",
        event_type=event_type,
        apply=apply,
    )


def _entry(visitor: str, headers: dict[str, Any] | None = None) -> dict[bytes, bytes]:
    event = ViewRecorded(data=ViewData(article_id=uuid.uuid4(), visitor_id=visitor))
    return {DATA_FIELD.encode(): encode_envelope(event.model_dump_json().encode(), headers or {})}


@pytest.mark.parametrize("event_type", [ViewRecorded, lean(ViewRecorded)])
def test_a_good_batch_is_read_whole_with_its_headers(event_type: Any) -> None:
    consumer = _consumer(event_type)
    fields = [_entry(f"visitor-{n:04d}", {"traceparent": SAMPLED}) for n in range(3)]
    parsed = consumer.parse_entries(["1-0", "1-1", "2-0"], fields)
    assert parsed.bad == []
    assert [e.entry_id for e in parsed.good] == ["1-0", "1-1", "2-0"]
    visitors = [
        e.event["data"]["visitor_id"] if isinstance(e.event, dict) else e.event.data.visitor_id
        for e in parsed.good
    ]
    assert visitors == [
        "visitor-0000",
        "visitor-0001",
        "visitor-0002",
    ]
    assert all(e.headers["traceparent"] == SAMPLED for e in parsed.good)


def test_bad_entries_are_sorted_out_with_a_reason_and_the_rest_kept() -> None:
    consumer = _consumer(lean(ViewRecorded))
    good = _entry("visitor-good")
    fields: list[dict[Any, Any]] = [
        good,
        {DATA_FIELD.encode(): b"{not json"},
        {b"other": b"no data field"},
        {DATA_FIELD.encode(): b'{"headers": {}, "data": {"type": "view.recorded"}}'},
        {DATA_FIELD.encode(): b'"just a string"'},
        {DATA_FIELD: good[DATA_FIELD.encode()]},  # str field names (a decoding client)
    ]
    ids = [f"{n}-0" for n in range(1, len(fields) + 1)]
    parsed = consumer.parse_entries(ids, fields)
    assert [e.entry_id for e in parsed.good] == ["1-0", "6-0"]
    assert [i for i, _why in parsed.bad] == ["2-0", "3-0", "4-0", "5-0"]
    reasons = dict(parsed.bad)
    assert "no __data__ field" in reasons["3-0"]
    assert "data.data" in reasons["4-0"]  # the validation error names the missing field


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"traceparent": SAMPLED}, True),
        ({"traceparent": UNSAMPLED}, False),
        ({"traceparent": SAMPLED[:-2] + "03"}, True),  # other flags set too
        ({"traceparent": SAMPLED[:-2] + "zz"}, False),
        ({"traceparent": "garbage"}, False),
        ({"traceparent": 1}, False),
        ({}, False),
    ],
)
def test_only_sampled_producers_are_worth_a_link(headers: dict[str, Any], expected: bool) -> None:
    assert sampled(headers) is expected


def test_only_the_trace_headers_are_kept_and_must_be_text() -> None:
    consumer = _consumer(lean(ViewRecorded))
    headers = {"traceparent": SAMPLED, "correlation_id": "c-1", "event_type": "view.recorded"}
    fields = [_entry("visitor-0001", headers), _entry("visitor-0002", {"traceparent": 42})]
    parsed = consumer.parse_entries(["1-0", "2-0"], fields)
    assert [e.headers for e in parsed.good] == [{"traceparent": SAMPLED, "correlation_id": "c-1"}]
    ((bad_id, reason),) = parsed.bad
    assert bad_id == "2-0" and "headers.traceparent" in reason
