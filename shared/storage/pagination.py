"""Opaque cursors for keyset pagination: (timestamp, id) of the last row handed out."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime


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
