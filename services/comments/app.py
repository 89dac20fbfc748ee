"""The comments service: validates and moderates readers' comments."""

from __future__ import annotations

from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider

from shared.service.skeleton import Service, build_app

from . import handlers, routes, words
from .models import OutboxEvent
from .parts import CommentsParts, make_parts
from .retention import run_retention
from .schema import SCHEMA
from .settings import CommentsSettings

SERVICE: Service[CommentsSettings, CommentsParts] = Service(
    name="comments",
    parts=make_parts,
    routers=[routes.router, routes.moderating],
    handlers=handlers.HANDLERS,
    tasks=[run_retention],
    on_start=[words.prepare_matching],
    schema=SCHEMA,
    writer="async",
    outbox=OutboxEvent,
)


def create_app(
    settings: CommentsSettings, tracer_provider: TracerProvider | None = None
) -> FastAPI:
    return build_app(SERVICE, settings, tracer_provider)
