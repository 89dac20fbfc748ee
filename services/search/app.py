"""The search service: a full-text read model of the published articles, fed by the
``articles`` stream (rebuilt from ingest on demand)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider

from shared.service.skeleton import Service, StreamHandler, build_app

from . import handlers, routes
from .parts import SearchParts, make_parts
from .schema import SCHEMA
from .settings import SearchSettings


async def close_ingest(ingest: httpx.AsyncClient) -> None:
    await ingest.aclose()


SERVICE: Service[SearchSettings, SearchParts] = Service(
    name="search",
    parts=make_parts,
    routers=[routes.router],
    handlers=[StreamHandler("articles", handlers.index_articles)],
    on_stop=[close_ingest],
    schema=SCHEMA,
    writer="async",
)


def create_app(settings: SearchSettings, tracer_provider: TracerProvider | None = None) -> FastAPI:
    return build_app(SERVICE, settings, tracer_provider)
