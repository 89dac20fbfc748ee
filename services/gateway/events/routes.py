"""``GET /api/v1/events``: the public streams as Server-Sent Events, resumable.

Each event's ``id:`` is the cursor just after it (docs/events.md): a client that
reconnects with ``Last-Event-ID`` (or ``?after=``) gets exactly what it missed, in
order, nothing twice, from any gateway replica.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from shared.web.problems import PROBLEM_JSON, Problem

from ..api import PROBLEM
from ..parts import Parts
from ..settings import GatewaySettings
from .hub import PUBLIC, BadCursor, Cursor, TooOld, types_of

router = APIRouter(tags=["events"])
ALL_TYPES = types_of(PUBLIC)
ARTICLE_TYPES = types_of(["articles"])


def allowed_types(settings: GatewaySettings, authorization: str | None) -> list[str]:
    """The event types this caller may read: all with a subscriber token, the article
    events without one where the setting makes them public."""
    token = (authorization or "").removeprefix("Bearer ").strip()
    if token:
        if any(secrets.compare_digest(token, known) for known in settings.subscriber_tokens):
            return ALL_TYPES
        raise Problem(403, "Forbidden", "This token may not read the events.")
    if settings.public_article_events:
        return ARTICLE_TYPES
    raise Problem(
        401,
        "Subscriber token required",
        "يلزم رمز مشترك. / Send a subscriber token: Authorization: Bearer <token>.",
        headers={"WWW-Authenticate": "Bearer"},
    )


def wanted_types(requested: str | None, allowed: list[str]) -> set[str]:
    if not requested:
        return set(allowed)
    wanted = {t.strip() for t in requested.split(",") if t.strip()}
    if unknown := sorted(wanted - set(ALL_TYPES)):
        raise Problem(
            422,
            "Unknown event types",
            errors=[
                {
                    "field": "types",
                    "message": f"أنواع غير معروفة / unknown types: {', '.join(unknown)}. "
                    f"Known: {', '.join(ALL_TYPES)}.",
                }
            ],
        )
    if refused := sorted(wanted - set(allowed)):
        raise Problem(403, "Forbidden", f"A subscriber token is needed for {', '.join(refused)}.")
    return wanted


def start_cursor(last_event_id: str | None, after: str | None) -> Cursor | None:
    given = last_event_id or after
    if given is None:
        return None
    try:
        return Cursor.parse(given)
    except BadCursor:
        field = "Last-Event-ID" if last_event_id else "after"
        raise Problem(
            422,
            "Invalid position",
            errors=[
                {
                    "field": field,
                    "message": "ليس موضعاً أعطته هذه الواجهة. / Not a position this API "
                    "handed out (an event's id, or 0 for all that is held).",
                }
            ],
        ) from None


@router.get(
    "/api/v1/events",
    summary="The public events as Server-Sent Events, resumable with Last-Event-ID",
    description=(
        "`text/event-stream`: `id:` is the position just after the event (send it back as "
        "`Last-Event-ID` or `after` to resume), `event:` the event type, `data:` the event's "
        "JSON as on the stream (docs/events.md). `after=0`: everything the streams still "
        "hold. Heartbeats (comment lines) every 15 s. A client that falls "
        "`NEWSROOM_EVENTS_BUFFER` events behind is cut off and resumes."
    ),
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}},
        401: PROBLEM,
        403: PROBLEM,
        410: PROBLEM,
        422: PROBLEM,
    },
)
async def events(
    request: Request,
    parts: Parts,
    types: Annotated[
        str | None, Query(max_length=1000, description="Comma-separated event types")
    ] = None,
    after: Annotated[str | None, Query(max_length=200, description="A position; 0: all")] = None,
    last_event_id: Annotated[str | None, Header(max_length=200)] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    settings = parts.settings
    wanted = wanted_types(types, allowed_types(settings, authorization))
    cursor = start_cursor(last_event_id, after)
    if cursor is not None:
        try:
            await parts.events.check(cursor)
        except TooOld as exc:
            return _gone(exc.oldest, request)
    return StreamingResponse(
        _frames(parts, cursor, wanted),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _frames(parts: Any, cursor: Cursor | None, wanted: set[str]) -> AsyncIterator[bytes]:
    heartbeat = parts.settings.events_heartbeat_seconds
    sent: Cursor | None = None
    latest: Cursor | None = cursor
    yield b"retry: 2000\n\n"
    async for item in parts.events.follow(cursor, heartbeat):
        if item is None:
            # An id alone moves the client's Last-Event-ID past events it filtered out.
            if latest is not None and latest != sent:
                sent = latest
                yield b"id: %s\n: keep-alive\n\n" % str(latest).encode()
            else:
                yield b": keep-alive\n\n"
            continue
        event, latest = item
        if event.type in wanted:
            sent = latest
            yield b"id: %s\nevent: %s\ndata: %s\n\n" % (
                str(latest).encode(),
                event.type.encode(),
                event.data,
            )


def _gone(oldest: Cursor, request: Request) -> Response:
    return JSONResponse(
        {
            "type": "about:blank",
            "title": "Position too old",
            "status": 410,
            "detail": "الأحداث بعد هذا الموضع لم تعد محفوظة. / The streams no longer hold "
            f"the events after this position; the oldest held is {oldest}.",
            "instance": request.url.path,
            "oldest": str(oldest),
        },
        status_code=410,
        media_type=PROBLEM_JSON,
    )
