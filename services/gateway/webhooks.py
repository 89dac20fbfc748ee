"""Webhook subscriptions (editor token): each call goes on to the webhooks service as it
came; that service checks the token and the URL and owns the subscriptions."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response

from shared.contracts.api import DeliveryPage, Redriven, WebhookCreated, WebhookOut, WebhookPage
from shared.web.params import request_body

from .api import PROBLEM, forward
from .parts import UpstreamsDep
from .upstreams import Upstreams

router = APIRouter(prefix="/api/v1", tags=["webhooks"])
ANSWERS: dict[int | str, dict[str, Any]] = {
    401: PROBLEM,
    403: PROBLEM,
    404: PROBLEM,
    422: PROBLEM,
    503: PROBLEM,
}


async def to_webhooks(request: Request, upstreams: Upstreams) -> Response:
    return await forward(request, upstreams.webhooks, request.url.path.removeprefix("/api/v1"))


@router.post(
    "/webhooks",
    status_code=201,
    response_model=WebhookCreated,
    summary="Subscribe a URL to events; the answer holds the signing secret, once",
    responses=ANSWERS,
    openapi_extra=request_body({"application/json": "WebhookIn"}),
)
async def create_webhook(request: Request, upstreams: UpstreamsDep) -> Response:
    return await to_webhooks(request, upstreams)


@router.get(
    "/webhooks", response_model=WebhookPage, summary="Every subscription", responses=ANSWERS
)
async def list_webhooks(request: Request, upstreams: UpstreamsDep) -> Response:
    return await to_webhooks(request, upstreams)


def _on_one() -> Callable[..., Awaitable[Response]]:
    async def call(sid: uuid.UUID, request: Request, upstreams: UpstreamsDep) -> Response:
        return await to_webhooks(request, upstreams)

    return call


# (method, path, name, summary, answer)
ONE: list[tuple[str, str, str, str, Any]] = [
    ("GET", "/webhooks/{sid}", "show_webhook", "One subscription", WebhookOut),
    (
        "POST",
        "/webhooks/{sid}/pause",
        "pause_webhook",
        "Pause: events are kept, and sent in order on resume",
        WebhookOut,
    ),
    (
        "POST",
        "/webhooks/{sid}/resume",
        "resume_webhook",
        "Resume a paused or a disabled subscription",
        WebhookOut,
    ),
    (
        "POST",
        "/webhooks/{sid}/dead-letters/redrive",
        "redrive_webhook",
        "Send the subscription's dead letters again, in their order",
        Redriven,
    ),
    ("DELETE", "/webhooks/{sid}", "delete_webhook", "Unsubscribe", None),
]
for method, path, name, summary, answer in ONE:
    router.add_api_route(
        path,
        _on_one(),
        methods=[method],
        name=name,
        summary=summary,
        response_model=answer,
        status_code=204 if answer is None else 200,
        responses=ANSWERS,
    )


@router.get(
    "/webhooks/{sid}/deliveries",
    response_model=DeliveryPage,
    summary="The delivery log, newest first: attempts, answers, next retry",
    responses=ANSWERS,
)
async def webhook_deliveries(
    sid: uuid.UUID,
    request: Request,
    upstreams: UpstreamsDep,
    status: Literal["pending", "delivered", "dead"] | None = None,
    cursor: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    return await to_webhooks(request, upstreams)
