"""Failover drill on a real Redis Cluster: views and comments flow through the gateway, the
master that holds the namespace's slot is SIGKILLed mid-traffic, its replica promoted, and
the old master restarted (it comes back as the new master's replica). Every view and
comment answered 202 (each on a replica before: WAIT) must be counted or decided exactly
once."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from shared.contracts.streams import Streams
from tests.drills.conftest import Report
from tests.drills.test_drills import _views_replica
from tests.drills.traffic import DRILL_ENV, Readers, Traffic, count_rows, total_views
from tests.e2e.platform import Platform, Services, platform_on_cluster
from tests.support import ready, wait_for

pytestmark = pytest.mark.drill

LEGACY_VIEWS = 1085  # the seed article's count before Newsroom


@pytest.fixture
def platform(tmp_path: Path, redis_cluster: Any, namespace: str) -> Iterator[Platform]:
    env = {
        **DRILL_ENV,
        "NEWSROOM_CLOSE_AFTER_DAYS": "3650",
        "NEWSROOM_VIEWS_PER_MINUTE": "1000000",
        "NEWSROOM_COMMENTS_PER_MINUTE": "1000000",
    }
    with platform_on_cluster(tmp_path / "var", redis_cluster.url, namespace, env=env) as running:
        yield running


def master_of(redis_cluster: Any, key: str, dead: int | None = None) -> int | None:
    """The port of the master that holds ``key``, asked of a live node (None: no answer)."""
    live = next(p for p in redis_cluster.ports if p != dead)
    try:
        client = redis.RedisCluster(host="127.0.0.1", port=live, socket_timeout=2)
        try:
            return int(client.get_node_from_key(key).port)
        finally:
            client.close()
    except (redis.RedisError, OSError):
        return None


def test_a_master_sigkilled_mid_traffic_loses_no_accepted_write(
    platform: Platform, redis_cluster: Any, namespace: str, report: Report
) -> None:
    gw = platform.gateway
    article = httpx.get(f"{gw}/api/v1/articles").json()["items"][0]
    # The master of the namespace's slot: comments, articles, and a third of the views
    # partitions.
    key = f"{{{namespace}}}:comments.submitted"
    victim = master_of(redis_cluster, key)
    assert victim is not None
    readers = Readers(gw, article["id"])
    with Traffic(readers):
        wait_for(lambda: readers.accepted_views >= 200, timeout=60, what="traffic flowing")
        os.kill(redis_cluster.nodes[victim].pid, signal.SIGKILL)
        killed_at = time.monotonic()
        wait_for(
            lambda: master_of(redis_cluster, key, dead=victim) not in (victim, None),
            timeout=30,
            interval=0.2,
            what="the replica promoted",
        )
        promoted_after = time.monotonic() - killed_at
        # The promoted master has no replica: writes are refused (nothing is acknowledged
        # that one more failure would lose) until the old master is back, as its replica.
        redis_cluster.start_node(victim)
        before = readers.accepted_views
        wait_for(
            lambda: readers.accepted_views >= before + 200,
            timeout=60,
            what="views accepted again after the failover",
        )
    views_port = platform.ports["views"]
    wait_for(
        lambda: total_views(views_port, article["id"]) >= LEGACY_VIEWS + readers.accepted_views,
        timeout=60,
        what="every accepted view counted",
    )
    db = platform.data_dir / "comments.db"
    wait_for(
        lambda: count_rows(db, "SELECT COUNT(*) FROM comments") >= readers.accepted_comments,
        timeout=60,
        what="every accepted comment decided",
    )
    counted = total_views(views_port, article["id"]) - LEGACY_VIEWS
    decided = count_rows(db, "SELECT COUNT(*) FROM comments")
    accepted = readers.accepted_views + readers.accepted_comments
    stored = counted + decided
    note = (
        f"{readers.accepted_views} views and {readers.accepted_comments} comments accepted, "
        f"{readers.refused} refused (503) during the failover; replica promoted in "
        f"{promoted_after:.1f} s"
    )
    print(
        f"\nfailover drill: sent {accepted + readers.refused}, {note}; counted {counted}, "
        f"decided {decided}"
    )
    # A refused request may still have reached the stream before its master died (its
    # writer was told 503 and may send it again): stored beyond accepted is not a loss.
    report(sent=accepted, stored=min(stored, accepted), duplicated=0, note=note)
    assert counted >= readers.accepted_views and decided >= readers.accepted_comments
    assert stored - accepted <= readers.refused


def test_a_views_replica_sigkilled_on_a_cluster_its_partitions_taken_over_totals_exact(
    tmp_path: Path, redis_cluster: Any, namespace: str, report: Report
) -> None:
    """Views flow through the gateway into the 64 partitions; three views replicas share
    them (a group on each: every replica reads each one); one is SIGKILLed mid-traffic,
    and the others claim what it held pending in every partition it was working on, with
    no operator. Every view answered 202 is counted once."""
    services = Services(
        tmp_path / "var",
        redis_cluster.url,
        namespace,
        extra_env={
            **DRILL_ENV,
            "NEWSROOM_REDIS_CLUSTER": "true",
            "NEWSROOM_VIEWS_PER_MINUTE": "1000000",
        },
    )
    streams = Streams(namespace, cluster=True, partitions=64)
    client = redis.RedisCluster.from_url(redis_cluster.url)
    replicas = [_views_replica(services, n) for n in range(3)]
    try:
        services.start("ingest", "gateway")
        article = services.import_seed()
        wait_for(
            lambda: all(ready(f"http://127.0.0.1:{port}") for _proc, port in replicas),
            timeout=60,
            what="replicas ready",
        )
        port = replicas[1][1]
        readers = Readers(services.gateway, article["id"])
        with Traffic(readers, comments=False):
            wait_for(lambda: readers.accepted_views >= 600, timeout=60, what="views flowing")
            wait_for(
                lambda: total_views(port, article["id"]) > LEGACY_VIEWS,
                timeout=30,
                what="counting started",
            )
            victim = "views-replica-0"

            def held() -> dict[str, int]:
                return {
                    key: n
                    for key in streams.physical("views")
                    for c in client.xinfo_consumers(key, "views")
                    if c["name"].decode() == victim and (n := int(c["pending"]))
                }

            # Stopped, it keeps what Redis hands the reads it had blocked (pending on it,
            # never applied); its reads block briefly, so it is stopped again until some
            # were handed entries. Killed then, it leaves them for the others to claim.
            victim_process = replicas[0][0]

            def stopped_holding() -> dict[str, int]:
                victim_process.send_signal(signal.SIGSTOP)
                found = held()
                if not found:
                    victim_process.send_signal(signal.SIGCONT)
                return found

            pending = wait_for(stopped_holding, timeout=30, interval=0.3, what="entries held")
            victim_process.send_signal(signal.SIGKILL)
            replicas[0][0].wait()
            before = readers.accepted_views
            wait_for(
                lambda: readers.accepted_views >= before + 600,
                timeout=60,
                what="views accepted after the kill",
            )
        accepted = readers.accepted_views
        wait_for(
            lambda: total_views(port, article["id"]) >= LEGACY_VIEWS + accepted,
            timeout=120,
            what="every accepted view counted",
        )
        wait_for(
            lambda: all(
                client.xpending(key, "views")["pending"] == 0 for key in streams.physical("views")
            ),
            timeout=60,
            what="nothing left pending in any partition",
        )
        counted = total_views(port, article["id"]) - LEGACY_VIEWS
        used = sum(1 for key in streams.physical("views") if client.xlen(key))
        note = (
            f"{accepted} views accepted over {used} partitions; the killed replica held "
            f"{sum(pending.values())} pending in {len(pending)} of them"
        )
        print(
            f"\nviews replica drill on a cluster: sent {accepted + readers.refused}, "
            f"accepted {accepted}, counted {counted}; {note}"
        )
        report(
            sent=accepted,
            stored=min(counted, accepted),
            duplicated=max(counted - accepted, 0),
            note=note,
        )
        assert counted == accepted
    finally:
        for proc, _port in replicas:
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
                proc.send_signal(signal.SIGTERM)
                proc.wait(30)
        services.stop_all()
        client.close()
