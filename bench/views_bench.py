"""Views benchmark: counting rate and POST /views rate, each against a floor of the same run.

    .venv/bin/python -m bench.views_bench [--views 100000] [--repeat 3] [--http-seconds 10]

1. Counting: publishes N ``view.recorded`` entries (50 articles, distinct
   visitors) and times until the views service has counted all of them
   (exactly-once machinery on, SQLite embedded default); the floor is a bare
   FastStream batch consumer that only acks, on the same stream shape. Both
   while the entries are published (``--feed live``) and draining them once
   published (``--feed backlog``: the consumer alone); ``both`` by default.
2. Recording: ``POST /api/v1/articles/{id}/views`` on the gateway (from
   ``newsroom up``) against a bare FastAPI endpoint making one Redis call,
   same uvicorn settings, driven by wrk.

Prints both ratios. Needs Redis at NEWSROOM_REDIS_URL and wrk on PATH.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import redis

from bench.report import Figure, Load, bench_redis, command_line, require, run_wrk, tracing_env
from services.views.settings import ViewsSettings
from shared.contracts.events import ViewData, ViewRecorded
from shared.contracts.wire import DATA_FIELD, encode_envelope
from shared.settings import settings_env

PY = sys.executable


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check, timeout: float = 60.0, interval: float = 0.01):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(interval)
    raise TimeoutError("benchmark condition not reached")


def payloads(n: int, articles: list[uuid.UUID]) -> list[bytes]:
    """``n`` views as the gateway writes them: the same headers, one in ten traced."""
    entries = []
    for i in range(n):
        event = ViewRecorded(
            data=ViewData(
                article_id=articles[i % len(articles)], visitor_id=f"bench-visitor-{i:08d}"
            )
        )
        flags = "01" if i % 10 == 0 else "00"
        headers = {
            "event_type": event.type,
            "event_id": str(event.event_id),
            "correlation_id": str(event.event_id),
            "content-type": "application/json",
            "traceparent": f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-{flags}",
        }
        entries.append(encode_envelope(event.model_dump_json().encode(), headers))
    return entries


def publish(
    client: redis.Redis, stream: str, entries: list[bytes], maxlen: int | None = None
) -> None:
    """XADD ``entries`` in pipelined chunks (capped at ``maxlen`` when given)."""
    for start in range(0, len(entries), 2000):
        pipe = client.pipeline(transaction=False)
        for raw in entries[start : start + 2000]:
            pipe.xadd(stream, {DATA_FIELD: raw}, maxlen=maxlen, approximate=True)
        pipe.execute()


def forget(redis_url: str, prefix: str) -> None:
    """Delete every key under ``prefix`` (a run's streams, dedupe window, uniques)."""
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{prefix}*", count=10_000))
    for start in range(0, len(keys), 10_000):
        client.delete(*keys[start : start + 10_000])
    client.close()


def floor_rate(
    redis_url: str, ns: str, entries: list[bytes], batch: int, backlog: bool = False
) -> float:
    """The bare consumer's rate: while ``entries`` are published, or (``backlog``)
    draining them once published (see :func:`drain_rate`)."""
    stream = f"{ns}:floor"
    client = redis.Redis.from_url(redis_url)
    if backlog:
        publish(client, stream, entries)
        client.xgroup_create(stream, "floor", id="0")  # FastStream's own would start at "$"
    proc = subprocess.Popen(
        [
            PY,
            "-m",
            "bench.floor_consumer",
            "--redis",
            redis_url,
            "--stream",
            stream,
            "--expect",
            str(len(entries)),
            "--batch",
            str(batch),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        stdout = proc.stdout
        assert stdout is not None and stdout.readline().strip() == "ready"

        def finished() -> None:
            assert stdout.readline().strip() == "done"

        if backlog:
            return drain_rate(client, stream, len(entries), finished)
        t0 = time.perf_counter()
        publish(client, stream, entries)
        finished()
        return len(entries) / (time.perf_counter() - t0)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        client.close()
        forget(redis_url, f"{ns}:")


def drain_rate(client: redis.Redis, stream: str, total: int, done: Callable[[], None]) -> float:
    """Entries a second from the consumer's first read of a full stream until ``done()``:
    the consumer alone, as when it catches up after an outage. Counted while published,
    the bench's publisher is a third busy process on the machine's cores beside Redis and
    the consumer, and the figure is the machine's as much as the consumer's
    (docs/benchmarks.md)."""

    def first_read() -> int:
        groups = client.xinfo_groups(stream)
        return max((int(g.get("entries-read") or 0) for g in groups), default=0)

    started = wait_until(first_read, timeout=60, interval=0.001)
    t0 = time.perf_counter()
    done()
    return (total - started) / (time.perf_counter() - t0)


def views_rate(
    redis_url: str,
    ns: str,
    entries: list[bytes],
    batch: int,
    env_extra: dict[str, str],
    module: str = "services.views",
    backlog: bool = False,
) -> float:
    data_dir = Path(tempfile.mkdtemp(prefix="views-bench-"))
    port = free_port()
    env = (
        settings_env(
            namespace=ns,
            redis_url=redis_url,
            data_dir=data_dir,
            views_port=port,
            batch_size=batch,
            log_level="WARNING",
        )
        | env_extra
    )
    client = redis.Redis.from_url(redis_url)
    stream, db = f"{ns}:views", data_dir / "views.db"

    def counted_all() -> None:
        wait_until(lambda: _counted(db) >= len(entries), timeout=600)

    if backlog:
        publish(client, stream, entries)
    proc = subprocess.Popen([PY, "-m", module], env=env)
    try:
        if backlog:
            rate = drain_rate(client, stream, len(entries), counted_all)
        else:
            wait_until(lambda: _ok(f"http://127.0.0.1:{port}/readyz"), timeout=60, interval=0.1)
            t0 = time.perf_counter()
            publish(client, stream, entries)
            counted_all()
            rate = len(entries) / (time.perf_counter() - t0)
        assert _counted(db) == len(entries), "counted more than sent"
        return rate
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        client.close()
        shutil.rmtree(data_dir, ignore_errors=True)
        forget(redis_url, f"{ns}:")  # the next run starts from the same Redis, not a fuller one


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _counted(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return int(
                conn.execute("SELECT COALESCE(SUM(counted), 0) FROM article_views").fetchone()[0]
            )
    except sqlite3.Error:
        return 0


def start_bare_api(port: int, redis_url: str, ns: str) -> subprocess.Popen[bytes]:
    """The HTTP floor (bench/bare_api.py) under the gateway's uvicorn settings."""
    return subprocess.Popen(
        [
            PY,
            "-m",
            "uvicorn",
            "bench.bare_api:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--loop",
            "uvloop",
            "--http",
            "httptools",
        ],
        env={**os.environ, "BENCH_REDIS_URL": redis_url, "BENCH_KEY": f"{ns}:bare"},
    )


@contextmanager
def recording_gateway(redis_url: str, ns: str, env_extra: dict[str, str]) -> Iterator[str]:
    """The gateway (one process) and the ingest it reads articles from, the seed article
    imported; yields its ``POST …/views`` URL. The views service is not started, so its
    counting does not compete for the CPU with the endpoint."""
    data_dir = Path(tempfile.mkdtemp(prefix="gateway-bench-"))
    ports = {s: free_port() for s in ("ingest", "gateway")}
    env = (
        settings_env(
            namespace=ns,
            gateway_workers=1,  # the one process measured
            redis_url=redis_url,
            data_dir=data_dir,
            views_per_minute=1_000_000_000,
            log_level="WARNING",
            editor_token="bench",
            **{f"{s}_port": p for s, p in ports.items()},
        )
        | env_extra
    )
    procs = [subprocess.Popen([PY, "-m", f"services.{s}"], env=env) for s in ("ingest", "gateway")]
    try:
        gateway = f"http://127.0.0.1:{ports['gateway']}"
        wait_until(lambda: _ok(f"{gateway}/readyz"), timeout=60, interval=0.1)
        seed = Path(__file__).resolve().parent.parent / "newsroom" / "demo" / "article-page.txt"
        article = httpx.post(
            f"{gateway}/api/v1/articles/import",
            content=seed.read_bytes(),
            headers={"Authorization": "Bearer bench", "Content-Type": "text/plain"},
        ).json()["article"]["id"]
        yield f"{gateway}/api/v1/articles/{article}/views"
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(60)
        shutil.rmtree(data_dir, ignore_errors=True)


def http_rates(
    redis_url: str, ns: str, seconds: int, connections: int, env_extra: dict[str, str]
) -> dict[str, Load]:
    port = free_port()
    bare = start_bare_api(port, redis_url, ns)
    results: dict[str, Load] = {}
    try:
        wait_until(lambda: _ok(f"http://127.0.0.1:{port}/hello"), timeout=30, interval=0.1)
        results["bare"] = run_wrk(
            f"http://127.0.0.1:{port}/bare/x/views", seconds, connections, post=True
        )
    finally:
        bare.send_signal(signal.SIGTERM)
        bare.wait(30)

    with recording_gateway(redis_url, ns, env_extra) as views_url:
        results["gateway"] = run_wrk(views_url, seconds, connections, post=True)
    return results


def options(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Views benchmark (ratios against same-run floors)")
    parser.add_argument("--views", type=int, default=100_000)
    parser.add_argument(
        "--batch",
        type=int,
        default=ViewsSettings.model_fields["batch_size"].default,
        help="entries per read, for the floor and the service alike (default: the service's)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="rounds of floor + service; this machine's speed drifts by ±20 %% between "
        "runs, so each round's ratio pairs runs made back to back, and the median is kept",
    )
    parser.add_argument("--http-seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--tracing", choices=["on", "off", "both"], default="both")
    parser.add_argument(
        "--feed",
        choices=["live", "backlog", "both"],
        default="both",
        help="count views while they are published (live), drain them once published "
        "(backlog: the consumer and Redis on a core each), or both",
    )
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-counting", action="store_true")
    return parser.parse_args(argv)


def measure(args: argparse.Namespace) -> list[Figure]:
    if not args.skip_http:
        require("wrk")
    redis_url, ns = bench_redis()
    modes = ["on", "off"] if args.tracing == "both" else [args.tracing]
    figures: list[Figure] = []
    try:
        if not args.skip_counting:
            for feed in ["live", "backlog"] if args.feed == "both" else [args.feed]:
                figures += counting_rounds(
                    redis_url, ns, args.views, args.batch, args.repeat, modes, feed == "backlog"
                )
        if not args.skip_http:
            for mode in modes:
                http = http_rates(
                    redis_url,
                    f"{ns}-{mode}",
                    args.http_seconds,
                    args.connections,
                    tracing_env(mode),
                )
                figures.append(
                    Figure.of_loads(
                        "views",
                        f"POST /views, tracing {mode}",
                        "bare FastAPI + 1 Redis call",
                        [(http["gateway"], http["bare"])],
                        target=0.8,
                    )
                )
    finally:
        forget(redis_url, ns)
    return figures


def counting_rounds(
    redis_url: str,
    ns: str,
    views: int,
    batch: int,
    repeat: int,
    modes: list[str],
    backlog: bool = False,
) -> list[Figure]:
    """Rounds of floor then service; ``backlog``: each drains the views published before
    it starts, instead of counting them while the bench publishes (see drain_rate)."""
    entries = payloads(views, [uuid.uuid4() for _ in range(50)])
    rounds: dict[str, list[tuple[float, float]]] = {mode: [] for mode in modes}
    how = "drained from a backlog" if backlog else "counted while published"
    print(f"{views} views over 50 articles, batches of {batch}, {how}, {repeat} rounds")
    for n in range(1, repeat + 1):
        floor = floor_rate(redis_url, f"{ns}-{n}", entries, batch, backlog)
        line = f"round {n}: floor (bare FastStream batch consumer) {floor:8.0f} msg/s"
        for mode in modes if n % 2 else modes[::-1]:  # neither mode always runs last
            rate = views_rate(
                redis_url, f"{ns}-{n}-{mode}", entries, batch, tracing_env(mode), backlog=backlog
            )
            rounds[mode].append((rate, floor))
            line += f" | views, tracing {mode}: {rate:8.0f} msg/s = {rate / floor:.2f}"
        print(line, flush=True)
    return [
        Figure(
            "views",
            f"views {'drained from a backlog' if backlog else 'counted'}, tracing {mode}",
            "views/s",
            "bare FastStream batch consumer",
            rounds[mode],
            # The targets are the issue's, set for views counted while published.
            target=None if backlog else 0.85 if mode == "on" else 0.9,
            note=f"{views:,} views, batches of {batch}",
        )
        for mode in modes
    ]


if __name__ == "__main__":
    command_line(measure, options)
