"""Faults and bad input, with nothing accepted lost and nothing counted twice.

Run alone with ``make drills``; they are part of ``make test`` too.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import orjson
import pytest
import redis

from shared.contracts.events import (
    ViewData,
    ViewRecorded,
)
from shared.contracts.streams import BY_NAME as STREAM_SPECS
from shared.contracts.wire import DATA_FIELD, encode_envelope
from tests.drills.conftest import Report
from tests.e2e.platform import Services
from tests.support import article_published, comment_submission, free_port, ready, wait_for

pytestmark = pytest.mark.drill

BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"}


def _xadd_all(client: redis.Redis, stream: str, events: list[bytes]) -> None:
    for start in range(0, len(events), 1000):
        pipe = client.pipeline(transaction=False)
        for raw in events[start : start + 1000]:
            pipe.xadd(stream, {DATA_FIELD: raw})
        pipe.execute()


def _envelope(event: object) -> bytes:
    return encode_envelope(event.model_dump_json().encode(), {})  # type: ignore[attr-defined]


def _count(db: Path, sql: str) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return int(conn.execute(sql).fetchone()[0] or 0)
    except sqlite3.Error:
        return 0


def _counted(services: Services) -> int:
    return _count(services.data_dir / "views.db", "SELECT SUM(counted) FROM article_views")


def _send_views(services: Services, stream: str, articles: list[uuid.UUID], sent: int) -> None:
    """``sent`` views of distinct readers, round the articles; back once some are counted."""
    client = redis.Redis.from_url(services.redis_url)
    views = (
        ViewRecorded(
            data=ViewData(article_id=articles[i % len(articles)], visitor_id=f"visitor-{i:06d}")
        )
        for i in range(sent)
    )
    _xadd_all(client, stream, [_envelope(view) for view in views])
    client.close()
    wait_for(lambda: _counted(services) > 0, timeout=30, what="counting started")


def test_comments_service_sigkilled_mid_batch(
    fresh_services: Services, redis_url: str, report: Report
) -> None:
    services = fresh_services
    client = redis.Redis.from_url(redis_url)
    article = uuid.uuid4()
    ns = services.namespace
    _xadd_all(
        client,
        f"{ns}:articles",
        [_envelope(article_published(article))],
    )
    sent = 3000
    _xadd_all(
        client,
        f"{ns}:comments.submitted",
        [_envelope(comment_submission(article, i)) for i in range(sent)],
    )
    db = services.data_dir / "comments.db"
    services.start("comments")
    wait_for(
        lambda: _count(db, "SELECT COUNT(*) FROM comments") > 0, timeout=30, what="deciding started"
    )
    services.stop("comments", signal.SIGKILL)
    services.start("comments")
    wait_for(
        lambda: _count(db, "SELECT COUNT(*) FROM comments") >= sent,
        timeout=60,
        what="every comment decided",
    )
    stored = _count(db, "SELECT COUNT(*) FROM comments")

    def announced() -> set[str] | None:
        ids = {
            orjson.loads(fields[DATA_FIELD.encode()])["data"]["data"]["comment_id"]
            for _i, fields in client.xrange(f"{ns}:comments")
        }
        return ids if len(ids) >= sent else None

    # The outbox may announce a decision twice after a crash (at-least-once, consumers
    # dedupe by event id); what must hold is one decision per comment, none missing.
    distinct = wait_for(announced, timeout=60, what="every decision announced")
    report(sent=sent, stored=min(stored, len(distinct)), duplicated=max(stored - sent, 0))


def test_poison_on_every_stream_goes_to_its_dead_letters(
    fresh_services: Services, redis_url: str, report: Report
) -> None:
    services = fresh_services
    services.start()
    client = redis.Redis.from_url(redis_url)
    ns = services.namespace
    # Written by hand with redis-cli, as an operator or a buggy producer might.
    malformed = [
        [DATA_FIELD, "not an event at all"],
        ["hand", "written", "without", "envelope"],
        [
            DATA_FIELD,
            '{"headers": {}, "data": {"type": "view.recorded", "data": {"article_id": 7}}}',
        ],
        [DATA_FIELD, '{"headers": {}, "data": ' + "[" * 5000 + "]" * 5000 + "}"],
        [DATA_FIELD, "x" * 200_000],
    ]
    # Every stream a group reads (comments: the webhooks group).
    poison = {"articles": 1, "views": 1, "comments.submitted": 1, "comments": 1}
    for stream in poison:
        for fields in malformed:
            *head, value = fields  # the value on stdin (-x): a big one exceeds argv's limit
            subprocess.run(
                ["redis-cli", "-u", redis_url, "-x", "XADD", f"{ns}:{stream}", "*", *head],
                input=value.encode(),
                check=True,
                capture_output=True,
            )
    # Good traffic after the poison still flows.
    article = services.import_seed()
    assert (
        httpx.post(
            f"{services.gateway}/api/v1/articles/{article['id']}/views", headers=BROWSER
        ).status_code
        == 202
    )
    wait_for(
        lambda: (
            httpx.get(f"{services.gateway}/api/v1/articles/{article['id']}").json()["views"][
                "total"
            ]
            == 1086
        ),
        timeout=15,
        what="the good view counted",
    )

    def dead() -> dict[str, int]:
        return {s: client.xlen(f"{ns}:{s}.dlq") for s in poison}

    # A stream read by several groups (articles: views, comments, search, webhooks):
    # each dead-letters its own copy.
    n = len(malformed)
    expected = {s: n * len(STREAM_SPECS[s].groups) for s in poison}
    assert expected["articles"] == 4 * n
    wait_for(lambda: dead() == expected, timeout=20, what="the dead letters")
    report(sent=sum(expected.values()), stored=sum(dead().values()))


def _views_replica(services: Services, n: int) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {
        **services.env,
        "NEWSROOM_VIEWS_PORT": str(port),
        "NEWSROOM_CONSUMER_NAME": f"views-replica-{n}",
        "NEWSROOM_BATCH_SIZE": "200",
    }
    return subprocess.Popen([sys.executable, "-m", "services.views"], env=env), port


def _consumers_with_work(client: redis.Redis, stream: str) -> dict[str, int]:
    """How many entries each consumer of the group has been delivered (acked or not)."""
    return {c["name"].decode(): int(c["pending"]) for c in client.xinfo_consumers(stream, "views")}


def test_three_views_replicas_one_sigkilled_totals_exact(
    fresh_services: Services, redis_url: str, report: Report
) -> None:
    services = fresh_services
    client = redis.Redis.from_url(redis_url)
    stream = f"{services.namespace}:views"
    articles = [uuid.uuid4() for _ in range(20)]
    replicas = [_views_replica(services, n) for n in range(3)]
    try:
        wait_for(
            lambda: all(ready(f"http://127.0.0.1:{port}") for _proc, port in replicas),
            timeout=60,
            what="replicas ready",
        )
        sent = 30_000
        _send_views(services, stream, articles, sent)
        busy = {c for c, _n in _consumers_with_work(client, stream).items()}
        replicas[0][0].send_signal(signal.SIGKILL)
        replicas[0][0].wait()
        wait_for(
            lambda: _counted(services) >= sent,
            timeout=120,
            what="every view counted",
        )
        wait_for(
            lambda: client.xpending(stream, "views")["pending"] == 0,
            timeout=30,
            what="nothing left pending",
        )
        counted = _counted(services)
        assert len(busy) >= 2, f"work went to {busy}"
        report(sent=sent, stored=min(counted, sent), duplicated=max(counted - sent, 0))
    finally:
        for proc, _port in replicas:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(30)


def test_sigterm_under_load_leaves_nothing_pending(
    fresh_services: Services, redis_url: str, report: Report
) -> None:
    services = fresh_services
    client = redis.Redis.from_url(redis_url)
    stream = f"{services.namespace}:views"
    article = uuid.uuid4()
    proc, port = _views_replica(services, 9)
    try:
        wait_for(lambda: ready(f"http://127.0.0.1:{port}"), timeout=60, what="views ready")
        sent = 20_000
        _send_views(services, stream, [article], sent)
        proc.send_signal(signal.SIGTERM)
        # Drained and exited within the bound (uvicorn re-raises the SIGTERM it handled: -15).
        assert proc.wait(15) in (0, -signal.SIGTERM)
        assert (
            client.xpending(stream, "views")["pending"] == 0
        )  # what it read, it applied and acked
        proc, port = _views_replica(services, 10)
        wait_for(
            lambda: _counted(services) >= sent,
            timeout=60,
            what="the rest counted",
        )
        counted = _counted(services)
        report(sent=sent, stored=min(counted, sent), duplicated=max(counted - sent, 0))
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
