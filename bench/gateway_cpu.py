"""The gateway's own CPU per request on its hot routes, in process, against a bare FastAPI
"hello" (for the views beacon: a bare endpoint making one Redis call) called the same way
in the same process.

    .venv/bin/python -m bench.gateway_cpu [--calls 20000] [--rounds 5] [--tracing on]

ASGI calls straight into the app (no sockets, no uvicorn), timed by the process's CPU
time, best of ``--rounds``: what a change does to the gateway's own work, steadier than
wrk on a machine whose two cores the load generator, Redis and the other services share.
The gateway under test is built in this process beside a running platform (ingest,
views, comments, search, and the seed article: bench/gateway_bench.py); the figure is
calls per CPU second, its ratio to the hello's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, unquote

from bench.gateway_bench import running_platform
from bench.report import BROWSER, Figure, bench_redis, command_line, tracing_env
from bench.views_bench import forget

App = Callable[..., Any]


async def cpu_per_call(app: App, method: str, path: str, calls: int, rounds: int) -> float:
    """Microseconds of this process's CPU per call of ``method path`` (best round)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(path),
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"user-agent", BROWSER.encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    statuses: set[int] = set()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.add(message["status"])

    async def call_n(n: int) -> None:
        for i in range(n):
            await app(dict(scope), receive, send)
            if i % 100 == 0:
                # A cached answer never waits: let the app's own tasks (stream followers,
                # the event hub) have the loop, as between requests in a server.
                await asyncio.sleep(0)

    await call_n(calls // 10)  # warm: caches filled, code paths taken once
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        await call_n(calls)
        best = min(best, (time.process_time() - started) / calls * 1e6)
    if not statuses <= {200, 202}:
        raise RuntimeError(f"{method} {path} answered {sorted(statuses)}")
    return best


async def _measure(
    args: argparse.Namespace, env: dict[str, str], article: dict[str, Any]
) -> list[Figure]:
    os.environ.update(env)  # the settings the platform's gateway was given
    # The beacon's floor counts on the run's Redis, in its namespace (removed with it).
    os.environ["BENCH_REDIS_URL"] = env["NEWSROOM_REDIS_URL"]
    os.environ["BENCH_KEY"] = f"{env['NEWSROOM_NAMESPACE']}:bare"
    from bench.bare_api import app as hello
    from services.gateway.app import create_app
    from services.gateway.settings import GatewaySettings

    gateway = create_app(GatewaySettings())
    hello_floor = ("GET", "/hello", 'bare FastAPI "hello", in process')
    # The beacon's floor makes one Redis call, as the wrk benches' does.
    views_floor = ("POST", "/bare/x/views", "bare FastAPI + 1 Redis call, in process")
    routes = {
        "article JSON": ("GET", f"/api/v1/articles/{article['id']}", hello_floor),
        "article page": ("GET", f"/articles/{quote(article['slug'])}", hello_floor),
        "front page": ("GET", "/", hello_floor),
        "POST /views": ("POST", f"/api/v1/articles/{article['id']}/views", views_floor),
    }
    figures = []
    async with gateway.router.lifespan_context(gateway):
        for name, (method, path, (floor_method, floor_path, floor_name)) in routes.items():
            floor = await cpu_per_call(hello, floor_method, floor_path, args.calls, args.rounds)
            measured = await cpu_per_call(gateway, method, path, args.calls, args.rounds)
            figures.append(
                Figure(
                    "gateway-cpu",
                    f"{name}, tracing {args.tracing}, CPU per call",
                    "calls per CPU s",
                    floor_name,
                    [(1e6 / measured, 1e6 / floor)],
                    note=f"{measured:.1f} µs against {floor:.1f} µs",
                )
            )
    return figures


def measure(args: argparse.Namespace) -> list[Figure]:
    redis_url, ns = bench_redis()
    off = tracing_env(args.tracing)
    try:
        with running_platform(redis_url, ns, 20, off) as running:
            env = {k: v for k, v in running.env.items() if k.startswith(("NEWSROOM_", "OTEL_"))}
            return asyncio.run(_measure(args, env, running.article))
    finally:
        forget(redis_url, ns)


def options(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5, help="the best round is kept")
    parser.add_argument("--tracing", choices=["on", "off"], default="on")
    return parser.parse_args(argv)


if __name__ == "__main__":
    command_line(measure, options)
