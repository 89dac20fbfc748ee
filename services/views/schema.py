"""The views service's schema: its tables and their migration history."""

from __future__ import annotations

from sqlalchemy import Connection, text

from shared.storage.migrations import Schema

from .counting import ledger_prefix
from .models import Base


def replay_from(conn: Connection, stream: str, partition: int | None = None) -> str:
    """``views``: just before the oldest entry the ledger remembers (of that partition);
    from there on, the ledger knows what the restored counts hold (older entries were
    counted before it forgot them). ``articles``: all of it (known articles are upserts)."""
    if stream != "views":
        return "0"
    prefix = ledger_prefix(partition)
    oldest = conn.execute(
        text("SELECT MIN(first_entry) FROM applied_batches WHERE first_entry LIKE :p"),
        {"p": f"{prefix}%"},
    ).scalar()
    if not oldest:
        return "0"
    ms, seq = (int(part) for part in str(oldest).removeprefix(prefix).split("-"))
    return f"{ms}-{seq - 1}" if seq else f"{ms - 1}-18446744073709551615"


SCHEMA = Schema(
    service="views",
    metadata=Base.metadata,
    marker_table="article_views",
    replay_from=replay_from,
)
