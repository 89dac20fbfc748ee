"""Other systems read the public events over HTTP (``GET /api/v1/events``, Server-Sent
Events): they disconnect and resume with ``Last-Event-ID`` on another gateway replica
and get every event once, in order; a slow client is cut off and resumes; a position
the streams no longer hold is ``410``; a token is needed where the settings say so.

The events go onto the streams as their producers write them (wire format v1), so
only gateways run here."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest
import redis

from tests.e2e.platform import Services
from tests.e2e.public_events import article, comment, send
from tests.support import DEADLINE_SCALE, free_port, wait_for

pytestmark = pytest.mark.e2e
TOKEN = "partner-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BUFFER = 50


@dataclass
class Gateways:
    services: Services
    urls: list[str]
    articles: str
    comments: str
    extra: list[subprocess.Popen[bytes]] = field(default_factory=list)


def _gateway(services: Services, port: int, **env: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "services.gateway"],
        env={**services.env, "NEWSROOM_GATEWAY_PORT": str(port), **env},
    )
    wait_for(lambda: _up(f"http://127.0.0.1:{port}"), timeout=60, what="gateway up")
    return process


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def gateways(services: Services) -> Iterator[Gateways]:
    services.extra_env.update(
        {
            "NEWSROOM_SUBSCRIBER_TOKENS": orjson.dumps([TOKEN]).decode(),
            "NEWSROOM_EVENTS_BUFFER": str(BUFFER),
            "NEWSROOM_EVENTS_HEARTBEAT_SECONDS": "0.5",
        }
    )
    services.start("gateway")
    second_port = free_port()
    second = _gateway(services, second_port)  # a second replica, alike
    running = Gateways(
        services,
        [services.gateway, f"http://127.0.0.1:{second_port}"],
        f"{services.namespace}:articles",
        f"{services.namespace}:comments",
        [second],
    )
    try:
        yield running
    finally:
        for process in running.extra:
            process.terminate()
            process.wait(30)


@dataclass
class Received:
    id: str
    event: str
    data: dict[str, Any]


def read(
    url: str, count: int, headers: dict[str, str] | None = None, **params: str
) -> list[Received]:
    """The first ``count`` events of the stream (then the client hangs up)."""
    got: list[Received] = []
    fields: dict[str, str] = {}
    deadline = time.monotonic() + 20 * DEADLINE_SCALE  # heartbeats keep an idle stream open
    with httpx.stream(
        "GET",
        f"{url}/api/v1/events",
        params=params,
        headers={**AUTH, **(headers or {})},
        timeout=httpx.Timeout(30, read=30),
    ) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            assert time.monotonic() < deadline, f"{len(got)} of {count} events came"
            if line == "":
                if "data" in fields:
                    got.append(
                        Received(fields["id"], fields["event"], orjson.loads(fields["data"]))
                    )
                    if len(got) == count:
                        return got
                fields = {}
            elif not line.startswith(":"):
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")
    return got


def test_a_client_resumes_on_another_replica_and_gets_every_event_once_in_order(
    gateways: Gateways, redis_url: str
) -> None:
    first = send(redis_url, gateways.articles, [article(n) for n in range(6)])
    first += send(redis_url, gateways.comments, [comment(n) for n in range(4)])
    one, two = gateways.urls
    start = read(one, 7, after="0")
    assert [e.event for e in start[:6]] == ["article.published"] * 6
    assert [e.data["data"]["title"] for e in start[:6]] == [f"خبر {n}" for n in range(6)]
    # More events while the client is away, then it comes back to the other replica.
    later = send(redis_url, gateways.articles, [article(n) for n in range(6, 9)])
    later += send(redis_url, gateways.comments, [comment(n) for n in range(4, 6)])
    rest = read(two, 8, headers={"Last-Event-ID": start[-1].id})
    names = [e.data["data"].get("title") or e.data["data"]["author_name"] for e in start + rest]
    expected = [f"خبر {n}" for n in range(6)] + [f"قارئ {n}" for n in range(4)]
    expected += [f"خبر {n}" for n in range(6, 9)] + [f"قارئ {n}" for n in range(4, 6)]
    assert names == expected  # every event once, in the streams' order
    assert len({e.data["event_id"] for e in start + rest}) == len(first) + len(later)
    # ?after= does the same as Last-Event-ID; only the asked-for types come.
    comments = read(one, 2, after=start[-1].id, types="comment.approved")
    assert [e.data["data"]["author_name"] for e in comments] == ["قارئ 1", "قارئ 2"]


def test_a_slow_client_is_cut_off_and_resumes_where_it_stopped(
    gateways: Gateways, redis_url: str
) -> None:
    url = gateways.urls[0]
    host, port = "127.0.0.1", int(url.rsplit(":", 1)[1])
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window: it reads late
    slow.connect((host, port))
    slow.sendall(
        f"GET /api/v1/events?after=0 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode()
    )
    slow.settimeout(30)
    assert slow.recv(12).startswith(b"HTTP/1.1 200")
    # Far more than its buffer while it does not read (each event ~6 KB).
    total = 2000
    for chunk in range(0, total, 200):
        send(
            redis_url, gateways.articles, [article(n, size=1000) for n in range(chunk, chunk + 200)]
        )
    received = bytearray()
    while data := slow.recv(65536):  # the gateway hangs up on it: it fell behind
        received += data
    slow.close()
    ids = [
        line[4:]
        for line in received.decode(errors="replace").split("\n")
        if line.startswith("id: ")
    ]
    assert 0 < len(ids) < total, len(ids)
    rest = read(url, total - len(ids), headers={"Last-Event-ID": ids[-1]})
    titles = [e.data["data"]["title"] for e in rest]
    assert titles == [f"خبر {n}" for n in range(len(ids), total)]


def test_a_position_the_streams_no_longer_hold_is_gone(gateways: Gateways, redis_url: str) -> None:
    url = gateways.urls[0]
    send(redis_url, gateways.articles, [article(n) for n in range(5)])
    early = read(url, 1, after="0")[0]
    client = redis.Redis.from_url(redis_url)
    try:
        client.xtrim(gateways.articles, maxlen=2, approximate=False)
    finally:
        client.close()
    gone = httpx.get(f"{url}/api/v1/events", headers={**AUTH, "Last-Event-ID": early.id})
    assert gone.status_code == 410, gone.text
    oldest = gone.json()["oldest"]
    kept = read(url, 2, after=oldest)
    assert [e.data["data"]["title"] for e in kept] == ["خبر 3", "خبر 4"]


def test_who_may_read_and_what_a_bad_request_gets(gateways: Gateways) -> None:
    url = gateways.urls[0]
    events = f"{url}/api/v1/events"
    assert httpx.get(events).status_code == 401
    assert httpx.get(events, headers={"Authorization": "Bearer wrong"}).status_code == 403
    bad = httpx.get(events, headers=AUTH, params={"types": "article.published,comment.kept"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "types"
    bad = httpx.get(events, headers={**AUTH, "Last-Event-ID": "1-0; DROP"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "Last-Event-ID"
    # Article events made public by the setting: no token needed for them, still for comments.
    public_port = free_port()
    public = _gateway(gateways.services, public_port, NEWSROOM_PUBLIC_ARTICLE_EVENTS="true")
    gateways.extra.append(public)
    public_events = f"http://127.0.0.1:{public_port}/api/v1/events"
    with httpx.stream("GET", public_events, params={"types": "article.published"}) as answer:
        assert answer.status_code == 200
        assert next(answer.iter_lines()).startswith("retry:")
    assert httpx.get(public_events, params={"types": "comment.approved"}).status_code == 403
