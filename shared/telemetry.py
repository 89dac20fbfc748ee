"""OpenTelemetry bootstrap: one TracerProvider per process, from ``OTEL_*``.

The SDK reads the sampler (``OTEL_TRACES_SAMPLER``/``_ARG``) and resource
attributes (``OTEL_RESOURCE_ATTRIBUTES``) itself; we add the exporter:
OTLP/HTTP when an endpoint is configured, console when asked, else none
(spans are still created, so context propagates across every hop).
"""

from __future__ import annotations

import os

from fastapi.telemetry import TelemetryConfig
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, Sampler, TraceIdRatioBased
from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine


def tracing_disabled() -> bool:
    """``OTEL_SDK_DISABLED=true``: the standard switch; we then skip our middlewares too."""
    return os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"


DEFAULT_SAMPLE_RATIO = 0.1


def _sampler() -> Sampler | None:
    """``OTEL_TRACES_SAMPLER`` when set; else parent-based, 10% of new traces.

    A reader's request that arrives with a sampled ``traceparent`` is always
    traced through every hop; 10% of the rest start a trace. Tests and
    debugging set ``OTEL_TRACES_SAMPLER=parentbased_always_on``.
    """
    if os.environ.get("OTEL_TRACES_SAMPLER"):
        return None  # the SDK reads it (and OTEL_TRACES_SAMPLER_ARG) itself
    return ParentBased(TraceIdRatioBased(DEFAULT_SAMPLE_RATIO))


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
    Metrics are served by Prometheus at /metrics instead.
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
