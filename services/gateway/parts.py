"""What the gateway's routes and stream followers are given."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

import redis.asyncio as aioredis
from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

from shared.contracts.asyncapi import asyncapi_document
from shared.service.skeleton import Kit, all_parts, part, parts_of
from shared.web.form_tokens import FormTokens

from .articles import ArticleParts
from .catalog import ArticleCatalog
from .commenting import CommentDesk
from .console.sessions import ConsoleKeys
from .events.hub import EventHub
from .recorder import RateLimitedPublisher
from .rendering import make_templates
from .settings import GatewaySettings
from .site.listing import ArticleLists
from .upstreams import Upstreams
from .viewing import ViewDesk
from .visitors import BotFilter, DailySalts, VisitorIds


@dataclass(frozen=True)
class GatewayParts:
    settings: GatewaySettings
    upstreams: Upstreams
    catalog: ArticleCatalog
    articles: ArticleParts
    lists: ArticleLists
    view_desk: ViewDesk
    comment_desk: CommentDesk
    redis: aioredis.Redis
    templates: Jinja2Templates
    asyncapi: dict[str, Any]
    console_keys: ConsoleKeys
    events: EventHub


def make_parts(kit: Kit) -> GatewayParts:
    settings: GatewaySettings = kit.settings
    upstreams = Upstreams(
        {
            name: settings.service_url(name)
            for name in ("ingest", "views", "comments", "search", "webhooks")
        },
        timeout=settings.upstream_timeout,
    )
    for client in upstreams.clients:
        HTTPXClientInstrumentor.instrument_client(client, tracer_provider=kit.tracer_provider)
    catalog = ArticleCatalog(upstreams.ingest, ttl=settings.article_cache_seconds)
    window = timedelta(minutes=settings.dedupe_window_minutes)
    visitors = VisitorIds(DailySalts(kit.redis, kit.streams, grace=window), window)
    publisher = RateLimitedPublisher(
        kit.redis,
        kit.tracer_provider.get_tracer("newsroom.gateway"),
        maxlen=settings.stream_maxlen,
        replication=kit.replication,
    )
    return GatewayParts(
        settings=settings,
        upstreams=upstreams,
        catalog=catalog,
        articles=ArticleParts(
            upstreams,
            settings.views_cache_seconds,
            settings.comments_cache_seconds,
            max_comments=settings.comments_per_article,
        ),
        lists=ArticleLists(upstreams.ingest),
        view_desk=ViewDesk(
            settings=settings,
            streams=kit.streams,
            catalog=catalog,
            visitors=visitors,
            bots=BotFilter(),
            publisher=publisher,
        ),
        comment_desk=CommentDesk(
            settings=settings,
            streams=kit.streams,
            catalog=catalog,
            visitors=visitors,
            publisher=publisher,
            # Replaced at start by the key every replica shares (commenting.share_form_secret).
            tokens=FormTokens(
                settings.form_secret or secrets.token_hex(32),
                settings.min_submit_seconds,
                settings.form_token_seconds,
            ),
            comments=upstreams.comments,
        ),
        redis=kit.redis,
        templates=make_templates(),
        asyncapi=asyncapi_document(settings.streams, settings.redis_url),
        console_keys=ConsoleKeys(
            secret=secrets.token_hex(32), max_age_seconds=int(settings.console_session_hours * 3600)
        ),
        events=EventHub(kit.redis, kit.streams, buffer=settings.events_buffer),
    )


def gateway(request: Request) -> GatewayParts:
    """The parts, for the hot routes that take nothing but the request."""
    return parts_of(request)  # type: ignore[no-any-return]


Parts = Annotated[GatewayParts, Depends(all_parts)]
UpstreamsDep = Annotated[Upstreams, Depends(part("upstreams"))]
CatalogDep = Annotated[ArticleCatalog, Depends(part("catalog"))]
