"""The platform on a real Redis Cluster (3 masters, 3 replicas, started here): the main
paths — import, page, views, comments, moderation, the event stream, the command line —
with every key under the namespace's hash tag."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import redis

from newsroom.embedded_redis import EmbeddedCluster
from tests.conftest import SEED
from tests.e2e.platform import Platform, platform_on_cluster
from tests.support import post_comment, wait_for
from tests.unit.test_page_parsers import SEED_TITLE

pytestmark = pytest.mark.e2e

BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


@pytest.fixture
def platform(tmp_path: Path, redis_cluster: EmbeddedCluster, namespace: str) -> Iterator[Platform]:
    env = {
        "NEWSROOM_MODERATION_WORDS": '["مراهنة"]',
        "NEWSROOM_CLOSE_AFTER_DAYS": "3650",  # the seed article is from 2025
        "NEWSROOM_MIN_SUBMIT_SECONDS": "0",  # the form is sent at once
    }
    with platform_on_cluster(
        tmp_path / "var", redis_cluster.url, namespace, "--no-demo", env=env
    ) as running:
        yield running


def test_the_main_paths_on_a_redis_cluster(
    platform: Platform, redis_cluster: EmbeddedCluster, namespace: str
) -> None:
    gw = platform.gateway
    assert "Redis Cluster" in "".join(platform.output)

    # An editor imports the seed page; readers get the article and its page.
    imported = platform.cli("import", str(SEED), "--gateway", gw)
    assert imported.returncode == 0 and "1 created" in imported.stdout, imported.stderr
    article = httpx.get(f"{gw}/api/v1/articles").json()["items"][0]
    assert article["title"] == SEED_TITLE
    page = httpx.get(f"{gw}/articles/{quote(article['slug'])}")
    assert page.status_code == 200 and SEED_TITLE in page.text
    wait_for(
        lambda: httpx.get(f"{gw}/api/v1/search", params={"q": "موسكو"}).json()["total"] == 1,
        timeout=15,
        what="the article in search",
    )

    # Views from 20 readers, one of them twice: 20 counted over the legacy 1085.
    url = f"{gw}/api/v1/articles/{article['id']}/views"
    for n in [*range(20), 0]:
        sent = httpx.post(url, headers={"User-Agent": BROWSER, "X-Forwarded-For": f"10.1.0.{n}"})
        assert sent.status_code == 202, sent.text

    def views() -> dict[str, Any]:
        found: dict[str, Any] = httpx.get(f"{gw}/api/v1/articles/{article['id']}").json()["views"]
        return found

    wait_for(lambda: views()["total"] == 1085 + 20, timeout=15, what="20 views counted")
    assert views()["unique_today"] == 20

    # A reader's comment is approved; one with a moderation word waits for a moderator.
    def reader(n: int) -> dict[str, str]:
        return {"User-Agent": BROWSER, "X-Forwarded-For": f"10.2.0.{n}"}

    approved = post_comment(gw, article["id"], "تعليق من قارئ", name="سارة", headers=reader(1))
    held = post_comment(
        gw, article["id"], "زوروا موقع مراهنة", email="other@example.com", headers=reader(2)
    )
    assert approved.status_code == held.status_code == 202

    def status(answer: httpx.Response) -> str:
        found: str = httpx.get(f"{gw}/api/v1/comments/{answer.json()['id']}").json()["status"]
        return found

    wait_for(lambda: status(approved) == "approved", timeout=15, what="the approved comment")
    wait_for(lambda: status(held) == "held", timeout=15, what="the held comment")
    moderator = {"Authorization": f"Bearer {platform.moderator_token}"}
    queue = f"{gw}/api/v1/moderation/comments"
    assert held.json()["id"] in [
        c["id"] for c in httpx.get(queue, headers=moderator).json()["items"]
    ]
    decided = httpx.post(f"{queue}/{held.json()['id']}/approve", headers=moderator)
    assert decided.status_code == 200 and decided.json()["status"] == "approved"
    wait_for(
        lambda: len(httpx.get(f"{gw}/api/v1/articles/{article['id']}").json()["comments"]) == 2,
        timeout=15,
        what="both comments on the article",
    )

    # Other systems read the public streams with a plain cluster client and a JSON parser.
    client = redis.RedisCluster.from_url(redis_cluster.url)
    try:
        stream = f"{{{namespace}}}:comments"
        events = [
            json.loads(fields[b"__data__"])["data"]["type"] for _id, fields in client.xrange(stream)
        ]
        assert events.count("comment.approved") == 2
        keys = list(client.scan_iter(match=f"*{namespace}*", target_nodes=client.PRIMARIES))
        assert keys and all(k.startswith(f"{{{namespace}}}:".encode()) for k in keys)
        # A poison entry goes to its dead-letter stream (XADD and XACK in one transaction,
        # one slot) and the consumer goes on counting.
        views_stream = f"{{{namespace}}}:views"
        client.xadd(views_stream, {"__data__": b"not json"})
        wait_for(lambda: client.xlen(f"{views_stream}.dlq") == 1, timeout=15, what="a dead letter")
        assert httpx.post(url, headers=reader(30)).status_code == 202
        wait_for(lambda: views()["total"] == 1085 + 21, timeout=15, what="the next view counted")
    finally:
        client.close()
    # The command line, not told the Redis is a cluster, says so; told, it works.
    untold = platform.cli("dlq", "list")
    assert untold.returncode == 2 and "NEWSROOM_REDIS_CLUSTER=true" in untold.stdout
    on_cluster = {**platform.env, "NEWSROOM_REDIS_CLUSTER": "true"}
    tail = platform.cli("tail", "articles", "--from-start", "--count", "1", env=on_cluster)
    assert tail.returncode == 0 and "article.published" in tail.stdout, tail.stderr
    dead = platform.cli("dlq", "list", env=on_cluster)
    assert dead.returncode == 0 and f"{{{namespace}}}:views.dlq\t1" in dead.stdout, dead.stderr
    redriven = platform.cli("dlq", "redrive", "views", env=on_cluster)
    assert redriven.returncode == 0 and "1 re-driven" in redriven.stdout, redriven.stderr
    asyncapi = httpx.get(f"{gw}/asyncapi.json").json()
    assert asyncapi["channels"]["comments"]["address"] == f"{{{namespace}}}:comments"
