"""The views service: counts views exactly once, knows unique readers and what is popular."""

from __future__ import annotations

from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider

from shared.contracts.events import ViewRecorded
from shared.contracts.lean import lean
from shared.service.skeleton import Service, StreamHandler, build_app

from . import handlers, routes
from .housekeeping import run_housekeeping
from .parts import ViewsParts, make_parts
from .schema import SCHEMA
from .settings import ViewsSettings

SERVICE: Service[ViewsSettings, ViewsParts] = Service(
    name="views",
    parts=make_parts,
    routers=[routes.router],
    handlers=[
        StreamHandler(
            "views",
            handlers.count_views,
            batch_size=lambda s: s.batch_size,
            workers=lambda s: s.apply_workers,
            # The same contract, cheaper values: ids stay text (views come by the thousand).
            event_type=lean(ViewRecorded),
        ),
        StreamHandler("articles", handlers.record_articles),
    ],
    tasks=[run_housekeeping],
    schema=SCHEMA,
    writer="sync",
)


def create_app(settings: ViewsSettings, tracer_provider: TracerProvider | None = None) -> FastAPI:
    return build_app(SERVICE, settings, tracer_provider)
