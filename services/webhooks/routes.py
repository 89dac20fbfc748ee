"""The webhooks service's internal API (editor token): thin routes over :mod:`.subscriptions`.

The gateway serves it as ``/api/v1/webhooks``.
"""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from shared.contracts.api import (
    DeliveryPage,
    Redriven,
    WebhookCreated,
    WebhookIn,
    WebhookOut,
    WebhookPage,
)
from shared.service.skeleton import Reads, Writes
from shared.web.problems import Problem

from . import subscriptions
from .addresses import Refused
from .parts import Policy, editor

log = logging.getLogger(__name__)
router = APIRouter(prefix="/webhooks", dependencies=[Depends(editor)], tags=["webhooks"])
REFUSED = {
    "ar": "لا يمكن إرسال الأحداث إلى هذا العنوان",
    "en": "Events cannot be sent to this URL",
}


def _missing(sid: uuid.UUID) -> Problem:
    return Problem(404, "No such webhook", f"لا يوجد اشتراك بهذا المعرّف. No webhook {sid}.")


@router.post("", status_code=201, summary="Subscribe a URL to events (the secret is shown once)")
async def create(request: WebhookIn, writes: Writes, policy: Policy) -> WebhookCreated:
    try:
        await policy.check(request.url)
    except Refused as exc:
        log.warning("webhook registration refused: %s: %s", request.url, exc)
        raise Problem(
            422,
            "URL refused",
            f"{REFUSED['ar']}: {exc}. {REFUSED['en']}: {exc}.",
            errors=[{"field": "url", "message": f"{REFUSED['ar']} — {REFUSED['en']}: {exc}"}],
        ) from exc
    async with writes() as session, session.begin():
        return await subscriptions.create(session, request)


@router.get("", summary="Every subscription, with its pending and dead deliveries")
async def list_all(reads: Reads) -> WebhookPage:
    async with reads() as session:
        return WebhookPage(items=await subscriptions.list_all(session))


@router.get("/{sid}", summary="One subscription")
async def show(sid: uuid.UUID, reads: Reads) -> WebhookOut:
    async with reads() as session:
        found = await subscriptions.one(session, sid)
    if found is None:
        raise _missing(sid)
    return found


async def _state(sid: uuid.UUID, state: str, writes: Writes) -> WebhookOut:
    async with writes() as session, session.begin():
        if not await subscriptions.set_state(session, sid, state):
            raise _missing(sid)
        found = await subscriptions.one(session, sid)
    assert found is not None
    return found


@router.post("/{sid}/pause", summary="Stop sending (events are kept and sent on resume)")
async def pause(sid: uuid.UUID, writes: Writes) -> WebhookOut:
    return await _state(sid, "paused", writes)


@router.post("/{sid}/resume", summary="Send again, a paused or a disabled subscription")
async def resume(sid: uuid.UUID, writes: Writes) -> WebhookOut:
    return await _state(sid, "active", writes)


@router.delete("/{sid}", status_code=204, summary="Unsubscribe (its deliveries go too)")
async def delete(sid: uuid.UUID, writes: Writes) -> Response:
    async with writes() as session, session.begin():
        if not await subscriptions.remove(session, sid):
            raise _missing(sid)
    return Response(status_code=204)


@router.get("/{sid}/deliveries", summary="The delivery log: attempts, answers, next retry")
async def deliveries(
    sid: uuid.UUID,
    reads: Reads,
    status: Literal["pending", "delivered", "dead"] | None = None,
    cursor: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DeliveryPage:
    async with reads() as session:
        if await subscriptions.one(session, sid) is None:
            raise _missing(sid)
        return await subscriptions.deliveries(session, sid, status, cursor, limit)


@router.post("/{sid}/dead-letters/redrive", summary="Send the dead letters again, in order")
async def redrive(sid: uuid.UUID, writes: Writes) -> Redriven:
    async with writes() as session, session.begin():
        if await subscriptions.one(session, sid) is None:
            raise _missing(sid)
        return Redriven(redriven=await subscriptions.redrive(session, sid))
