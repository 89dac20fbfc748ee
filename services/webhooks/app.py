"""The webhooks service: the public streams' events POSTed, signed, to the subscribers' URLs.

Its group on ``articles`` and ``comments`` turns each event into a delivery per
subscription (stored); its dispatcher sends them, each subscription in stream order,
with retries, dead letters and address checks. Scaled like the others: replicas
share the group, and each subscription is delivered by one replica at a time.
"""

from __future__ import annotations

from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider

from shared.service.skeleton import Service, build_app

from . import queueing, routes
from .dispatching import Dispatcher
from .parts import WebhooksParts, make_parts
from .schema import SCHEMA
from .sending import Sender
from .settings import WebhooksSettings


async def deliver(dispatcher: Dispatcher) -> None:
    await dispatcher.run()


async def close_client(sender: Sender) -> None:
    await sender.client.aclose()


SERVICE: Service[WebhooksSettings, WebhooksParts] = Service(
    name="webhooks",
    parts=make_parts,
    routers=[routes.router],
    handlers=queueing.HANDLERS,
    tasks=[deliver],
    on_stop=[close_client],
    schema=SCHEMA,
    writer="async",
)


def create_app(
    settings: WebhooksSettings, tracer_provider: TracerProvider | None = None
) -> FastAPI:
    return build_app(SERVICE, settings, tracer_provider)
