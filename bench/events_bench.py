"""Events over HTTP: events/s delivered to Server-Sent Events clients and to a webhook
receiver, against reading the stream bare, in the same run.

    .venv/bin/python -m bench.events_bench [--events 5000] [--clients 100] [--hook-events 1000]

1. Floor: one redis-py client reading the ``articles`` stream with XREAD (no parsing).
2. SSE: a gateway; 1, then ``--clients`` clients connected (``/api/v1/events``) before
   N events are published; timed until every client has all N (events/s per client and
   in all).
3. Webhook: the webhooks service and a gateway; a receiver (the standard library's
   threaded HTTP server, verifying every signature) subscribed; N events published,
   timed until it took all N. One subscription is delivered one event at a time (order),
   so this is one receiver's rate, bounded by its round trip and our two writes per event.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import redis

from bench.report import bench_redis
from bench.views_bench import PY, _ok, forget, free_port, publish, wait_until
from shared.contracts.events import ArticleData, ArticlePublished, BodyBlock
from shared.contracts.wire import encode_envelope
from shared.settings import settings_env
from tests.e2e.receiver import Receiver

TOKEN = "bench-subscriber"
EDITOR = "bench-editor"


def articles(n: int) -> list[bytes]:
    body = (BodyBlock(kind="paragraph", text="نص الخبر " * 40),)
    return [
        encode_envelope(
            ArticlePublished(
                data=ArticleData(
                    article_id=uuid.uuid4(), slug=f"khabar-{i}", title=f"خبر {i}", body=body
                )
            )
            .model_dump_json()
            .encode(),
            {},
        )
        for i in range(n)
    ]


def floor_rate(redis_url: str, ns: str, entries: list[bytes]) -> float:
    client = redis.Redis.from_url(redis_url)
    stream = f"{ns}-floor:articles"
    publish(client, stream, entries)
    t0 = time.perf_counter()
    seen, last = 0, "0-0"
    while seen < len(entries):
        answer: Any = client.xread({stream: last}, count=500)
        for _key, found in answer:
            seen += len(found)
            last = found[-1][0]
    rate = len(entries) / (time.perf_counter() - t0)
    client.close()
    return rate


def start(service: str, env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([PY, "-m", f"services.{service}"], env=env)
    wait_until(lambda: _ok(f"http://127.0.0.1:{port}/healthz"), timeout=60, interval=0.1)
    return proc


async def sse_clients(gateway: str, clients: int, expected: int, ready: asyncio.Event) -> float:
    """Seconds from the first publication until every client has ``expected`` events."""
    connected = 0
    done_at: list[float] = []
    limits = httpx.Limits(max_connections=clients + 5)
    async with httpx.AsyncClient(timeout=None, limits=limits) as http:

        async def one() -> None:
            nonlocal connected
            async with http.stream(
                "GET", f"{gateway}/api/v1/events", headers={"Authorization": f"Bearer {TOKEN}"}
            ) as response:
                connected += 1
                if connected == clients:
                    ready.set()
                got = 0
                async for line in response.aiter_lines():
                    if line.startswith("event:"):
                        got += 1
                        if got == expected:
                            done_at.append(time.perf_counter())
                            return

        tasks = [asyncio.create_task(one()) for _ in range(clients)]
        await asyncio.gather(*tasks)
    return max(done_at)


def sse_rate(redis_url: str, ns: str, gateway: str, entries: list[bytes], clients: int) -> float:
    async def run() -> float:
        ready = asyncio.Event()
        reading = asyncio.create_task(sse_clients(gateway, clients, len(entries), ready))
        await ready.wait()
        await asyncio.sleep(0.5)  # the last client's first read is under way
        client = redis.Redis.from_url(redis_url)
        t0 = time.perf_counter()
        await asyncio.to_thread(publish, client, f"{ns}:articles", entries)
        finished = await reading
        client.close()
        return len(entries) / (finished - t0)

    return asyncio.run(run())


def webhook_rate(redis_url: str, ns: str, gateway: str, entries: list[bytes]) -> float:
    receiver = Receiver(keep_alive=True).start()
    answer = httpx.post(
        f"{gateway}/api/v1/webhooks",
        json={"url": receiver.url, "event_types": ["article.published"]},
        headers={"Authorization": f"Bearer {EDITOR}"},
        timeout=30,
    )
    answer.raise_for_status()
    receiver.secret = answer.json()["secret"]
    client = redis.Redis.from_url(redis_url)
    t0 = time.perf_counter()
    publish(client, f"{ns}:articles", entries)
    wait_until(lambda: len(receiver.delivered) >= len(entries), timeout=600, interval=0.05)
    rate = len(entries) / (time.perf_counter() - t0)
    assert receiver.bad_signatures == 0
    receiver.stop()
    client.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description="Events over HTTP against a bare stream read")
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--hook-events", type=int, default=1000)
    args = parser.parse_args()
    redis_url, ns = bench_redis()
    data_dir = Path(tempfile.mkdtemp(prefix="events-bench-"))
    ports = {"gateway": free_port(), "webhooks": free_port()}
    env = settings_env(
        namespace=ns,
        gateway_workers=1,
        redis_url=redis_url,
        data_dir=data_dir,
        log_level="WARNING",
        editor_token=EDITOR,
        subscriber_tokens=[TOKEN],
        events_buffer=args.events + 100,
        webhook_allow_hosts=["127.0.0.1"],
        webhook_require_https=False,
        **{f"{s}_port": p for s, p in ports.items()},
    )
    procs = []
    try:
        entries = articles(args.events)
        floor = floor_rate(redis_url, ns, entries)
        procs.append(start("webhooks", env, ports["webhooks"]))
        procs.append(start("gateway", env, ports["gateway"]))
        gateway = f"http://127.0.0.1:{ports['gateway']}"
        one = sse_rate(redis_url, ns, gateway, entries, 1)
        many = sse_rate(redis_url, ns, gateway, entries, args.clients)
        hook = webhook_rate(redis_url, ns, gateway, articles(args.hook_events))
        print(f"floor: XREAD of the stream, bare            {floor:9.0f} events/s")
        print(
            f"SSE, 1 client                               {one:9.0f} events/s  ({one / floor:.2f}×)"
        )
        print(
            f"SSE, {args.clients} clients (each)                  {many:9.0f} events/s  "
            f"({many / floor:.2f}×; {many * args.clients:.0f} events/s in all)"
        )
        print(
            f"webhook, 1 receiver (in order)              {hook:9.0f} events/s  ({hook / floor:.3f}×)"
        )
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
        forget(redis_url, ns)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
