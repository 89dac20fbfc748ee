"""Composition root of the ingest service."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy import text

from shared.contracts.streams import Streams
from shared.messaging.broker import make_broker
from shared.messaging.outbox import OutboxRelay
from shared.observability.metrics import Metrics, add_metrics_route
from shared.observability.tracing import http_telemetry, instrument_engine, make_tracer_provider
from shared.storage.engines import make_engine, session_factory
from shared.storage.migrations import prepare_schema
from shared.web.auth import bearer_guard
from shared.web.edge import Edge
from shared.web.health import add_health_routes
from shared.web.problems import install_problem_handlers

from .api import router
from .models import OutboxEvent
from .schema import SCHEMA
from .settings import IngestSettings
from .state import IngestState


def create_app(settings: IngestSettings, tracer_provider: TracerProvider | None = None) -> FastAPI:
    tracer_provider = tracer_provider or make_tracer_provider("ingest", settings.namespace)
    # Saving reads, then writes: take SQLite's write lock at BEGIN so concurrent imports
    # of one article wait their turn instead of racing for the same revision number.
    engine = make_engine(settings.own_database_url, immediate=True)
    instrument_engine(engine, tracer_provider)
    sessions = session_factory(engine)
    broker = make_broker(settings, tracer_provider)
    relay = OutboxRelay(
        sessions,
        OutboxEvent,
        broker,
        Streams(settings.namespace),
        maxlen=settings.stream_maxlen,
        batch_size=settings.relay_batch_size,
        poll_interval=settings.relay_poll_interval,
    )
    state = IngestState(
        settings=settings,
        engine=engine,
        sessions=sessions,
        broker=broker,
        relay=relay,
        editor_guard=bearer_guard(settings.editor_token, "editor"),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await prepare_schema(SCHEMA, settings.own_database_url, settings.migrate_on_start)
        await broker.connect()
        relay_task = asyncio.create_task(relay.run(), name="outbox-relay")
        try:
            yield
        finally:
            relay_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relay_task
            await broker.stop()
            await engine.dispose()
            tracer_provider.force_flush()

    app = FastAPI(
        title="Newsroom ingest (internal)",
        version="1",
        lifespan=lifespan,
        telemetry=http_telemetry(tracer_provider),
    )
    app.state.ingest = state
    install_problem_handlers(app)
    app.include_router(router)

    async def db_ready() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def redis_ready() -> None:
        if not await broker.ping(timeout=2.0):
            raise ConnectionError("redis does not answer")

    add_health_routes(app, {"database": db_ready, "redis": redis_ready})
    metrics = Metrics("ingest")
    add_metrics_route(app, metrics)
    # Our body limit, not FastAPI's max_body_size: a 413 in the problem+json shape.
    app.add_middleware(Edge, metrics=metrics, max_body_bytes=settings.max_upload_bytes)
    return app
