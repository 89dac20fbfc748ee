"""Composition root of the gateway: the only door web clients use."""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from faststream.redis import StreamSub
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from pydantic import BaseModel, ValidationError

from shared.contracts.api import ArticleIn, CommentIn
from shared.contracts.asyncapi import asyncapi_document
from shared.contracts.events import article_event_adapter, comment_event_adapter
from shared.contracts.streams import Streams
from shared.messaging.broker import make_broker
from shared.messaging.redis_client import make_redis
from shared.observability.metrics import Metrics, add_metrics_route
from shared.observability.tracing import http_telemetry, make_tracer_provider
from shared.web.edge import Edge
from shared.web.form_tokens import FormTokens
from shared.web.health import add_health_routes
from shared.web.problems import install_problem_handlers

from . import api, pages
from .articles import ArticleParts
from .catalog import ArticleCatalog
from .commenting import CommentDesk, load_form_secret
from .hot import HotRoutes
from .recorder import RateLimitedPublisher
from .settings import GatewaySettings
from .upstreams import Upstreams
from .viewing import ViewDesk
from .visitors import BotFilter, DailySalts, VisitorIds

HERE = Path(__file__).parent
log = logging.getLogger(__name__)


def create_app(settings: GatewaySettings, tracer_provider: TracerProvider | None = None) -> FastAPI:
    tracer_provider = tracer_provider or make_tracer_provider("gateway", settings.namespace)
    upstreams = Upstreams(
        {name: settings.service_url(name) for name in ("ingest", "views", "comments")},
        timeout=settings.upstream_timeout,
    )
    for client in upstreams.clients:
        HTTPXClientInstrumentor.instrument_client(client, tracer_provider=tracer_provider)
    streams = Streams(settings.namespace)
    redis_client = make_redis(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    catalog = ArticleCatalog(upstreams.ingest, ttl=settings.article_cache_seconds)
    broker = make_broker(settings, tracer_provider)

    # Every replica follows every article event (no group): each keeps its own cache.
    @broker.subscriber(
        stream=StreamSub(streams.articles, polling_interval=200), title="articles:gateway-cache"
    )
    async def on_article_event(body: dict[str, Any]) -> None:
        try:
            catalog.apply(article_event_adapter.validate_python(body))
        except ValidationError:
            log.warning("ignored a malformed entry on %s", streams.articles)

    parts = ArticleParts(upstreams, settings.views_cache_seconds, settings.comments_cache_seconds)

    # Every replica follows every decision too: an approved or removed comment shows at once.
    @broker.subscriber(
        stream=StreamSub(streams.comments, polling_interval=100), title="comments:gateway-cache"
    )
    async def on_comment_event(body: dict[str, Any]) -> None:
        try:
            parts.comments.drop(str(comment_event_adapter.validate_python(body).data.article_id))
        except ValidationError:
            log.warning("ignored a malformed entry on %s", streams.comments)

    desk = ViewDesk(
        settings=settings,
        streams=streams,
        catalog=catalog,
        visitors=VisitorIds(
            DailySalts(redis_client, streams), timedelta(minutes=settings.dedupe_window_minutes)
        ),
        bots=BotFilter(),
        publisher=RateLimitedPublisher(
            redis_client,
            tracer_provider.get_tracer("newsroom.gateway"),
            maxlen=settings.stream_maxlen,
        ),
    )

    tokens = FormTokens(settings.form_secret or secrets.token_hex(32), settings.min_submit_seconds)
    comment_desk = CommentDesk(
        settings=settings,
        streams=streams,
        catalog=catalog,
        visitors=desk.visitors,
        publisher=desk.publisher,
        tokens=tokens,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            # Every replica signs and checks form tokens with the same key.
            comment_desk.tokens = FormTokens(
                await load_form_secret(redis_client, streams, settings.form_secret),
                settings.min_submit_seconds,
            )
        except (aioredis.ConnectionError, aioredis.TimeoutError, OSError) as exc:
            log.error("form tokens signed with a key of this replica only: %r", exc)
        try:
            await broker.start()
        except (aioredis.ConnectionError, OSError) as exc:
            # Reads still work from ingest; the cache just expires by TTL until Redis is back.
            log.error("gateway started without the articles stream: %r", exc)
        try:
            yield
        finally:
            await broker.stop()
            await redis_client.aclose()
            await upstreams.aclose()
            tracer_provider.force_flush()

    app = FastAPI(
        title="Newsroom API",
        version="1",
        description="The public API of Newsroom: articles, views and comments. "
        "Errors are RFC 9457 problem details. Events: see `/asyncapi`.",
        lifespan=lifespan,
        telemetry=http_telemetry(tracer_provider),
    )
    app.state.settings = settings
    app.state.upstreams = upstreams
    app.state.catalog = catalog
    app.state.parts = parts
    app.state.view_desk = desk
    app.state.comment_desk = comment_desk
    app.state.redis = redis_client
    app.state.templates = pages.make_templates()
    install_problem_handlers(app)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    document = asyncapi_document(settings.namespace, settings.redis_url)
    _document_request_bodies(app, [ArticleIn, CommentIn])

    @app.get("/asyncapi", tags=["events"], summary="AsyncAPI 3.0 document of the public streams")
    async def asyncapi() -> JSONResponse:
        return JSONResponse(document)

    async def ingest_ready() -> None:
        await upstreams.ingest.get_json("/healthz")

    async def redis_ready() -> None:
        await redis_client.ping()

    add_health_routes(app, {"ingest": ingest_ready, "redis": redis_ready})
    metrics = Metrics("gateway")
    # The gateway also reports every group's lag: while a consumer is down, someone must.
    platform_groups = [
        (streams.views, "views"),
        (streams.articles, "views"),
        (streams.comments_submitted, "comments"),
        (streams.articles, "comments"),
    ]
    add_metrics_route(app, metrics, redis_client, platform_groups)
    if settings.hot_routes:
        app.add_middleware(HotRoutes, fastapi=app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "Authorization", "Accept-Language"],
            max_age=600,
        )
    # Our body limit, not FastAPI's max_body_size: a 413 in the problem+json shape.
    app.add_middleware(
        Edge, metrics=metrics, max_body_bytes=settings.max_body_bytes, security_headers=True
    )
    return app


def _document_request_bodies(app: FastAPI, models: list[type[BaseModel]]) -> None:
    """Put the request bodies that routes read by hand (forwarded, or checked by our
    own rules for per-field messages) into the OpenAPI components they refer to."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in models:
            body = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(body.pop("$defs", {}))
            components[model.__name__] = body
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
