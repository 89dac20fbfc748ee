"""Past one Redis: what partitioning the ``views`` stream over a Redis Cluster would give.

    .venv/bin/python -m bench.partition_sim [--views 100000]

1. Measures, on a Redis of its own, the Redis CPU one view costs on the whole
   path: the gateway's publish script (rate limit + XADD), and the views service's XREADGROUP, dedupe-window
   script and XACK (the real views service counts them). One Redis shard is one
   core, so ``1 / cost`` is a shard's ceiling in views/s.
2. Simulates how evenly views spread over shards when the stream is split into
   64 logical partitions (hash-tagged keys, so each partition's stream, dedupe
   keys and HyperLogLogs share a slot), for news traffic (Zipf popularity over
   10,000 articles, one breaking story taking a large share), partitioned by
   article or by (article, visitor).
3. Prints the predicted views/s per number of shards: the ceiling times the
   shards, divided by the busiest shard's excess over a fair share.

docs/scaling.md explains the design these figures support.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import redis

from newsroom.embedded_redis import EmbeddedRedis, free_port
from services.gateway.recorder import RATE_LIMITED_XADD
from shared.contracts.events import ViewData, ViewRecorded
from shared.contracts.wire import encode_envelope
from shared.settings import settings_env

PARTITIONS = 64
SLOTS = 16384


def cpu_seconds(client: redis.Redis) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def measure_cost_per_view(views: int) -> dict[str, float]:
    tmp = Path(tempfile.mkdtemp(prefix="newsroom-partition-"))
    server = EmbeddedRedis(tmp / "redis", appendonly=False)
    server.start()
    client = redis.Redis.from_url(server.url)
    ns = "sim"
    articles = [uuid.uuid4() for _ in range(100)]
    entries = [
        encode_envelope(
            ViewRecorded(data=ViewData(article_id=articles[i % 100], visitor_id=uuid.uuid4().hex))
            .model_dump_json()
            .encode(),
            {},
        )
        for i in range(views)
    ]
    try:
        # The gateway's own publish: rate-limit counter + XADD, in one script per view.
        publish = client.register_script(RATE_LIMITED_XADD)
        before = cpu_seconds(client)
        for start in range(0, views, 2000):
            pipe = client.pipeline(transaction=False)
            for i, raw in enumerate(entries[start : start + 2000], start):
                publish(
                    keys=[f"{ns}:rate:views:client-{i % 5000}", f"{ns}:views"],
                    args=[10**9, 60_000, 1_000_000, raw],
                    client=pipe,
                )
            pipe.execute()
        produce = cpu_seconds(client) - before

        port = free_port()
        env = settings_env(
            redis_url=server.url,
            namespace=ns,
            data_dir=tmp / "var",
            views_port=port,
            log_level="WARNING",
        )
        before = cpu_seconds(client)
        proc = subprocess.Popen([sys.executable, "-m", "services.views"], env=env)
        try:
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                try:
                    groups = client.xinfo_groups(f"{ns}:views")
                    last = client.xinfo_stream(f"{ns}:views")["last-generated-id"]
                    done = bool(groups) and groups[0]["last-delivered-id"] == last
                    done = done and int(groups[0]["pending"]) == 0
                except redis.ResponseError:
                    done = False
                if done:
                    break
                time.sleep(0.1)
            consume = cpu_seconds(client) - before
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
    finally:
        client.close()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return {"produce_us": produce / views * 1e6, "consume_us": consume / views * 1e6}


def zipf_articles(
    n_articles: int, views: int, breaking_share: float, rng: random.Random
) -> list[int]:
    """Article index per view: a breaking story takes ``breaking_share``, the rest Zipf(1.0)."""
    weights = [1 / (rank + 1) for rank in range(n_articles)]
    picks = rng.choices(range(1, n_articles), weights=weights[1:], k=views)
    return [0 if rng.random() < breaking_share else a for a in picks]


def partition(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=4).digest()) % PARTITIONS


def busiest_share(views: list[tuple[int, int]], shards: int, by_visitor: bool) -> float:
    """The busiest shard's load over a fair share (1.0 = perfectly even)."""
    # Partition p's hash tag "{views-p}" lands in some slot; Redis Cluster spreads
    # slots evenly, so partitions are spread round-robin over shards here.
    load: Counter[int] = Counter()
    for article, visitor in views:
        key = f"{article}:{visitor}" if by_visitor else str(article)
        load[partition(key) % shards] += 1
    return max(load.values()) / (len(views) / shards)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--views", type=int, default=100_000)
    parser.add_argument("--breaking-share", type=float, default=0.3)
    args = parser.parse_args()

    cost = measure_cost_per_view(args.views)
    per_view_us = cost["produce_us"] + cost["consume_us"]
    ceiling = 1e6 / per_view_us
    print(
        f"Redis CPU per view: produce {cost['produce_us']:.1f} µs + consume "
        f"{cost['consume_us']:.1f} µs = {per_view_us:.1f} µs → one shard ≤ {ceiling:,.0f} views/s"
    )
    rng = random.Random(7)
    sample = 200_000
    articles = zipf_articles(10_000, sample, args.breaking_share, rng)
    views = [(a, rng.getrandbits(48)) for a in articles]
    print(
        f"\nTraffic: 10,000 articles, Zipf popularity, the breaking story "
        f"{args.breaking_share:.0%} of views; {PARTITIONS} logical partitions\n"
    )
    print("shards  by article: skew  views/s    by (article, visitor): skew  views/s")
    for shards in (1, 2, 3, 4, 6, 8, 12, 16):
        a = busiest_share(views, shards, by_visitor=False)
        v = busiest_share(views, shards, by_visitor=True)
        print(
            f"{shards:>6}  {a:>16.2f}  {ceiling * shards / a:>9,.0f}"
            f"  {v:>27.2f}  {ceiling * shards / v:>9,.0f}"
        )


if __name__ == "__main__":
    main()
