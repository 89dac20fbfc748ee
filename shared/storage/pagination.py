"""Opaque cursors for keyset pagination: (timestamp, id) of the last row handed out."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute

T = TypeVar("T", bound=tuple[Any, ...])


class BadCursor(ValueError):
    """A cursor this API did not hand out."""


def encode_cursor(at: datetime, row_id: uuid.UUID) -> str:
    raw = json.dumps([at.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        at, row_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return datetime.fromisoformat(at), uuid.UUID(row_id)
    except (ValueError, TypeError) as exc:
        raise BadCursor("cursor is not one this API handed out") from exc


def keyset_page(
    query: Select[T],
    cursor: str | None,
    at: InstrumentedAttribute[datetime],
    row_id: InstrumentedAttribute[uuid.UUID],
    *,
    limit: int,
    descending: bool = False,
) -> Select[T]:
    """``query`` in (``at``, ``row_id``) order from past the cursor's row, one row more
    than a page: that row, if it comes, says there is another page."""
    if cursor:
        when, key = decode_cursor(cursor)
        if descending:
            query = query.where(or_(at < when, and_(at == when, row_id < key)))
        else:
            query = query.where(or_(at > when, and_(at == when, row_id > key)))
    order = (at.desc(), row_id.desc()) if descending else (at.asc(), row_id.asc())
    return query.order_by(*order).limit(limit + 1)
