"""Gateway benchmark: article JSON and page, the front page and search vs a bare FastAPI
"hello"; POST /views vs a bare endpoint making one Redis call; all in one run, with tracing
on (10% sampling) and off.

    .venv/bin/python -m bench.gateway_bench [--seconds 8] [--connections 64] [--tracing both]

Same uvicorn settings for all (uvloop, httptools, one worker, no access log),
driven by wrk on this machine; each figure is the median of ``--rounds`` pairs of runs,
the floor just before the gateway (``--pin``: the server measured on a core of its own,
wrk and the other services on the rest). The gateway runs with ingest, views and
comments and search behind it; the seed article and 1,000 generated Arabic
articles are loaded (search runs over all of them). Prints requests/s, p99 and
the ratios (targets: 0.9 for the article reads, 0.3 for search, 0.8 for POST
/views, whose counting side is in bench/views_bench.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote

import httpx
import redis

from bench.report import Figure, Load, bench_redis, command_line, require, run_wrk, tracing_env
from bench.views_bench import PY, _ok, forget, free_port, start_bare_api, wait_until
from shared.settings import settings_env

SEED = Path(__file__).resolve().parent.parent / "newsroom" / "demo" / "article-page.txt"


WORDS = (
    "الحكومة وزير الاقتصاد الأسواق النفط المياه الزراعة التعليم الصحة الطاقة المدينة "
    "الانتخابات البرلمان الرئيس المؤتمر الأمم الشرق الغرب التجارة الاستثمار الأسعار "
    "الموسم الحصاد المطر الجامعة الطلاب المستشفى الأطباء الكهرباء الطرق النقل"
).split()


async def load_articles(gateway: str, n: int) -> None:
    """``n`` articles of generated Arabic text, eight imports at a time."""
    rng = random.Random(7)
    limit = asyncio.Semaphore(8)

    async def one(client: httpx.AsyncClient, i: int) -> None:
        body = "\n\n".join(" ".join(rng.choices(WORDS, k=40)) for _ in range(6))
        async with limit:
            response = await client.post(
                f"{gateway}/api/v1/articles",
                json={"title": f"{' '.join(rng.choices(WORDS, k=6))} {i}", "body": body},
                headers={"Authorization": "Bearer bench"},
            )
        response.raise_for_status()

    async with httpx.AsyncClient(timeout=60) as client:
        await asyncio.gather(*(one(client, i) for i in range(n)))


def _groups_idle(redis_url: str, ns: str, stream: str = "articles") -> bool:
    """No consumer group of ``stream`` has entries left to read or to ack."""
    client = redis.Redis.from_url(redis_url)
    try:
        groups = client.xinfo_groups(f"{ns}:{stream}")
        return all(g["pending"] == 0 and (g.get("lag") or 0) == 0 for g in groups)
    finally:
        client.close()


#: Cores for the servers measured (the floor and the gateway, one at a time) and for the
#: rest (wrk, the other services, this script): apart, so neither steals the other's core.
CORES = sorted(os.sched_getaffinity(0))
SERVER_CORES = set(CORES[-1:])
LOAD_CORES = set(CORES[:-1]) or SERVER_CORES


def pin(pid: int, cores: set[int]) -> None:
    with contextlib.suppress(OSError):
        os.sched_setaffinity(pid, cores)


#: The gateway's default: one worker per core (the floor stays one process).
WORKERS = len(CORES)

TARGETS: dict[str, float | None] = {
    "article JSON": 0.9,
    "article page": 0.9,
    "front page": 0.5,
    "search JSON": 0.3,
    "POST /views": 0.8,
    f"article JSON, {WORKERS} workers": None,
    f"article page, {WORKERS} workers": None,
}


class Running(NamedTuple):
    #: The gateway of one process, the seed article, and a gateway of one worker per core
    #: (``all_workers``) beside it, or None; the environment the services were given.
    gateway: str
    article: dict[str, Any]
    all_workers: str | None
    env: dict[str, str]


@contextlib.contextmanager
def running_platform(
    redis_url: str,
    ns: str,
    articles: int,
    env_extra: dict[str, str],
    pin_gateway: bool = False,
    all_workers: bool = False,
) -> Iterator[Running]:
    """Ingest, views, comments, search and one gateway process, the seed article and
    ``articles`` generated ones loaded, every consumer idle."""
    ports = {s: free_port() for s in ("ingest", "views", "comments", "search", "gateway")}
    data_dir = tempfile.mkdtemp(prefix="gateway-bench-")
    env = (
        settings_env(
            gateway_workers=1,
            namespace=ns,
            redis_url=redis_url,
            data_dir=data_dir,
            log_level="WARNING",
            editor_token="bench",
            views_per_minute=1_000_000_000,
            **{f"{s}_port": p for s, p in ports.items()},
        )
        | env_extra
    )
    procs = {s: subprocess.Popen([PY, "-m", f"services.{s}"], env=env) for s in ports}
    if pin_gateway:
        pin(procs["gateway"].pid, SERVER_CORES)
    gateway = f"http://127.0.0.1:{ports['gateway']}"
    if all_workers:
        ports["all workers"] = free_port()
        procs["all workers"] = subprocess.Popen(
            [PY, "-m", "services.gateway"],
            env={
                **env,
                "NEWSROOM_GATEWAY_WORKERS": "0",
                "NEWSROOM_GATEWAY_PORT": str(ports["all workers"]),
            },
            # Every core, whatever this script's own affinity: one worker on each.
            preexec_fn=lambda: pin(0, set(CORES)),
        )
    try:
        for p in ports.values():
            wait_until(lambda p=p: _ok(f"http://127.0.0.1:{p}/healthz"), timeout=60, interval=0.1)
        article = httpx.post(
            f"{gateway}/api/v1/articles/import",
            content=SEED.read_bytes(),
            headers={"Authorization": "Bearer bench", "Content-Type": "text/plain"},
        ).json()["article"]
        asyncio.run(load_articles(gateway, articles))
        # Every article indexed (and the other groups done) before measuring: no background
        # work in the run.
        wait_until(
            lambda: (
                httpx.get(f"{gateway}/api/v1/search", params={"q": "الحكومة"}).json()["total"]
                >= articles * 0.99
            ),
            timeout=300,
            interval=0.5,
        )
        wait_until(lambda: _groups_idle(redis_url, ns), timeout=120, interval=0.5)
        others = f"http://127.0.0.1:{ports['all workers']}" if all_workers else None
        yield Running(gateway, article, others, env)
    finally:
        for proc in procs.values():
            proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            proc.wait(60)
        shutil.rmtree(data_dir, ignore_errors=True)


def run(args: argparse.Namespace, redis_url: str, ns: str, tracing: bool) -> list[Figure]:
    extra = tracing_env("on" if tracing else "off")
    if args.pin:
        pin(0, LOAD_CORES)  # wrk and the other services inherit it
    bare_port = free_port()
    bare = start_bare_api(bare_port, redis_url, ns)
    if args.pin:
        pin(bare.pid, SERVER_CORES)
    floor = f"http://127.0.0.1:{bare_port}"
    rounds: list[dict[str, tuple[Load, Load]]] = []
    try:
        wait_until(lambda: _ok(f"{floor}/hello"), timeout=30, interval=0.1)
        with running_platform(redis_url, ns, args.articles, extra, args.pin, all_workers=True) as (
            gateway,
            article,
            all_workers,
            _env,
        ):
            reads = {
                "article JSON": f"{gateway}/api/v1/articles/{article['id']}",
                "article page": f"{gateway}/articles/{quote(article['slug'])}",
                "front page": f"{gateway}/",
                "search JSON": f"{gateway}/api/v1/search?q={quote('أسعار النفط')}",
                f"article JSON, {WORKERS} workers": f"{all_workers}/api/v1/articles/{article['id']}",
                f"article page, {WORKERS} workers": f"{all_workers}/articles/{quote(article['slug'])}",
            }
            seconds, connections = args.seconds, args.connections
            # Rounds of floor-then-gateway pairs: this machine's speed drifts by a third
            # between minutes, so each ratio compares runs seconds apart.
            for _ in range(args.rounds):
                measured = {}
                for name, url in reads.items():
                    hello = run_wrk(f"{floor}/hello", seconds, connections)
                    measured[name] = (run_wrk(url, seconds, connections), hello)
                bare_views = run_wrk(f"{floor}/bare/x/views", seconds, connections, post=True)
                views = run_wrk(
                    f"{gateway}/api/v1/articles/{article['id']}/views",
                    seconds,
                    connections,
                    post=True,
                )
                measured["POST /views"] = (views, bare_views)
                rounds.append(measured)
    finally:
        bare.send_signal(signal.SIGTERM)
        bare.wait(60)

    label = "on" if tracing else "off"
    return [
        Figure.of_loads(
            "gateway",
            f"{name}, tracing {label}",
            "bare FastAPI + 1 Redis call" if name == "POST /views" else 'bare FastAPI "hello"',
            [r[name] for r in rounds],
            target,
        )
        for name, target in TARGETS.items()
    ]


def options(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--tracing", choices=["on", "off", "both"], default="both")
    parser.add_argument("--articles", type=int, default=1000, help="articles to search over")
    parser.add_argument("--rounds", type=int, default=3, help="floor/gateway pairs per figure")
    parser.add_argument(
        "--pin",
        action="store_true",
        help="the measured server on a core of its own, the rest apart",
    )
    return parser.parse_args(argv)


def measure(args: argparse.Namespace) -> list[Figure]:
    require("wrk")
    redis_url, ns = bench_redis()
    figures: list[Figure] = []
    try:
        for tracing in {"on": [True], "off": [False], "both": [True, False]}[args.tracing]:
            figures += run(args, redis_url, ns, tracing)
    finally:
        forget(redis_url, ns)
    return figures


if __name__ == "__main__":
    command_line(measure, options, "{rounds} rounds of {seconds} s, floor then gateway each")
