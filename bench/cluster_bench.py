"""Past one Redis, measured: views on one Redis and on a 3-master Redis Cluster.

    .venv/bin/python -m bench.cluster_bench [--views 60000] [--seconds 8]

Starts its own Redis and its own Redis Cluster (3 masters, 3 replicas, loopback ports),
then, on each:

1. Counting: N views published as the gateway does (each reader's address picks one of
   the 64 partitions on the cluster), timed until the views service has counted them
   all; Redis CPU per view on each master, from ``INFO cpu`` before and after (the XADDs
   and the views service's reads, window scripts and acks).
2. Recording: ``POST /api/v1/articles/{id}/views`` on the gateway under wrk, from a
   different address each request (so the views spread over the partitions), with
   ``WAIT`` off and on (one replica, 250 ms) on the cluster; Redis CPU per view per master.

On this machine every process shares two cores: the figures say what the code costs and
how it spreads, not what a cluster of machines carries (docs/scaling.md extrapolates).
Needs ``redis-server`` and wrk on PATH.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import redis

from bench.report import Figure, Load, command_line, require, run_wrk
from bench.views_bench import (
    PY,
    _counted,
    _ok,
    free_port,
    payloads,
    recording_gateway,
    wait_until,
)
from newsroom.embedded_redis import EmbeddedCluster, EmbeddedRedis
from shared.contracts.streams import Streams
from shared.contracts.wire import DATA_FIELD
from shared.settings import settings_env

# Each request from another address (the gateway trusts the loopback's X-Forwarded-For).
SPREAD_ADDRESSES = """
local n = 0
request = function()
  n = n + 1
  local a, b = math.floor(n / 65536) % 256, math.floor(n / 256) % 256
  wrk.headers["X-Forwarded-For"] = string.format("10.%d.%d.%d", a, b, n % 256)
  return wrk.format(nil)
