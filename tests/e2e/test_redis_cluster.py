"""The platform on a real Redis Cluster (3 masters, 3 replicas, started here): the main
paths — import, page, views, comments, moderation, the event stream, the command line —
with every key under the namespace's hash tag, or one of the views partitions' (spread over
the masters)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import redis

from newsroom.embedded_redis import EmbeddedCluster
from shared.contracts.wire import DATA_FIELD, encode_envelope
from tests.conftest import REPO, SEED
from tests.e2e.platform import Platform, Services, platform_on_cluster
from tests.e2e.public_events import article, comment
from tests.e2e.receiver import Receiver
from tests.e2e.test_webhooks import _env as webhook_env
from tests.e2e.test_webhooks import event_ids, subscribe
from tests.support import free_port, post_comment, wait_for
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

        def approvals() -> int:
            # Decisions are stored first; the outbox relay puts their events on the stream after.
            return [
                json.loads(fields[b"__data__"])["data"]["type"]
                for _id, fields in client.xrange(stream)
            ].count("comment.approved")

        wait_for(lambda: approvals() >= 2, timeout=15, what="both approvals on the stream")
        assert approvals() == 2
        # Every key under a hash tag: the namespace's, or (views) one of its 64 partitions'.
        keys = list(client.scan_iter(match=f"*{namespace}*", target_nodes=client.PRIMARIES))
        tags = {k.decode().partition("}")[0] + "}" for k in keys}
        partition_tags = {t for t in tags if t.startswith(f"{{{namespace}.v")}
        assert keys and tags - partition_tags == {f"{{{namespace}}}"}
        # The views of 20 readers (addresses) went to several partitions, on several masters.
        views_streams = [f"{t}:views" for t in partition_tags if client.exists(f"{t}:views")]
        masters = {client.get_node_from_key(s).name for s in views_streams}
        assert len(views_streams) > 5 and len(masters) == 3, (views_streams, masters)
        # A poison entry goes to its partition's dead-letter stream (XADD and XACK in one
        # transaction, one slot) and the consumer goes on counting.
        views_stream = views_streams[0]
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
    # Another system's consumer, redis-py and json only (examples/), reads it too.
    example = [sys.executable, str(REPO / "examples" / "article_consumer.py"), "--cluster"]
    read = subprocess.run(
        [*example, "--redis", redis_cluster.url, "--namespace", namespace, "--count", "1"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert read.returncode == 0, read.stderr
    assert json.loads(read.stdout.splitlines()[0])["title"] == SEED_TITLE
    dead = platform.cli("dlq", "list", env=on_cluster)
    assert dead.returncode == 0 and "views (64 partitions).dlq\t1" in dead.stdout, dead.stderr
    redriven = platform.cli("dlq", "redrive", "views", env=on_cluster)
    assert redriven.returncode == 0 and "1 re-driven" in redriven.stdout, redriven.stderr
    asyncapi = httpx.get(f"{gw}/asyncapi.json").json()
    assert asyncapi["channels"]["comments"]["address"] == f"{{{namespace}}}:comments"


def _views_keys_per_master(client: redis.RedisCluster, namespace: str) -> dict[str, int]:
    """The views partitions' keys (streams, windows, sketches, caps) on each master."""
    found: dict[str, int] = {}
    for node in client.get_primaries():
        keys = client.scan_iter(match=f"{{{namespace}.v*", count=1000, target_nodes=node)
        found[node.name] = sum(1 for _ in keys)
    return found


