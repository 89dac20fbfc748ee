"""The ingest service: takes articles in and publishes article events (through its outbox)."""

from __future__ import annotations

from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider

from shared.service.skeleton import Service, build_app

from .api import editing, router
from .language import load_model
from .models import OutboxEvent
from .parts import IngestParts, make_parts
from .scheduling import run_scheduler
from .schema import SCHEMA
from .settings import IngestSettings

SERVICE: Service[IngestSettings, IngestParts] = Service(
    name="ingest",
    parts=make_parts,
    routers=[router, editing],
    # The language model loads beside serving (most of a second), not before it.
    tasks=[run_scheduler, load_model],
    schema=SCHEMA,
    writer="async",
    outbox=OutboxEvent,
    # Our body limit, not FastAPI's max_body_size: a 413 in the problem+json shape.
    body_limit=lambda settings: settings.max_upload_bytes,
)


def create_app(settings: IngestSettings, tracer_provider: TracerProvider | None = None) -> FastAPI:
    return build_app(SERVICE, settings, tracer_provider)
