"""The whole platform on PostgreSQL: four services, one database, migrated at start-up.

The rest of the e2e suite runs on the embedded SQLite default; the service
suites run on both (tests/integration); this proves the processes together on
the production engine, sharing one database as compose deploys them.
"""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
import pytest

from tests.conftest import PgDatabase
from tests.support import post_comment, wait_for

pytestmark = pytest.mark.e2e

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def test_the_platform_runs_on_one_postgresql_database(
    own_pg_database: PgDatabase, platform_factory: Any
) -> None:  # (in this order: the platform stops before its database is dropped)
    shared_database = own_pg_database.url
    platform = platform_factory(
        extra_env={"NEWSROOM_DATABASE_URL": shared_database, "NEWSROOM_MIN_SUBMIT_SECONDS": "0"}
    )
    gw = platform.gateway
    article = httpx.get(f"{gw}/api/v1/articles").json()["items"][0]
    url = f"{gw}/api/v1/articles/{article['id']}"
    assert httpx.get(url).json()["views"]["total"] == 1085

    assert httpx.post(f"{url}/views", headers={"User-Agent": FIREFOX}).status_code == 202
    sent = post_comment(
        gw,
        article["id"],
        "مقال ممتاز، شكراً.",
        email="reader@example.com",
        headers={"User-Agent": FIREFOX},
    )
    assert sent.status_code == 202, sent.text

    wait_for(
        lambda: httpx.get(url).json()["views"]["total"] == 1086, timeout=20, what="the view counted"
    )
    wait_for(
        lambda: [c["name"] for c in httpx.get(url).json()["comments"] or []] == ["قارئ"],
        timeout=20,
        what="the approved comment on the article",
    )

    # Replies and moderators' decisions, on PostgreSQL too.
    parent_id = sent.json()["id"]
    reply = post_comment(
        gw,
        article["id"],
        "رد على التعليق.",
        email="other@example.com",
        headers={"User-Agent": FIREFOX},
    )
    assert reply.status_code == 202
    answer = post_comment(
        gw,
        article["id"],
        "أوافق.",
        name="قارئ آخر",
        email="third@example.com",
        headers={"User-Agent": FIREFOX, "X-Forwarded-For": "198.51.100.3"},
        parent_id=parent_id,
    )
    assert answer.status_code == 202, answer.text
    wait_for(
        lambda: parent_id in [c.get("parent_id") for c in httpx.get(url).json()["comments"] or []],
        timeout=20,
        what="the reply under its parent",
    )
    auth = {"Authorization": f"Bearer {platform.moderator_token}"}
    removed = httpx.post(
        f"{gw}/api/v1/moderation/comments/{reply.json()['id']}/remove",
        json={"reason": "خارج الموضوع"},
        headers=auth,
    )
    assert removed.status_code == 200
    listed = httpx.get(
        f"{gw}/api/v1/moderation/comments",
        params={"status": "removed", "reason": "moderator_remove"},
        headers=auth,
    ).json()["items"]
    assert [(c["id"], c["note"]) for c in listed] == [(reply.json()["id"], "خارج الموضوع")]

    with psycopg.connect(shared_database) as conn:
        tables = {
            r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname='public'")
        }
        versions = {
            service: conn.execute(f"SELECT version_num FROM alembic_version_{service}").fetchone()
            for service in ("ingest", "views", "comments")
        }
        counted = conn.execute("SELECT counted, legacy_views FROM article_views").fetchall()
    assert {
        "articles",
        "outbox",
        "article_views",
        "applied_batches",
        "comments",
        "comment_outbox",
    } <= tables
    assert all(v is not None for v in versions.values())
    assert counted == [(1, 1085)]
    assert not list(platform.data_dir.glob("*.db"))  # nothing fell back to SQLite