def test_views_partitions_spread_over_every_master(
    platform: Platform, redis_cluster: EmbeddedCluster, namespace: str
) -> None:
    gw = platform.gateway
    editor = {"Authorization": f"Bearer {platform.editor_token}"}
    ids = []
    for n in range(10):
        created = httpx.post(
            f"{gw}/api/v1/articles",
            json={
                "title": f"خبر {n}",
                "author": "فريق",
                "body": [{"kind": "paragraph", "text": "نص"}],
            },
            headers=editor,
        )
        assert created.status_code == 201, created.text
        ids.append(created.json()["article"]["id"])
    breaking = ids[0]
    client = redis.RedisCluster.from_url(redis_cluster.url)

    def send(views: int, first_reader: int, article_for: Any) -> None:
        with httpx.Client() as http:
            for n in range(views):
                reader = first_reader + n  # each view from an address of its own
                address = f"10.{reader // 65536 % 256}.{reader // 256 % 256}.{reader % 256}"
                url = f"{gw}/api/v1/articles/{article_for(n)}/views"
                sent = http.post(url, headers={"User-Agent": BROWSER, "X-Forwarded-For": address})
                assert sent.status_code == 202, sent.text

    try:
        # Uniform: readers spread over ten articles.
        send(1500, 0, lambda n: ids[n % 10])
        uniform = _views_keys_per_master(client, namespace)
        share = sum(uniform.values()) / len(uniform)
        assert len(uniform) == 3 and max(uniform.values()) <= 1.5 * share, uniform
        # Skewed: a breaking story takes a third of the views.
        send(1500, 10_000, lambda n: breaking if n % 3 == 0 else ids[n % 10])
        skewed = _views_keys_per_master(client, namespace)
        added = {node: skewed[node] - uniform[node] for node in skewed}
        busiest = max(added.values()) / sum(added.values())
        print(
            f"\nviews partitions' keys per master: uniform {sorted(uniform.values())} "
            f"(busiest {max(uniform.values()) / sum(uniform.values()):.0%}); one story a third "
            f"of the views: busiest master {busiest:.0%} of the new keys"
        )
        assert busiest <= 0.5  # partitioned by (article, reader): a story's views spread
    finally:
        client.close()


def test_webhooks_deliver_the_cluster_streams_events_once_each(
    tmp_path: Path, redis_cluster: EmbeddedCluster, namespace: str
) -> None:
    """Other systems' webhooks on a cluster: the subscription through the gateway, the
    events off the public streams (as their producers write them), each delivered once,
    signed, in each stream's order."""
    services = Services(
        tmp_path / "var",
        redis_cluster.url,
        namespace,
        extra_env={"NEWSROOM_REDIS_CLUSTER": "true", **webhook_env()},
    )
    services.start("webhooks", "gateway")
    receiver = Receiver().start()
    client = redis.RedisCluster.from_url(redis_cluster.url)
    try:
        subscribe(services, receiver, ["article.published", "comment.approved"])
        articles, comments = [article(n) for n in range(4)], [comment(n) for n in range(3)]
        for stream, events in (
            (f"{{{namespace}}}:articles", articles),
            (f"{{{namespace}}}:comments", comments),
        ):
            for event in events:
                client.xadd(
                    stream, {DATA_FIELD: encode_envelope(event.model_dump_json().encode(), {})}
                )
        wanted = event_ids(articles + comments)
        wait_for(lambda: set(receiver.ids()) >= set(wanted), timeout=30, what="every event")
        assert sorted(receiver.ids()) == sorted(wanted)  # once each
        assert [i for i in receiver.ids() if i in event_ids(articles)] == event_ids(articles)
        assert receiver.bad_signatures == 0
    finally:
        client.close()
        receiver.stop()
        services.stop_all()


def test_up_with_no_cluster_at_the_address_starts_one_of_its_own(
    tmp_path: Path, namespace: str
) -> None:
    """``newsroom up --redis-cluster`` on a fresh machine: a local cluster (3 masters, 3
    replicas) under the data directory, the demo article served from it, and every node
    gone when the platform stops."""
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    platform = Platform(tmp_path / "var", nowhere, namespace, ("--redis-cluster",))
    platform.start(timeout=120)
    try:
        printed = "".join(platform.output)
        assert "Starting a local Redis Cluster" in printed
        demo = next(line for line in platform.output if "Demo article:" in line).split()[-1]
        page = httpx.get(demo)
        assert page.status_code == 200 and SEED_TITLE in page.text
        ports = (tmp_path / "var" / "redis-cluster" / "ports").read_text().split()
        assert len(ports) == 6
        node = f"redis://127.0.0.1:{ports[0]}/0"
        client = redis.RedisCluster.from_url(node)
        try:
            flags = [str(node["flags"]) for node in client.cluster_nodes().values()]
            assert sum("master" in f for f in flags) == 3 and sum("slave" in f for f in flags) == 3
            assert client.exists(f"{{{namespace}}}:articles")
        finally:
            client.close()
    finally:
        assert platform.stop() == 0
    for port in ports:  # every node stopped with the platform
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", int(port)), timeout=1)
