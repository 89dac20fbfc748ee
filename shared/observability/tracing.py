"""OpenTelemetry bootstrap: one TracerProvider per process, from ``OTEL_*``.

The SDK reads the sampler (``OTEL_TRACES_SAMPLER``/``_ARG``) and resource
attributes (``OTEL_RESOURCE_ATTRIBUTES``) itself; we add the exporter:
OTLP/HTTP when an endpoint is configured, console when asked, else none
(spans are still created, so context propagates across every hop).
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from opentelemetry.sdk.trace.sampling import (
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind
from opentelemetry.util.types import Attributes
from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import Receive, Scope, Send


def tracing_disabled() -> bool:
    """``OTEL_SDK_DISABLED=true``: the standard switch; we then skip our middlewares too."""
    return os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"


DEFAULT_SAMPLE_RATIO = 0.1


class DoorSampler(Sampler):
    """Parent-based, ``ratio`` of new traces; new HTTP requests are decided at the door.

    FastAPI builds a SERVER span for every request it traces, sampled or not, and
    on the gateway's hottest endpoint that machinery cost a fifth of the request
    (docs/benchmarks.md). So the apps (:class:`TracedApp`) ask :meth:`skips` first: a
    request whose ``traceparent`` is not sampled, and all but ``ratio`` of those
    without one, get no SERVER span; they only carry an unsampled span context (the
    caller's, or a new one), so that what they do (Redis, HTTP calls to other
    services, events) stays unsampled downstream, as it would have. The requests let
    in are the sampled ones: their SERVER span, a new root, is sampled here without a
    second draw. A new root that links to a recorded span (a consumer's batch of
    entries, some of them traced) is recorded too. Everything else (children,
    consumers, background work) is parent-based with the same ratio for new roots.
    """

    def __init__(self, ratio: float) -> None:
        self.ratio = ratio
        self._others = ParentBased(TraceIdRatioBased(ratio))
        # The headers the propagators read (traceparent, tracestate, baggage by default).
        self._fields = {field.encode() for field in propagate.get_global_textmap().fields}

    def skips(self, scope: Mapping[str, Any]) -> bool:
        """Whether an incoming HTTP request goes untraced (asked by :class:`TracedApp`).

        Runs in the request's own task: the unsampled context attached here lasts
        as long as the request (the task's context goes with it).
        """
        caller = self._caller(scope)
        span = trace.get_current_span(caller).get_span_context()
        if span.is_valid:
            if span.trace_flags.sampled:
                return False
            untraced = caller
        elif random.random() < self.ratio:
            return False
        else:
            new = SpanContext(random.getrandbits(128), random.getrandbits(64), is_remote=False)
            untraced = trace.set_span_in_context(NonRecordingSpan(new), caller)
        otel_context.attach(untraced)
        return True

    def _caller(self, scope: Mapping[str, Any]) -> Context:
        """The caller's context, read by the configured propagator from its own headers
        only (not FastAPI's per-request header wrapper: that was part of the cost)."""
        carrier = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope.get("headers", ())
            if name in self._fields
        }
        return propagate.extract(carrier) if carrier else Context()

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        parent = trace.get_current_span(parent_context).get_span_context()
        if not parent.is_valid:
            if kind is SpanKind.SERVER:
                return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)  # let in at the door
            if links and any(link.context.trace_flags.sampled for link in links):
                # A batch's span, a new root, links to its entries' producers: recorded when
                # one of them was, so that a sampled view's or comment's trace reaches its
                # consumer (by ratio, only a tenth of the batches would have been).
                return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)
        return self._others.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )

    def get_description(self) -> str:
        return f"DoorSampler{{{self.ratio}}}"


def _sampler() -> Sampler | None:
    """``OTEL_TRACES_SAMPLER`` when set; else 10% of new traces (:class:`DoorSampler`).

    A reader's request that arrives with a sampled ``traceparent`` is always
    traced through every hop; 10% of the rest start a trace. Tests and
    debugging set ``OTEL_TRACES_SAMPLER=parentbased_always_on``.
    """
    if os.environ.get("OTEL_TRACES_SAMPLER"):
        return None  # the SDK reads it (and OTEL_TRACES_SAMPLER_ARG) itself
    return DoorSampler(DEFAULT_SAMPLE_RATIO)


def make_tracer_provider(service_name: str, namespace: str = "newsroom") -> TracerProvider:
    resource = Resource.create({"service.name": service_name, "service.namespace": namespace})
    provider = TracerProvider(resource=resource, sampler=_sampler())
    exporters = {e.strip() for e in os.environ.get("OTEL_TRACES_EXPORTER", "otlp").split(",")}
    has_endpoint = bool(
        os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    )
    if "otlp" in exporters and has_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    if "console" in exporters:
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    return provider


def instrument_engine(engine: AsyncEngine | Engine, tracer_provider: TracerProvider) -> None:
    """Database spans for one engine, without patching SQLAlchemy process-wide.

    (``SQLAlchemyInstrumentor().instrument`` is a process singleton that also
    wraps ``create_engine``; several apps in one process need one tracer each.)
    """
    from opentelemetry import metrics
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer

    tracer = tracer_provider.get_tracer("opentelemetry.instrumentation.sqlalchemy")
    usage = metrics.get_meter("newsroom.db").create_up_down_counter("db.client.connections.usage")
    EngineTracer(tracer, engine.sync_engine if isinstance(engine, AsyncEngine) else engine, usage)


def http_telemetry(tracer_provider: TracerProvider) -> TelemetryConfig:
    """FastAPI's native OpenTelemetry settings: a SERVER span per request, our provider.

    (It replaces opentelemetry-instrumentation-fastapi, whose extra send/receive
    spans cost more than the request handling of our hottest endpoint.)
    Metrics are served by Prometheus at /metrics instead. The door
    (:class:`TracedApp`) decides which requests reach it at all.
    """
    if tracing_disabled():
        return {"tracing": False, "metrics": False, "logs": False}
    return {
        "tracer_provider": tracer_provider,
        "tracing": True,
        "metrics": False,
        "logs": False,
        "operation_spans": False,
    }


class TracedApp(FastAPI):
    """A FastAPI app with our telemetry whose untraced requests skip FastAPI's telemetry
    layer whole: :meth:`DoorSampler.skips` is asked before FastAPI's own per-request
    work (its ``exclude`` hook runs only after it; docs/benchmarks.md, "the door")."""

    def __init__(self, *, tracer_provider: TracerProvider, **options: Any) -> None:
        telemetry = http_telemetry(tracer_provider)
        super().__init__(telemetry=telemetry, **options)
        sampler = tracer_provider.sampler
        self._skips = (
            sampler.skips if isinstance(sampler, DoorSampler) and telemetry["tracing"] else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._skips is not None and scope["type"] != "lifespan" and self._skips(scope):
            # FastAPI's own mark of a request its telemetry leaves alone (its ``exclude``
            # hook sets the same): mounted apps leave it alone too.
            scope["fastapi.telemetry"] = None
        await super().__call__(scope, receive, send)
