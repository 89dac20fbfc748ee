"""Composition root of the views service."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Query
from opentelemetry.sdk.trace import TracerProvider
from pydantic import BaseModel
from sqlalchemy import text

from shared.contracts.events import ArticleEvent, ViewRecorded
from shared.contracts.lean import lean
from shared.contracts.streams import Streams
from shared.messaging.broker import make_broker
from shared.messaging.consuming import Entry, StreamConsumer, start_consumers, stop_consumers
from shared.messaging.redis_client import make_redis
from shared.observability.metrics import Metrics, add_metrics_route
from shared.observability.tracing import http_telemetry, instrument_engine, make_tracer_provider
from shared.storage.engines import make_engine, make_sync_engine
from shared.storage.migrations import prepare_schema
from shared.web.edge import Edge
from shared.web.health import add_health_routes
from shared.web.problems import Problem, install_problem_handlers

from .counting import count_views, record_article, run_write
from .housekeeping import run_housekeeping
from .queries import counts, popular
from .schema import SCHEMA
from .settings import ViewsSettings
from .window import VisitorWindow

GROUP = "views"


class Counts(BaseModel):
    article_id: uuid.UUID
    total: int
    today: int
    unique_today: int


class PopularItem(BaseModel):
    article_id: uuid.UUID
    views: int


WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7)}


def create_app(settings: ViewsSettings, tracer_provider: TracerProvider | None = None) -> FastAPI:
    tracer_provider = tracer_provider or make_tracer_provider("views", settings.namespace)
    streams = Streams(settings.namespace)
    # Writes take SQLite's lock at BEGIN (replicas share the file), as one synchronous
    # step each (see counting.run_write); reads do not wait for the lock.
    read_engine = make_engine(settings.own_database_url)
    writer = make_sync_engine(settings.own_database_url, immediate=True)
    for engine in (read_engine, writer):
        instrument_engine(engine, tracer_provider)
    broker = make_broker(settings, tracer_provider)
    metrics = Metrics(settings.service_name)
    client = make_redis(settings.redis_url)
    visitors = VisitorWindow(
        client,
        streams,
        timedelta(minutes=settings.dedupe_window_minutes),
        settings.unique_retention_days,
    )

    async def apply_views(entries: Sequence[Entry[Any]]) -> None:
        await count_views(writer, visitors, entries)

    async def apply_articles(entries: Sequence[Entry[ArticleEvent]]) -> None:
        for entry in entries:
            event = entry.event
            await run_write(writer, record_article, event.data)

    common = {
        "broker": broker,
        "client": client,
        "group": GROUP,
        "consumer": settings.consumer_name,
        "max_deliveries": settings.max_deliveries,
        "claim_idle_ms": settings.claim_idle_ms,
        "tracer_provider": tracer_provider,
        "metrics": metrics,
    }
    view_consumer = StreamConsumer[Any](
        stream=streams.views,
        # The same contract, cheaper values: ids stay text (views come by the thousand).
        event_type=lean(ViewRecorded),
        apply=apply_views,
        batch_size=settings.batch_size,
        workers=settings.apply_workers,
        **common,  # type: ignore[arg-type]
    )
    article_consumer = StreamConsumer[ArticleEvent](
        stream=streams.articles,
        event_type=ArticleEvent,
        apply=apply_articles,
        batch_size=100,
        **common,  # type: ignore[arg-type]
    )

    consumers: list[StreamConsumer[Any]] = [view_consumer, article_consumer]

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await prepare_schema(SCHEMA, settings.own_database_url, settings.migrate_on_start)
        await start_consumers(broker, consumers)
        housekeeping = asyncio.create_task(run_housekeeping(writer, settings), name="housekeeping")
        try:
            yield
        finally:
            housekeeping.cancel()
            await stop_consumers(broker, consumers)
            await client.aclose()
            writer.dispose()
            await read_engine.dispose()
            tracer_provider.force_flush()

    app = FastAPI(
        title="Newsroom views (internal)",
        version="1",
        lifespan=lifespan,
        telemetry=http_telemetry(tracer_provider),
    )
    app.state.consumers = {"views": view_consumer, "articles": article_consumer}
    install_problem_handlers(app)

    @app.get("/counts/{article_id}", response_model=Counts, summary="Counts of one article")
    async def one(article_id: uuid.UUID) -> Counts:
        found = await counts(read_engine, visitors, [str(article_id)])
        if str(article_id) not in found:
            raise Problem(404, "No counts", f"No views are known for article {article_id}.")
        return Counts(article_id=article_id, **found[str(article_id)])

    @app.get("/counts", response_model=list[Counts], summary="Counts of many articles at once")
    async def many(
        ids: Annotated[str, Query(description="Comma-separated article ids", max_length=4000)],
    ) -> list[Counts]:
        try:
            wanted = [uuid.UUID(i) for i in ids.split(",") if i.strip()]
        except ValueError as exc:
            raise Problem(422, "Invalid ids", "ids must be comma-separated UUIDs.") from exc
        found = await counts(read_engine, visitors, [str(a) for a in wanted[:100]])
        return [Counts(article_id=uuid.UUID(a), **c) for a, c in found.items()]

    @app.get("/popular", response_model=list[PopularItem], summary="Most viewed articles")
    async def most_viewed(
        window: Literal["24h", "7d"] = "24h", limit: Annotated[int, Query(ge=1, le=50)] = 10
    ) -> list[PopularItem]:
        ranked = await popular(read_engine, WINDOWS[window], limit)
        return [PopularItem(article_id=uuid.UUID(a), views=n) for a, n in ranked]

    async def db_ready() -> None:
        async with read_engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def redis_ready() -> None:
        await client.ping()

    async def consuming() -> None:
        for consumer in (view_consumer, article_consumer):
            groups = await client.xinfo_groups(consumer.stream)
            if not any(g["name"] in (GROUP, GROUP.encode()) for g in groups):
                raise RuntimeError(f"no consumer group on {consumer.stream}")

    add_metrics_route(app, metrics, client, [(streams.views, GROUP), (streams.articles, GROUP)])
    app.add_middleware(Edge, metrics=metrics)
    add_health_routes(app, {"database": db_ready, "redis": redis_ready, "groups": consuming})
    return app