end
"""


@dataclass
class Target:
    name: str
    url: str
    cluster: bool

    def client(self) -> redis.Redis | redis.RedisCluster:
        if self.cluster:
            return redis.RedisCluster.from_url(self.url)
        return redis.Redis.from_url(self.url)

    def masters(self) -> list[redis.Redis]:
        if not self.cluster:
            return [redis.Redis.from_url(self.url)]
        cluster = redis.RedisCluster.from_url(self.url)
        try:
            return [redis.Redis(host=n.host, port=n.port) for n in cluster.get_primaries()]
        finally:
            cluster.close()


def cpu_seconds(masters: list[redis.Redis]) -> list[float]:
    found = []
    for master in masters:
        info = master.info("cpu")
        found.append(float(info["used_cpu_sys"]) + float(info["used_cpu_user"]))
    return found


def per_view_us(before: list[float], after: list[float], views: int) -> list[float]:
    return [(a - b) / views * 1e6 for b, a in zip(before, after, strict=True)]


def count_views(target: Target, views: int, batch: int) -> tuple[float, list[float]]:
    """Views counted per second, and Redis CPU µs per view on each master."""
    ns = f"bench-{uuid.uuid4().hex[:8]}"
    streams = Streams(ns, cluster=target.cluster, partitions=64 if target.cluster else 1)
    articles = [uuid.uuid4() for _ in range(50)]
    entries = payloads(views, articles)
    data_dir = Path(tempfile.mkdtemp(prefix="cluster-bench-"))
    port = free_port()
    env = settings_env(
        namespace=ns,
        redis_url=target.url,
        redis_cluster=target.cluster,
        data_dir=data_dir,
        views_port=port,
        batch_size=batch,
        log_level="WARNING",
    )
    proc = subprocess.Popen([PY, "-m", "services.views"], env=env)
    client = target.client()
    masters = target.masters()
    try:
        wait_until(lambda: _ok(f"http://127.0.0.1:{port}/readyz"), timeout=60, interval=0.1)
        before = cpu_seconds(masters)
        t0 = time.perf_counter()
        for start in range(0, len(entries), 2000):
            pipe = client.pipeline(transaction=False)
            for i, raw in enumerate(entries[start : start + 2000], start):
                reader = f"10.0.{i // 250}.{i % 250}"
                partition = streams.partition_of(str(articles[i % len(articles)]), reader)
                stream = streams.in_partition(partition, "views")
                pipe.xadd(stream, {DATA_FIELD: raw})
            pipe.execute()
        db = data_dir / "views.db"
        wait_until(lambda: _counted(db) >= views, timeout=600)
        rate = views / (time.perf_counter() - t0)
        assert _counted(db) == views, "counted more than sent"
        return rate, per_view_us(before, cpu_seconds(masters), views)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        client.close()
        shutil.rmtree(data_dir, ignore_errors=True)


def record_views(
    target: Target, wait_replicas: int, seconds: int, connections: int
) -> tuple[Load, list[float]]:
    cluster = {
        "NEWSROOM_REDIS_CLUSTER": "true" if target.cluster else "false",
        "NEWSROOM_REDIS_WAIT_REPLICAS": str(wait_replicas),
        "NEWSROOM_FORWARDED_ALLOW_IPS": "127.0.0.1",  # wrk names each request's address
    }
    ns = f"bench-{uuid.uuid4().hex[:8]}"
    with recording_gateway(target.url, ns, cluster) as url:
        masters = target.masters()
        before = cpu_seconds(masters)
        load = run_wrk(url, seconds, connections, post=True, lua=SPREAD_ADDRESSES)
        after = cpu_seconds(masters)
    return load, per_view_us(before, after, max(int(load.rps * seconds), 1))


def options(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Views on one Redis and on a Redis Cluster")
    parser.add_argument("--views", type=int, default=60_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=64)
    return parser.parse_args(argv)


def _shards(us: list[float]) -> str:
    return " / ".join(f"{u:.1f}" for u in us) + " µs"


def measure(args: argparse.Namespace) -> list[Figure]:
    require("wrk")
    work = Path(tempfile.mkdtemp(prefix="cluster-bench-redis-"))
    single = EmbeddedRedis(work / "one", free_port(), appendonly=False)
    cluster = EmbeddedCluster(work / "cluster", appendonly=False)
    single.start()
    cluster.start()
    one, three = Target("one Redis", single.url, False), Target("cluster", cluster.url, True)
    try:
        one_rate, one_cpu = count_views(one, args.views, args.batch)
        cl_rate, cl_cpu = count_views(three, args.views, args.batch)
        print(f"counted: one Redis {one_rate:,.0f} views/s, Redis CPU {_shards(one_cpu)} per view")
        print(f"counted: cluster {cl_rate:,.0f} views/s, per master {_shards(cl_cpu)} per view")
        loads = {
            "one Redis": record_views(one, 0, args.seconds, args.connections),
            "cluster, WAIT off": record_views(three, 0, args.seconds, args.connections),
            "cluster, WAIT on": record_views(three, 1, args.seconds, args.connections),
        }
        for name, (load, us) in loads.items():
            print(
                f"POST /views, {name}: {load.rps:,.0f} req/s (p50 {load.p50_ms:.1f} ms, "
                f"p99 {load.p99_ms:.1f} ms), Redis CPU per view {_shards(us)}"
            )
    finally:
        cluster.stop()
        single.stop()
        shutil.rmtree(work, ignore_errors=True)
    off, on = loads["cluster, WAIT off"][0], loads["cluster, WAIT on"][0]
    return [
        Figure(
            "cluster",
            "views counted, 3-master cluster",
            "views/s",
            "the same on one Redis",
            [(cl_rate, one_rate)],
            note=f"Redis CPU per view per master {_shards(cl_cpu)} (one Redis: "
            f"{_shards(one_cpu)}); {args.views:,} views, 64 partitions",
        ),
        Figure.of_loads(
            "cluster",
            "POST /views on the cluster, WAIT 1",
            "the same, WAIT off",
            [(on, off)],
        ),
        Figure.of_loads(
            "cluster",
            "POST /views on the cluster, WAIT off",
            "the same on one Redis",
            [(off, loads["one Redis"][0])],
        ),
    ]


if __name__ == "__main__":
    command_line(measure, options)
