"""What storing a comment's row costs at least: the comments table with its indexes, in
an in-memory SQLite database, written as the service writes it (the ORM session), as the
table's Core insert, and by plain ``sqlite3`` with the parameters prepared by hand.

    .venv/bin/python -m bench.comments_insert [--batches 40] [--rows 500]

No floor of its own: the figures set the comments service's stored decisions against
bench/comments_bench.py's batch floor (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import create_engine, insert
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateIndex, CreateTable

from services.comments.models import Base, Comment

TABLE = Base.metadata.tables["comments"]


def rows(n: int) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [
        dict(
            id=uuid.uuid4(),
            article_id=uuid.uuid4(),
            name="قارئ",
            email="reader@example.com",
            email_key="reader@example.com",
            website=None,
            text="نص التعليق " * 8,
            html="<p>نص التعليق</p>",
            status="approved",
            reasons=[],
            spam_signals=[],
            client_key="c" * 16,
            user_agent="Mozilla/5.0",
            fingerprint="f" * 64,
            submitted_at=now,
            decided_at=now,
            decided_by="rules",
            note=None,
            parent_id=None,
        )
        for _ in range(n)
    ]


Writer = Callable[[list[dict[str, Any]]], None]


def through_session(statement: Any) -> Writer:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)

    def write(batch: list[dict[str, Any]]) -> None:
        with Session(engine) as session, session.begin():
            session.execute(statement, batch)

    return write


def plain_sqlite() -> Writer:
    engine = create_engine("sqlite://")  # only to compile the table's DDL
    conn = sqlite3.connect(":memory:")
    conn.execute(str(CreateTable(TABLE).compile(engine)))
    for index in TABLE.indexes:
        conn.execute(str(CreateIndex(index).compile(engine)))
    names = [c.name for c in TABLE.columns]
    sql = f"INSERT INTO comments ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"

    def value(v: Any) -> Any:
        if isinstance(v, uuid.UUID):
            return v.hex
        if isinstance(v, datetime):
            return v.isoformat()
        if isinstance(v, list):
            return json.dumps(v)
        return v

    def write(batch: list[dict[str, Any]]) -> None:
        conn.executemany(sql, [tuple(value(r[n]) for n in names) for r in batch])
        conn.commit()

    return write


def per_row(ways: dict[str, Writer], batches: int, size: int) -> dict[str, float]:
    """Microseconds a row for each way, batch by batch in turn (the same rows for each, made
    outside the timing), so that a slower moment of the machine falls on all of them."""
    spent = dict.fromkeys(ways, 0.0)
    for n in range(batches):
        batch = rows(size)
        for name in list(ways)[n % len(ways) :] + list(ways)[: n % len(ways)]:
            start = time.perf_counter()
            ways[name](batch)
            spent[name] += time.perf_counter() - start
    return {name: t / (batches * size) * 1e6 for name, t in spent.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--rows", type=int, default=500)
    args = parser.parse_args()
    ways = {
        "ORM session, insert(Comment) (the service)": through_session(insert(Comment)),
        "Core insert of the table, through the session": through_session(insert(TABLE)),
        "plain sqlite3 executemany, parameters by hand": plain_sqlite(),
    }
    for name, cost in per_row(ways, args.batches, args.rows).items():
        print(f"{name}: {cost:.1f} µs a row")


if __name__ == "__main__":
    main()
