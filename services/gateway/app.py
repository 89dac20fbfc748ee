"""Composition root of the gateway: the only door web clients use."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.trace import TracerProvider

from shared.asyncapi import asyncapi_document
from shared.http import BodySizeLimit, add_health_routes, install_problem_handlers
from shared.telemetry import make_tracer_provider

from . import api, pages
from .settings import GatewaySettings
from .upstreams import Upstreams

HERE = Path(__file__).parent


def create_app(settings: GatewaySettings, tracer_provider: TracerProvider | None = None) -> FastAPI:
    tracer_provider = tracer_provider or make_tracer_provider("gateway", settings.namespace)
    upstreams = Upstreams(
        {name: settings.service_url(name) for name in ("ingest", "views", "comments")},
        timeout=settings.upstream_timeout,
    )
    for client in upstreams.clients:
        HTTPXClientInstrumentor.instrument_client(client, tracer_provider=tracer_provider)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await upstreams.aclose()
            tracer_provider.force_flush()

    app = FastAPI(
        title="Newsroom API",
        version="1",
        description="The public API of Newsroom: articles, views and comments. "
        "Errors are RFC 9457 problem details. Events: see `/asyncapi`.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.upstreams = upstreams
    app.state.templates = pages.make_templates()
    install_problem_handlers(app)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    document = asyncapi_document(settings.namespace, settings.redis_url)

    @app.get("/asyncapi", tags=["events"], summary="AsyncAPI 3.0 document of the public streams")
    async def asyncapi() -> JSONResponse:
        return JSONResponse(document)

    async def ingest_ready() -> None:
        await upstreams.ingest.get_json("/healthz")

    add_health_routes(app, {"ingest": ingest_ready})
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    FastAPIInstrumentor.instrument_app(app, tracer_provider=tracer_provider)
    return app
