"""Composition root of the comments service."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Query, Request
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy import text

from shared.contracts.api import (
    CommentPage,
    CommentStatusOut,
    ModerationComment,
    ModerationPage,
    PublicComment,
)
from shared.contracts.events import ArticleEvent, CommentSubmitted
from shared.contracts.streams import Streams
from shared.messaging.broker import make_broker
from shared.messaging.consuming import Entry, StreamConsumer, start_consumers, stop_consumers
from shared.messaging.outbox import OutboxRelay
from shared.messaging.redis_client import make_redis
from shared.observability.metrics import Metrics, add_metrics_route
from shared.observability.tracing import http_telemetry, instrument_engine, make_tracer_provider
from shared.storage.engines import make_engine, session_factory
from shared.storage.migrations import prepare_schema
from shared.storage.pagination import BadCursor
from shared.web.auth import bearer_guard
from shared.web.edge import Edge
from shared.web.health import add_health_routes
from shared.web.problems import Problem, install_problem_handlers

from . import store
from .models import Comment, OutboxEvent
from .rules import Policy
from .schema import SCHEMA
from .settings import CommentsSettings
from .words import WordList

GROUP = "comments"


def public(comment: Comment) -> PublicComment:
    return PublicComment(
        id=comment.id,
        name=comment.name,
        website=comment.website,
        html=comment.html,
        submitted_at=comment.submitted_at,
    )


def for_moderator(comment: Comment) -> ModerationComment:
    return ModerationComment(
        **public(comment).model_dump(),
        article_id=comment.article_id,
        email=comment.email,
        text=comment.text,
        status=comment.status,
        reasons=list(comment.reasons),
        spam_signals=list(comment.spam_signals),
    )


def status_of(comment: Comment) -> CommentStatusOut:
    return CommentStatusOut(
        id=comment.id,
        article_id=comment.article_id,
        status=comment.status,  # type: ignore[arg-type]
        reasons=list(comment.reasons),
        submitted_at=comment.submitted_at,
        decided_at=comment.decided_at,
    )


def create_app(
    settings: CommentsSettings, tracer_provider: TracerProvider | None = None
) -> FastAPI:
    tracer_provider = tracer_provider or make_tracer_provider("comments", settings.namespace)
    streams = Streams(settings.namespace)
    # Decisions read, then write (flood, duplicates): take SQLite's write lock at BEGIN.
    write_engine = make_engine(settings.own_database_url, immediate=True)
    read_engine = make_engine(settings.own_database_url)
    for engine in (write_engine, read_engine):
        instrument_engine(engine, tracer_provider)
    writes, reads = session_factory(write_engine), session_factory(read_engine)
    broker = make_broker(settings, tracer_provider)
    metrics = Metrics(settings.service_name)
    client = make_redis(settings.redis_url)
    relay = OutboxRelay(writes, OutboxEvent, broker, streams, maxlen=settings.stream_maxlen)
    policy = Policy(
        hold_links=settings.hold_links,
        moderation_words=WordList(settings.moderation_words),
        banned_words=WordList(settings.banned_words),
        premoderate_first_time=settings.premoderate_first_time,
    )

    async def apply_submissions(entries: Sequence[Entry[CommentSubmitted]]) -> set[str]:
        _decided, later = await store.decide_submissions(
            writes, settings, policy, [e.event for e in entries]
        )
        relay.wake()
        return {e.entry_id for e in entries if e.event.data.comment_id in later}

    async def apply_articles(entries: Sequence[Entry[ArticleEvent]]) -> None:
        for entry in entries:
            await store.record_article(writes, entry.event.data)

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
    consumers: list[StreamConsumer[Any]] = [
        StreamConsumer[CommentSubmitted](
            stream=streams.comments_submitted,
            event_type=CommentSubmitted,
            apply=apply_submissions,
            batch_size=100,
            **common,  # type: ignore[arg-type]
        ),
        StreamConsumer[ArticleEvent](
            stream=streams.articles,
            event_type=ArticleEvent,
            apply=apply_articles,
            batch_size=100,
            **common,  # type: ignore[arg-type]
        ),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await prepare_schema(SCHEMA, settings.own_database_url, settings.migrate_on_start)
        await start_consumers(broker, consumers)
        relay_task = asyncio.create_task(relay.run(), name="outbox-relay")
        try:
            yield
        finally:
            await stop_consumers(broker, consumers)
            relay_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relay_task
            await client.aclose()
            await write_engine.dispose()
            await read_engine.dispose()
            tracer_provider.force_flush()

    app = FastAPI(
        title="Newsroom comments (internal)",
        version="1",
        lifespan=lifespan,
        telemetry=http_telemetry(tracer_provider),
    )
    app.state.consumers = consumers
    install_problem_handlers(app)
    moderator_guard = bearer_guard(settings.moderator_token, "moderator")

    async def moderator(request: Request) -> None:
        await moderator_guard(request)

    @app.get(
        "/comments/{comment_id}", response_model=CommentStatusOut, summary="A comment's status"
    )
    async def comment_status(comment_id: uuid.UUID) -> CommentStatusOut:
        comment = await store.get_comment(reads, comment_id)
        if comment is None:
            raise Problem(404, "Comment not found", f"No comment has the id {comment_id}.")
        return status_of(comment)

    @app.get(
        "/articles/{article_id}/comments",
        response_model=CommentPage,
        summary="Approved comments, oldest first",
    )
    async def article_comments(
        article_id: uuid.UUID,
        cursor: Annotated[str | None, Query(max_length=200)] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> CommentPage:
        try:
            page, next_cursor = await store.list_comments(
                reads, status="approved", article_id=article_id, limit=limit, cursor=cursor
            )
        except BadCursor as exc:
            raise Problem(400, "Invalid cursor", str(exc)) from exc
        return CommentPage(items=[public(c) for c in page], next_cursor=next_cursor)

    @app.get(
        "/moderation/comments",
        response_model=ModerationPage,
        dependencies=[Depends(moderator)],
        summary="Comments for moderators (held by default)",
    )
    async def moderation_queue(
        status: Literal["held", "approved", "rejected", "removed"] = "held",
        article_id: uuid.UUID | None = None,
        cursor: Annotated[str | None, Query(max_length=200)] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> ModerationPage:
        try:
            page, next_cursor = await store.list_comments(
                reads, status=status, article_id=article_id, limit=limit, cursor=cursor
            )
        except BadCursor as exc:
            raise Problem(400, "Invalid cursor", str(exc)) from exc
        return ModerationPage(items=[for_moderator(c) for c in page], next_cursor=next_cursor)

    @app.post(
        "/moderation/comments/{comment_id}/{action}",
        response_model=CommentStatusOut,
        dependencies=[Depends(moderator)],
        summary="Approve, reject or remove a comment",
    )
    async def moderation_action(
        comment_id: uuid.UUID, action: Literal["approve", "reject", "remove"]
    ) -> CommentStatusOut:
        try:
            comment = await store.moderate(writes, comment_id, action)
        except store.NotAllowed as exc:
            raise Problem(409, "Not allowed", str(exc)) from exc
        if comment is None:
            raise Problem(404, "Comment not found", f"No comment has the id {comment_id}.")
        relay.wake()
        return status_of(comment)

    async def db_ready() -> None:
        async with read_engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def redis_ready() -> None:
        await client.ping()

    add_metrics_route(app, metrics, client, [(c.stream, c.group) for c in consumers])
    app.add_middleware(Edge, metrics=metrics)
    add_health_routes(app, {"database": db_ready, "redis": redis_ready})
    return app
