"""The views service with its counting steps timed: run by ``bench.views_timeline``.

Each step's start and end (perf_counter) go to the JSON file ``BENCH_TIMELINE`` when the
service stops. ``BENCH_WINDOW_NOOP=1`` swaps the dedupe window's script for one that
decodes its argument and counts every view: what counting costs without the window's
Redis work (a measurement only: it counts repeats).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import os
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any

Spans = list[tuple[str, float, float]]
NOOP_WINDOW = "local views = cjson.decode(ARGV[5])\nreturn string.rep('1', #views)\n"


def timed(spans: Spans, step: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` timed from call to answer (its awaitable's, where it returns one: redis-py's
    commands are plain methods returning a coroutine)."""

    async def answer(started: float, awaitable: Awaitable[Any]) -> Any:
        try:
            return await awaitable
        finally:
            spans.append((step, started, time.perf_counter()))

    @functools.wraps(fn)
    def timed_call(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        result = fn(*args, **kwargs)
        if inspect.isawaitable(result):
            return answer(started, result)
        spans.append((step, started, time.perf_counter()))
        return result

    return timed_call


def instrument(spans: Spans) -> None:
    """Time the steps of counting a batch, where they are defined."""
    import redis.asyncio.client as redis_client

    from services.views import counting, window
    from shared.messaging.consuming import applying, entries

    if os.environ.get("BENCH_WINDOW_NOOP") == "1":
        window.CLAIM_WINDOW = NOOP_WINDOW
    for owner, name, step in [
        (redis_client.Redis, "xreadgroup", "read (XREADGROUP)"),
        (entries.EntryValidator, "validate", "validate"),
        (counting, "_views_of", "views of entries"),
        (window.VisitorWindow, "claim", "window claim"),
        (counting, "_commit", "commit"),
        (redis_client.Redis, "xack", "ack (XACK)"),
        (applying.BatchApplier, "handle", "apply a batch"),
    ]:
        setattr(owner, name, timed(spans, step, getattr(owner, name)))

    # The batch queue between the reader and the workers (the only one of size 1).
    get = asyncio.Queue.get

    async def timed_get(queue: asyncio.Queue[Any]) -> Any:
        started = time.perf_counter()
        try:
            return await get(queue)
        finally:
            if queue.maxsize == 1:
                spans.append(("worker waits for a batch", started, time.perf_counter()))

    asyncio.Queue.get = timed_get  # type: ignore[method-assign, assignment]


def main() -> None:
    spans: Spans = []

    instrument(spans)
    from services.views.app import create_app
    from services.views.settings import ViewsSettings
    from shared.service.runner import serve

    def dump_and_exit(signum: int, _frame: Any) -> None:
        with open(os.environ["BENCH_TIMELINE"], "w") as out:
            json.dump(spans, out)
        raise SystemExit(128 + signum)

    # uvicorn stops gracefully on SIGTERM, then restores this handler and raises the signal
    # again: the timeline is written once the service has stopped.
    signal.signal(signal.SIGTERM, dump_and_exit)
    serve(ViewsSettings(), create_app)


if __name__ == "__main__":
    main()
