"""What the webhooks service's routes, handlers and tasks are given."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
from fastapi import Depends
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from prometheus_client import Counter

from shared.service.skeleton import Kit, part, requires
from shared.storage.engines import Sessions

from .addresses import AddressPolicy
from .dispatching import Dispatcher
from .sending import Sender
from .settings import WebhooksSettings


@dataclass(frozen=True)
class WebhooksParts:
    settings: WebhooksSettings
    writes: Sessions
    reads: Sessions
    policy: AddressPolicy
    sender: Sender
    #: Set when deliveries were queued: this replica's dispatcher looks at once.
    wake: asyncio.Event
    dispatcher: Dispatcher
    editor_guard: Any


def make_parts(kit: Kit) -> WebhooksParts:
    settings: WebhooksSettings = kit.settings
    policy = AddressPolicy(
        allow_hosts=tuple(settings.webhook_allow_hosts),
        require_https=settings.webhook_require_https,
    )
    client = httpx.AsyncClient(
        timeout=settings.webhook_timeout_seconds,
        follow_redirects=False,
        # No proxy from the environment: the address checked is the address connected to.
        trust_env=False,
        limits=httpx.Limits(max_connections=settings.webhook_concurrency * 2),
    )
    HTTPXClientInstrumentor.instrument_client(client, tracer_provider=kit.tracer_provider)
    sender = Sender(
        client,
        policy,
        timeout=settings.webhook_timeout_seconds,
        max_response_bytes=settings.webhook_max_response_bytes,
    )
    wake = asyncio.Event()
    return WebhooksParts(
        settings=settings,
        writes=kit.write_sessions,
        reads=kit.read_sessions,
        policy=policy,
        sender=sender,
        wake=wake,
        dispatcher=Dispatcher(
            settings=settings,
            writes=kit.write_sessions,
            redis=kit.redis,
            streams=kit.streams,
            sender=sender,
            wake=wake,
            tracer=kit.tracer_provider.get_tracer("newsroom.webhooks"),
            outcomes=Counter(
                "newsroom_webhook_deliveries",
                "Webhook delivery attempts by outcome (delivered, failed, dead)",
                ["outcome"],
                registry=kit.metrics.registry,
            ),
            owner=settings.consumer_name,
        ),
        editor_guard=kit.guard("editor"),
    )


editor = requires("editor")
Policy = Annotated[AddressPolicy, Depends(part("policy"))]
