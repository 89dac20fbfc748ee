"""The gateway: the only door web clients use (the JSON API, the site, the events' docs)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from opentelemetry.sdk.trace import TracerProvider

from shared.contracts.api import ArticleIn, ArticlePatch, CommentIn, ModerationNote, WebhookIn
from shared.service.skeleton import Follower, Service, build_app

from . import api, developer, editorial, followers, webhooks
from .commenting import share_form_secret
from .console.app import make_console
from .events import routes as event_routes
from .events.hub import EventHub
from .parts import GatewayParts, make_parts
from .rendering import HERE, warm_templates
from .settings import GatewaySettings
from .site import feeds, pages, searching
from .upstreams import Upstreams


async def ingest_answers(upstreams: Upstreams) -> None:
    await upstreams.ingest.get_json("/healthz")


async def close_upstreams(upstreams: Upstreams) -> None:
    await upstreams.aclose()


async def fan_out_events(events: EventHub) -> None:
    await events.run()


def configure(app: FastAPI, parts: GatewayParts) -> None:
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    pages.html_errors(app, parts)
    app.mount("/admin", make_console(parts), name="console")
    developer.document_request_bodies(
        app, [ArticleIn, ArticlePatch, CommentIn, ModerationNote, WebhookIn]
    )
    if parts.settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=parts.settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "Authorization", "Accept-Language"],
            max_age=600,
        )


SERVICE: Service[GatewaySettings, GatewayParts] = Service(
    name="gateway",
    title="Newsroom API",
    description="The public API of Newsroom: articles, views and comments. "
    "Errors are RFC 9457 problem details. Events: see `/asyncapi`.",
    parts=make_parts,
    # The reader's page first: it is most of the requests (then its beacon and token).
    first_routes=[*pages.FIRST_ROUTES, *api.FIRST_ROUTES],
    # The editors' routes after the API's: `POST …/{id}/views` is not an action.
    routers=[
        api.router,
        editorial.router,
        pages.router,
        searching.router,
        feeds.router,
        event_routes.router,
        webhooks.router,
        developer.router,
    ],
    followers=[
        Follower("articles", followers.refresh_catalog, polling_ms=200),
        Follower("comments", followers.drop_comments, polling_ms=100),
    ],
    tasks=[fan_out_events],
    on_start=[share_form_secret, warm_templates],
    on_stop=[close_upstreams],
    ready={"ingest": ingest_answers},
    # Our body limit, not FastAPI's max_body_size: a 413 in the problem+json shape.
    body_limit=lambda settings: settings.max_body_bytes,
    security_headers=True,
    public=True,
    # The gateway reports every group's lag: while a consumer is down, someone must.
    reports_all_groups=True,
    # Reads still work from ingest; caches expire by TTL until Redis is back.
    optional_broker=True,
    redis_options={"socket_timeout": 2, "socket_connect_timeout": 2},
    configure=configure,
)


def create_app(settings: GatewaySettings, tracer_provider: TracerProvider | None = None) -> FastAPI:
    return build_app(SERVICE, settings, tracer_provider)
