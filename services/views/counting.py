"""Counting views exactly once, one transaction per batch.

Redelivered entries change nothing: the ledger (``applied_batches``) records
every committed batch's entry ids in the same transaction as its counts,
and is checked under the write lock. Duplicated events (the same view sent
twice) are repeats within the visitor's window (:mod:`services.views.window`).
Buckets use the event's own time, so a replay lands where the original would.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from shared.contracts.events import ArticleData, ArticleRef
from shared.messaging.consuming import Entry
from shared.storage.engines import driver_sql

from .window import VisitorWindow

R = TypeVar("R")
LEDGER_LOCK = 0x7669657773  # "views": serialises ledger check + insert on PostgreSQL


class _View(NamedTuple):
    """What counting needs of one entry, computed once."""

    ms: int  # event time: views are judged in this order
    token: str  # the stream entry id: the same on redelivery, not on a resend
    article: str
    visitor: str
    previous_visitor: str
    day: str


def _views_of(entries: Sequence[Entry[Any]]) -> list[_View]:
    """What counting needs of each entry, by event time (the hot loop: kept flat)."""
    days: dict[int, str] = {}
    new = tuple.__new__  # a NamedTuple's own constructor is a Python function
    views: list[_View] = []
    append = views.append
    for entry_id, event, _headers in entries:  # a ViewRecorded read by shared/contracts/lean.py
        data = event["data"]
        ms = int(event["occurred_at"].timestamp() * 1000)
        hour = ms // 3_600_000
        day = days.get(hour)
        if day is None:
            day = days[hour] = datetime.fromtimestamp(hour * 3600, UTC).date().isoformat()
        previous = data.get("previous_visitor_id") or ""
        append(new(_View, (ms, entry_id, data["article_id"], data["visitor_id"], previous, day)))
    # A stable sort keeps stream order among views of the same millisecond.
    views.sort(key=itemgetter(0))
    return views


@dataclass(frozen=True)
class BatchResult:
    counted: int
    redelivered: int  # already applied: no effect
    repeats: int  # the same visitor again within the window


def epoch_hour(ts: datetime) -> int:
    return int(ts.timestamp()) // 3600


def sortable(entry_id: str) -> str:
    """A stream entry id that sorts as text in stream order: ``1-2`` -> ``000…1-000…2``."""
    ms, _, seq = entry_id.partition("-")
    return f"{ms.zfill(15)}-{(seq or '0').zfill(10)}"


def _lock(conn: Connection) -> None:
    # SQLite: the writer engine already began with BEGIN IMMEDIATE.
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            driver_sql(conn.dialect, "SELECT pg_advisory_xact_lock(?)"), (LEDGER_LOCK,)
        )


def _applied(conn: Connection, keys: Sequence[str]) -> set[str]:
    sql = "SELECT entries FROM applied_batches WHERE last_entry >= ? AND first_entry <= ?"
    result = conn.exec_driver_sql(driver_sql(conn.dialect, sql), (min(keys), max(keys)))
    overlapping = [entries for (entries,) in result]
    if not overlapping:  # nearly always: a new batch lies past every committed one
        return set()
    wanted = set(keys)
    return {k for entries in overlapping for k in entries.split() if k in wanted}


def _executemany(conn: Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
    if rows:
        conn.exec_driver_sql(driver_sql(conn.dialect, sql), rows)


async def count_views(
    writer: Engine, window: VisitorWindow, entries: Sequence[Entry[Any]], partition: int = 0
) -> BatchResult:
    """Count a batch: ask the window which views count, then commit in one step.

    Asking the window again for a redelivered entry gives the same answer, and
    the ledger check under the write lock then skips it if it was committed:
    two workers or replicas applying the same entry still count it once.
    """
    if not entries:
        return BatchResult(0, 0, 0)
    views = _views_of(entries)
    counts = await window.claim(views, partition)
    prefix = ledger_prefix(partition if window.streams.partitions > 1 else None)
    return await run_write(writer, _commit, views, counts, prefix)


def ledger_prefix(partition: int | None) -> str:
    """The ledger keys on (partition, entry id): partitions' streams number their entries
    alike. No partitions (None): the entry id alone, as before partitions."""
    return "" if partition is None else f"{partition:04d}/"


def _commit(
    writer: Engine, views: Sequence[_View], counts: Sequence[bool], ledger_prefix: str = ""
) -> BatchResult:
    keys = [ledger_prefix + sortable(v.token) for v in views]
    with writer.begin() as conn:
        _lock(conn)
        applied = _applied(conn, keys)
        if applied:  # a redelivery: leave out what was committed already
            fresh = [
                (k, v, c) for k, v, c in zip(keys, views, counts, strict=True) if k not in applied
            ]
            new_keys = [k for k, _v, _c in fresh]
            counting = [v for _k, v, c in fresh if c]
        else:  # nearly always
            new_keys = keys
            counting = [v for v, c in zip(views, counts, strict=True) if c]
        # One tally per (article, hour); the article and day totals are sums of it.
        per_hour = Counter((v.article, v.ms // 3_600_000, v.day) for v in counting)
        per_article: Counter[str] = Counter()
        per_day: Counter[tuple[str, str]] = Counter()
        for (article, _hour, day), n in per_hour.items():
            per_article[article] += n
            per_day[(article, day)] += n
        if new_keys:
            _executemany(
                conn,
                "INSERT INTO applied_batches (first_entry, last_entry, entries, applied_at) VALUES (?, ?, ?, ?)",
                [(min(new_keys), max(new_keys), " ".join(new_keys), int(time.time()))],
            )
        _executemany(
            conn,
            "INSERT INTO article_views (article_id, legacy_views, counted, status) "
            "VALUES (?, 0, ?, 'published') ON CONFLICT (article_id) "
            "DO UPDATE SET counted = article_views.counted + excluded.counted",
            list(per_article.items()),
        )
        _executemany(
            conn,
            "INSERT INTO hourly_views (article_id, hour, views) VALUES (?, ?, ?) "
            "ON CONFLICT (article_id, hour) DO UPDATE SET views = hourly_views.views + excluded.views",
            [(a, h, n) for (a, h, _d), n in per_hour.items()],
        )
        _executemany(
            conn,
            "INSERT INTO daily_views (article_id, day, views) VALUES (?, ?, ?) "
            "ON CONFLICT (article_id, day) DO UPDATE SET views = daily_views.views + excluded.views",
            [(a, d, n) for (a, d), n in per_day.items()],
        )
    counted = sum(per_article.values())
    return BatchResult(counted, len(views) - len(new_keys), len(new_keys) - counted)


#: How long a write waits for a locked SQLite file before it fails (and is retried later).
LOCKED_FOR_SECONDS = 30.0


async def run_write(writer: Engine, fn: Callable[..., R], *args: Any) -> R:
    """Run a whole write transaction as one synchronous step.

    SQLite: right here on the event loop: ~1-2 ms, cheaper than a thread hop
    that waits for the GIL behind the reader (up to 5 ms per handoff). Every
    write of this service goes through here, so no transaction of ours is ever
    left half-done on the loop while another waits for the lock it holds.
    PostgreSQL: in a worker thread, since the network may be slow.
    """
    if writer.dialect.name != "sqlite":
        return await asyncio.to_thread(fn, writer, *args)
    # The writer waits for SQLite's lock only briefly (LOOP_BUSY_MS). When another
    # process holds it longer, the write goes on waiting in a thread, so the loop
    # (health, reads, Redis) is never held by a locked file. A try that did not get
    # the lock did nothing (BEGIN IMMEDIATE), so trying again is safe.
    try:
        return fn(writer, *args)
    except OperationalError as exc:
        if "locked" not in str(exc):
            raise
    return await asyncio.to_thread(_until_unlocked, writer, fn, *args)


def _until_unlocked(writer: Engine, fn: Callable[..., R], *args: Any) -> R:
    deadline = time.monotonic() + LOCKED_FOR_SECONDS
    while True:
        try:
            return fn(writer, *args)
        except OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(0.05)


def record_article(writer: Engine, data: ArticleData | ArticleRef) -> None:
    """Keep the article's legacy count (the base of its total) and its status; idempotent."""
    with writer.begin() as conn:
        if isinstance(data, ArticleData):
            _executemany(
                conn,
                "INSERT INTO article_views (article_id, legacy_views, counted, status) "
                "VALUES (?, ?, 0, 'published') ON CONFLICT (article_id) "
                "DO UPDATE SET legacy_views = excluded.legacy_views, status = 'published'",
                [(str(data.article_id), data.legacy_views)],
            )
        else:
            _executemany(
                conn,
                "INSERT INTO article_views (article_id, legacy_views, counted, status) "
                "VALUES (?, 0, 0, 'unpublished') ON CONFLICT (article_id) DO UPDATE SET status = 'unpublished'",
                [(str(data.article_id),)],
            )
