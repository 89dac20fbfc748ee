"""The comments service's schema: its tables and their migration history."""

from __future__ import annotations

from sqlalchemy import Connection, inspect, text

from shared.storage.migrations import Schema

from .models import Base


def _adopt(conn: Connection) -> None:
    # Before migrations the outbox was called "outbox" (a name ingest uses too).
    tables = set(inspect(conn).get_table_names())
    if "outbox" in tables and "comment_outbox" not in tables:
        conn.execute(text("DROP INDEX IF EXISTS ix_outbox_pending"))
        conn.execute(text("ALTER TABLE outbox RENAME TO comment_outbox"))
        conn.execute(
            text("CREATE INDEX ix_comment_outbox_pending ON comment_outbox (published_at, id)")
        )


SCHEMA = Schema(
    service="comments",
    metadata=Base.metadata,
    marker_table="comments",
    adopt=_adopt,
)
