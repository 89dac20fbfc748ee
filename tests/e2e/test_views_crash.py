"""Crash drill: SIGKILL the views service mid-batch; every view is counted exactly once."""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
import redis

from shared.contracts.events import ViewData, ViewRecorded
from shared.contracts.wire import DATA_FIELD, encode_envelope
from shared.settings import settings_env
from tests.support import free_port, ready, wait_for

pytestmark = pytest.mark.e2e

ARTICLES, VIEWS = 50, 20_000


def start_views(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "services.views"], env=env)


def totals(port: int, articles: list[uuid.UUID]) -> dict[str, int]:
    ids = ",".join(map(str, articles))
    try:
        rows = httpx.get(f"http://127.0.0.1:{port}/counts", params={"ids": ids}, timeout=2).json()
    except (httpx.HTTPError, ValueError):
        return {}
    return {row["article_id"]: row["total"] for row in rows}


def test_sigkill_mid_batch_loses_nothing_and_counts_nothing_twice(
    tmp_path: Path, redis_url: str, namespace: str
) -> None:
    port = free_port()
    env = settings_env(
        namespace=namespace,
        redis_url=redis_url,
        data_dir=tmp_path,
        views_port=port,
        claim_idle_ms=1000,
        batch_size=500,
    )
    articles = [uuid.uuid4() for _ in range(ARTICLES)]
    first = start_views({**env, "NEWSROOM_CONSUMER_NAME": "views-first"})
    try:
        wait_for(lambda: ready(f"http://127.0.0.1:{port}"), timeout=30, what="views ready")
        client = redis.Redis.from_url(redis_url)
        pipe = client.pipeline(transaction=False)
        for i in range(VIEWS):
            event = ViewRecorded(
                data=ViewData(article_id=articles[i % ARTICLES], visitor_id=f"visitor-{i:06d}")
            )
            pipe.xadd(
                f"{namespace}:views",
                {DATA_FIELD: encode_envelope(event.model_dump_json().encode(), {})},
            )
        pipe.execute()

        # Kill it while it works: some counted, most not yet.
        wait_for(
            lambda: 0 < sum(totals(port, articles).values()), timeout=60, what="counting started"
        )
        first.send_signal(signal.SIGKILL)
        first.wait()
        counted_before_kill = sum(totals_from_db(tmp_path, articles).values())
        print(f"\ncrash drill: sent {VIEWS}, counted before SIGKILL {counted_before_kill}")
        assert counted_before_kill < VIEWS, "the kill came too late to prove anything"
    finally:
        if first.poll() is None:
            first.kill()

    second = start_views({**env, "NEWSROOM_CONSUMER_NAME": "views-second"})
    try:
        expected = {str(a): VIEWS // ARTICLES for a in articles}
        final = wait_for(
            lambda: (t := totals(port, articles)) == expected and t,
            timeout=120,
            what="exact totals",
        )
        counted = sum(final.values())
        pending = client.xpending(f"{namespace}:views", "views")["pending"]
        lost = VIEWS - counted
        print(f"crash drill: sent {VIEWS}, counted {counted}, lost {lost}, pending {pending}")
        assert counted == VIEWS
        wait_for(
            lambda: client.xpending(f"{namespace}:views", "views")["pending"] == 0, what="all acked"
        )
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)


def totals_from_db(data_dir: Path, articles: list[uuid.UUID]) -> dict[str, int]:
    import sqlite3

    with sqlite3.connect(data_dir / "views.db") as conn:
        return {
            row[0]: row[1] for row in conn.execute("SELECT article_id, counted FROM article_views")
        }
