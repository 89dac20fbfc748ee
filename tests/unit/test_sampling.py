"""Head sampling at the door: untraced requests cost no span; traced ones are whole."""

from __future__ import annotations

import contextvars
import random

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.propagate import inject
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Decision
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, TraceFlags

from shared.observability.tracing import DoorSampler, TracedApp

pytestmark = pytest.mark.unit

SAMPLED = b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
UNSAMPLED = b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"


def _scope(*headers: tuple[bytes, bytes]) -> dict[str, object]:
    return {"type": "http", "headers": [(b"host", b"newsroom"), *headers]}


def _skips(door: DoorSampler, scope: dict[str, object]) -> bool:
    # As in a server, each request in a context of its own (the decision is kept there).
    return contextvars.copy_context().run(door.skips, scope)


@pytest.mark.parametrize("ratio", [0.0, 1.0])
def test_a_traceparent_decides_whatever_the_ratio(ratio: float) -> None:
    door = DoorSampler(ratio)
    assert _skips(door, _scope((b"traceparent", SAMPLED))) is False
    assert _skips(door, _scope((b"traceparent", UNSAMPLED))) is True


def test_without_a_traceparent_the_ratio_of_requests_is_let_in() -> None:
    # Seeded for a repeatable count, then given back: every later test of this process drew
    # from the same seeded sequence (free ports among them).
    state = random.getstate()
    random.seed(7)
    try:
        door = DoorSampler(0.1)
        let_in = sum(not _skips(door, _scope()) for _ in range(20_000))
    finally:
        random.setstate(state)
    assert 1_600 <= let_in <= 2_400  # 10 % of 20,000, give or take 20 %
    assert _skips(DoorSampler(0.0), _scope()) and not _skips(DoorSampler(1.0), _scope())
    assert _skips(DoorSampler(0.0), _scope((b"traceparent", b"garbage")))


def _parent(sampled: bool) -> trace.Span:
    flags = TraceFlags(TraceFlags.SAMPLED if sampled else TraceFlags.DEFAULT)
    return NonRecordingSpan(SpanContext(1, 2, is_remote=True, trace_flags=flags))


def test_server_roots_let_in_are_sampled_and_the_rest_follow_their_parent() -> None:
    door = DoorSampler(0.0)  # no new trace would start by ratio
    decide = door.should_sample
    assert decide(None, 5, "POST", SpanKind.SERVER).decision is Decision.RECORD_AND_SAMPLE
    in_sampled = trace.set_span_in_context(_parent(True))
    in_unsampled = trace.set_span_in_context(_parent(False))
    assert decide(in_sampled, 5, "x", SpanKind.CLIENT).decision is Decision.RECORD_AND_SAMPLE
    assert decide(in_unsampled, 5, "x", SpanKind.SERVER).decision is Decision.DROP
    assert decide(None, 5, "consume", SpanKind.CONSUMER).decision is Decision.DROP
    assert DoorSampler(1.0).should_sample(None, 5, "XAUTOCLAIM", SpanKind.CLIENT).decision is (
        Decision.RECORD_AND_SAMPLE
    )
    assert DoorSampler(1.0).should_sample(None, 5, "c", SpanKind.CONSUMER).decision is (
        Decision.RECORD_AND_SAMPLE
    )


def test_a_batch_linked_to_a_traced_producer_is_traced_whatever_the_ratio() -> None:
    door = DoorSampler(0.0)  # no batch span would start a trace by ratio
    traced, untraced = (Link(_parent(sampled).get_span_context()) for sampled in (True, False))
    decide = door.should_sample
    assert decide(None, 5, "process", SpanKind.CONSUMER, links=[untraced, traced]).decision is (
        Decision.RECORD_AND_SAMPLE
    )
    assert decide(None, 5, "process", SpanKind.CONSUMER, links=[untraced]).decision is (
        Decision.DROP
    )
    # A span with a parent follows it, links or not.
    in_unsampled = trace.set_span_in_context(_parent(False))
    assert decide(in_unsampled, 5, "x", SpanKind.CONSUMER, links=[traced]).decision is (
        Decision.DROP
    )


def _app(ratio: float) -> tuple[FastAPI, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=DoorSampler(ratio))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = TracedApp(tracer_provider=provider)

    @app.post("/api/v1/articles/{article_id}/views", status_code=202)
    async def view(article_id: str) -> dict[str, str]:
        # What the handler sees: a recording span only when the request is traced,
        # and a client call it makes (Redis, HTTP) is traced with it or not at all,
        # its trace context passed on either way.
        recording = trace.get_current_span().is_recording()
        with provider.get_tracer("test").start_as_current_span("XADD", kind=SpanKind.CLIENT):
            carrier: dict[str, str] = {}
            inject(carrier)
        return {"traced": str(recording), "passed_on": carrier.get("traceparent", "")}

    return app, exporter


async def _post(app: FastAPI, headers: dict[str, str] | None = None) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        return await client.post("/api/v1/articles/a1/views", headers=headers)


async def test_requests_left_out_make_no_span_and_answer_the_same() -> None:
    app, exporter = _app(0.0)
    for _ in range(5):
        response = await _post(app)
        assert response.status_code == 202 and response.json()["traced"] == "False"
        assert response.json()["passed_on"].endswith("-00")  # downstream: not sampled either
    # A caller's unsampled trace goes on as it came.
    response = await _post(app, {"traceparent": UNSAMPLED.decode()})
    assert response.json()["passed_on"].startswith("00-0af7651916cd43dd8448eb211c80319c-")
    assert response.json()["passed_on"].endswith("-00")
    assert exporter.get_finished_spans() == ()


async def test_requests_let_in_get_the_full_server_span() -> None:
    app, exporter = _app(0.0)
    response = await _post(app, {"traceparent": SAMPLED.decode()})
    assert response.json()["traced"] == "True"
    assert response.json()["passed_on"].endswith("-01")
    client, span = exporter.get_finished_spans()
    assert client.parent is not None and client.parent.span_id == span.context.span_id
    assert span.kind is SpanKind.SERVER
    assert span.name == "POST /api/v1/articles/{article_id}/views"
    assert span.attributes is not None
    assert span.attributes["http.route"] == "/api/v1/articles/{article_id}/views"
    assert span.attributes["http.response.status_code"] == 202
    assert f"{span.context.trace_id:032x}" == "0af7651916cd43dd8448eb211c80319c"

    app, exporter = _app(1.0)
    await _post(app)
    _client, root = exporter.get_finished_spans()
    assert root.parent is None and root.context.trace_flags.sampled
