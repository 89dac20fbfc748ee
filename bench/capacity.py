"""Capacity: what each service, Redis and the database need, measured under load.

    .venv/bin/python -m bench.capacity [--views 100000] [--articles 100] [--comments 2000]

Runs the four services as processes on PostgreSQL (its own database) and a
Redis of its own (so its memory is ours alone), then measures:

- each service's RSS idle, and its peak (VmHWM) while it works;
- Redis memory for N views inside the dedupe window (the ``seen`` keys and the
  unique-visitor HyperLogLogs), per 100,000 views;
- the ``views`` stream's memory per entry, and at ``NEWSROOM_STREAM_MAXLEN``
  (filled for real, not extrapolated);
- database growth: views tables per article per day (a day of views spread over
  24 hours), the views ledger per 100,000 views, comments per comment, ingest
  per article (with its revision and outbox row).

Prints a table and a JSON line; docs/capacity.md holds the figures and how they
grow. Needs PostgreSQL at NEWSROOM_TEST_DATABASE_URL or 127.0.0.1:5432.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis
from sqlalchemy.engine import make_url

from bench.views_bench import _ok, publish, wait_until
from newsroom.embedded_redis import EmbeddedRedis, free_port
from shared.contracts.events import (
    CommentSubmission,
    CommentSubmitted,
    ViewData,
    ViewRecorded,
)
from shared.contracts.wire import encode_envelope
from shared.settings import settings_env

SERVICES = ("ingest", "views", "comments", "gateway")
PG = os.environ.get("NEWSROOM_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
MiB = 1024 * 1024


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def envelope(event: Any) -> bytes:
    return encode_envelope(event.model_dump_json().encode(), {})


class Platform:
    def __init__(self, redis_url: str, database_url: str, data_dir: Path, ns: str) -> None:
        self.ports = {s: free_port() for s in SERVICES}
        self.env = settings_env(
            redis_url=redis_url,
            database_url=database_url,
            data_dir=data_dir,
            namespace=ns,
            gateway_workers=1,
            editor_token="capacity-editor",
            min_submit_seconds=0,
            log_level="WARNING",
            **{f"{s}_port": p for s, p in self.ports.items()},
        )
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def start(self) -> None:
        for service in SERVICES:
            self.procs[service] = subprocess.Popen(
                [sys.executable, "-m", f"services.{service}"], env=self.env
            )
        for service in SERVICES:
            wait_until(lambda s=service: _ok(f"{self.url(s)}/readyz"), timeout=90, interval=0.1)

    def rss_mib(self, service: str, peak: bool = False) -> float:
        return status_kib(self.procs[service].pid, "VmHWM" if peak else "VmRSS") / 1024

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            proc.wait(30)


def relation_bytes(dsn: str, tables: list[str]) -> int:
    """Tables with their indexes and TOAST, as PostgreSQL stores them."""
    total = 0
    with psycopg.connect(dsn) as conn:
        for table in tables:
            row = conn.execute("SELECT pg_total_relation_size(%s)", (table,)).fetchone()
            total += int(row[0]) if row else 0
    return total


def load_gateway(base: str, article: dict[str, Any], seconds: float, threads: int = 8) -> int:
    """Readers on the article JSON, the page and POST /views, for ``seconds``."""
    stop = time.monotonic() + seconds
    done = [0] * threads

    def reader(n: int) -> None:
        with httpx.Client(timeout=10) as client:
            i = 0
            while time.monotonic() < stop:
                ip = f"10.9.{n}.{i % 250}"
                if i % 3 == 0:
                    client.get(f"{base}/api/v1/articles/{article['id']}")
                elif i % 3 == 1:
                    client.get(f"{base}/articles/{article['slug']}")
                else:
                    client.post(
                        f"{base}/api/v1/articles/{article['id']}/views",
                        headers={
                            "X-Forwarded-For": ip,
                            "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
                        },
                    )
                i += 1
            done[n] = i

    pool = [threading.Thread(target=reader, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sum(done)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--views", type=int, default=100_000)
    parser.add_argument("--articles", type=int, default=100)
    parser.add_argument("--comments", type=int, default=2_000)
    parser.add_argument("--maxlen", type=int, default=1_000_000)
    args = parser.parse_args()

    admin = make_url(PG).set(drivername="postgresql")
    admin_dsn = admin.render_as_string(hide_password=False)
    name = f"newsroom_capacity_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = admin.set(database=name).render_as_string(hide_password=False)
    tmp = Path(tempfile.mkdtemp(prefix="newsroom-capacity-"))
    server = EmbeddedRedis(tmp / "redis", appendonly=False)
    server.start()
    client = redis.Redis.from_url(server.url)
    ns = "cap"
    platform = Platform(server.url, dsn, tmp / "var", ns)
    figures: dict[str, Any] = {}
    try:
        platform.start()
        time.sleep(2)  # let start-up garbage settle before reading idle RSS
        figures["rss_idle_mib"] = {s: round(platform.rss_mib(s), 1) for s in SERVICES}
        redis_idle = int(client.info("memory")["used_memory"])

        # Ingest: articles through the API (each a row, a revision, an outbox event).
        editor = {"Authorization": "Bearer capacity-editor"}
        articles = []
        with httpx.Client(timeout=30) as http:
            for i in range(args.articles):
                body = " ".join(["فقرة من نص الخبر تشبه ما في الصفحة الأصلية."] * 40)
                draft = {"title": f"خبر رقم {i}", "body": body, "slug": f"capacity-{i}"}
                saved = http.post(f"{platform.url('ingest')}/articles", json=draft, headers=editor)
                saved.raise_for_status()
                articles.append(saved.json()["article"])
        ingest_tables = ["articles", "article_revisions", "outbox"]
        figures["ingest_bytes_per_article"] = relation_bytes(dsn, ingest_tables) // args.articles

        # Views: a day of views over the articles, spread over 24 hours.
        start_of_day = datetime.now(UTC).replace(
            hour=0, minute=0, second=0, microsecond=0
        ) - timedelta(days=1)
        ids = [uuid.UUID(a["id"]) for a in articles]
        entries = [
            envelope(
                ViewRecorded(
                    occurred_at=start_of_day + timedelta(seconds=i * 86_400 / args.views),
                    data=ViewData(article_id=ids[i % len(ids)], visitor_id=uuid.uuid4().hex),
                )
            )
            for i in range(args.views)
        ]
        before_views = int(client.info("memory")["used_memory"])
        publish(client, f"{ns}:views", entries)
        stream_bytes = int(client.memory_usage(f"{ns}:views") or 0)

        def counted() -> bool:
            with psycopg.connect(dsn) as conn:
                row = conn.execute("SELECT COALESCE(SUM(counted), 0) FROM article_views").fetchone()
            return bool(row and int(row[0]) >= args.views)

        started = time.monotonic()
        wait_until(counted, timeout=600, interval=0.2)
        figures["views_counted_per_s"] = round(args.views / (time.monotonic() - started))
        window_bytes = 0
        keys = 0
        for pattern in (f"{ns}:views:seen:*", f"{ns}:views:unique:*"):
            batch: list[bytes] = []
            for key in client.scan_iter(match=pattern, count=5000):
                batch.append(key)
                if len(batch) == 5000:
                    pipe = client.pipeline(transaction=False)
                    for k in batch:
                        pipe.memory_usage(k, samples=0)
                    window_bytes += sum(int(v or 0) for v in pipe.execute())
                    keys += len(batch)
                    batch = []
            if batch:
                pipe = client.pipeline(transaction=False)
                for k in batch:
                    pipe.memory_usage(k, samples=0)
                window_bytes += sum(int(v or 0) for v in pipe.execute())
                keys += len(batch)
        used_after = int(client.info("memory")["used_memory"])
        figures["redis_window_mib_per_100k_views"] = round(
            window_bytes / MiB * 100_000 / args.views, 1
        )
        figures["redis_used_mib_per_100k_views_incl_stream"] = round(
            (used_after - before_views) / MiB * 100_000 / args.views, 1
        )
        figures["window_keys"] = keys
        figures["stream_bytes_per_entry"] = stream_bytes // args.views
        views_tables = ["article_views", "hourly_views", "daily_views"]
        figures["views_db_bytes_per_article_day"] = (
            relation_bytes(dsn, views_tables) // args.articles
        )
        figures["views_ledger_bytes_per_100k_views"] = (
            relation_bytes(dsn, ["applied_batches"]) * 100_000 // args.views
        )
        figures["rss_busy_mib"] = {"views": round(platform.rss_mib("views", peak=True), 1)}

        # Comments: submissions straight onto the stream, as the gateway writes them.
        submissions = [
            envelope(
                CommentSubmitted(
                    data=CommentSubmission(
                        comment_id=uuid.uuid4(),
                        article_id=ids[i % len(ids)],
                        name=f"قارئ {i}",
                        email=f"reader{i}@example.com",
                        text=f"تعليق رقم {i} على الخبر، مع بعض الكلمات الإضافية لطول معقول.",
                        client_key=uuid.uuid4().hex,
                    )
                )
            )
            for i in range(args.comments)
        ]
        publish(client, f"{ns}:comments.submitted", submissions)

        def decided() -> bool:
            with psycopg.connect(dsn) as conn:
                row = conn.execute("SELECT COUNT(*) FROM comments").fetchone()
            return bool(row and int(row[0]) >= args.comments)

        wait_until(decided, timeout=600, interval=0.2)
        figures["comments_bytes_per_comment"] = (
            relation_bytes(dsn, ["comments", "comment_outbox"]) // args.comments
        )
        figures["rss_busy_mib"]["comments"] = round(platform.rss_mib("comments", peak=True), 1)
        figures["rss_busy_mib"]["ingest"] = round(platform.rss_mib("ingest", peak=True), 1)

        requests = load_gateway(platform.url("gateway"), articles[0], seconds=15)
        figures["gateway_requests_in_load"] = requests
        figures["rss_busy_mib"]["gateway"] = round(platform.rss_mib("gateway", peak=True), 1)

        # The stream at its cap: filled for real with the same entries.
        scratch = f"{ns}:capacity-maxlen"
        rounds = args.maxlen // len(entries) + 1
        for _ in range(rounds):
            publish(client, scratch, entries, maxlen=args.maxlen)
        figures["stream_mib_at_maxlen"] = round(int(client.memory_usage(scratch) or 0) / MiB, 1)
        figures["stream_entries_at_maxlen"] = int(client.xlen(scratch))
        client.delete(scratch)
        figures["redis_idle_mib"] = round(redis_idle / MiB, 1)
    finally:
        platform.stop()
        client.close()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"{key.ljust(width)}  {value}")
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
