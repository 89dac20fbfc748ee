"""Front cache benchmark: readers' URLs through nginx (deploy/nginx/newsroom.conf.template)
against the gateway alone, in one run; then views sent through the cached page, counted.

    .venv/bin/python -m bench.front_cache_bench [--seconds 6] [--rounds 3] [--beacons 2000]

Needs Debian's nginx and wrk (apt-get install nginx wrk). One gateway process and one nginx
worker; ingest, views, comments and search behind them, the seed article and ``--articles``
generated ones loaded, tracing as by default (10% sampled). Each figure is the median of
``--rounds`` pairs (gateway alone, then through the cache). The article page through the
cache still costs the gateway one request per view: each reader's form token (SSI).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx

from bench.gateway_bench import _groups_idle, running_platform
from bench.report import BROWSER, Figure, Load, bench_redis, command_line, require, run_wrk
from bench.views_bench import forget, free_port, wait_until
from newsroom.front_cache import FrontCache


async def read_and_count(front: str, article: dict[str, str], beacons: int) -> int:
    """``beacons`` readers, each loading the page through the cache and sending its view
    beacon, 32 at a time: the beacons answered ``counted: true``."""
    limit = asyncio.Semaphore(32)
    page = f"{front}/articles/{quote(article['slug'])}"

    async def one(client: httpx.AsyncClient, n: int) -> bool:
        headers = {
            "User-Agent": BROWSER,
            "X-Forwarded-For": f"10.{n >> 16}.{n >> 8 & 255}.{n & 255}",
        }
        async with limit:
            (await client.get(page, headers=headers)).raise_for_status()
            answer = await client.post(
                f"{front}/api/v1/articles/{article['id']}/views", headers=headers
            )
        return answer.status_code == 202 and bool(answer.json()["counted"])

    async with httpx.AsyncClient(timeout=60) as client:
        return sum(await asyncio.gather(*(one(client, n + 1) for n in range(beacons))))


def options(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--beacons", type=int, default=2000)
    return parser.parse_args(argv)


def measure(args: argparse.Namespace) -> list[Figure]:
    require("wrk", "nginx")
    redis_url, ns = bench_redis()
    try:
        with running_platform(redis_url, ns, args.articles, {}) as (gateway, article, _, _env):
            front_dir = Path(tempfile.mkdtemp(prefix="front-"))
            front = FrontCache(urlsplit(gateway).netloc, free_port(), front_dir).start()
            try:
                wait_until(lambda: httpx.get(f"{front.url}/healthz").status_code == 200, 10, 0.1)
                paths = {
                    "article page": f"/articles/{quote(article['slug'])}",
                    "article JSON": f"/api/v1/articles/{article['id']}",
                    "front page": "/",
                    "search JSON": f"/api/v1/search?q={quote('أسعار النفط')}",
                    "RSS feed": "/feed.xml",
                }
                measured: dict[str, list[tuple[Load, Load]]] = {name: [] for name in paths}
                for _ in range(args.rounds):
                    for name, path in paths.items():
                        alone = run_wrk(gateway + path, args.seconds, args.connections)
                        # A read page is in the cache already.
                        httpx.get(front.url + path, timeout=60)
                        cached = run_wrk(front.url + path, args.seconds, args.connections)
                        measured[name].append((cached, alone))
                total = f"{gateway}/api/v1/articles/{article['id']}"
                before = httpx.get(total).json()["views"]["total"]
                accepted = asyncio.run(read_and_count(front.url, article, args.beacons))
                wait_until(lambda: _groups_idle(redis_url, ns, "views"), timeout=120, interval=0.2)
                counted = settled(lambda: httpx.get(total).json()["views"]["total"] - before)
            finally:
                front.stop()
                shutil.rmtree(front_dir, ignore_errors=True)
    finally:
        forget(redis_url, ns)
    figures = [
        Figure.of_loads("front cache", f"{name} through nginx", "the gateway alone", pairs)
        for name, pairs in measured.items()
    ]
    lost = accepted - counted
    figures.append(
        Figure(
            "front cache",
            "views counted through cached pages",
            "views",
            "beacons accepted",
            [(counted, accepted)],
            target=1.0,
            note=f"sent {args.beacons}, lost {max(lost, 0)}, counted twice {max(-lost, 0)}",
        )
    )
    return figures


def settled(read: Callable[[], int], quiet: float = 3.0, timeout: float = 60.0) -> int:
    """A count once it has not moved for ``quiet`` seconds (the gateway caches counts)."""
    value, since, deadline = read(), time.monotonic(), time.monotonic() + timeout
    while time.monotonic() - since < quiet and time.monotonic() < deadline:
        time.sleep(0.25)
        if (now := read()) != value:
            value, since = now, time.monotonic()
    return value


if __name__ == "__main__":
    command_line(
        measure,
        options,
        "front cache: {rounds} rounds of {seconds} s, the gateway alone then nginx",
    )
