"""Helpers for tests: polling with a deadline, free ports, Redis servers of our own."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar, overload

import httpx
import redis
import redis.asyncio as aioredis

from shared.contracts.events import (
    ArticleData,
    ArticlePublished,
    BodyBlock,
    CommentSubmission,
    CommentSubmitted,
    Event,
)
from shared.contracts.wire import DATA_FIELD, encode_envelope

T = TypeVar("T")

#: Every polling deadline of the suite is multiplied by this one setting: slower or busier
#: machines wait longer, and nothing else changes. Default: 2 on this project's 2 cores.
DEADLINE_SCALE = float(
    os.environ.get("NEWSROOM_TEST_DEADLINE_SCALE") or max(1.0, 4 / (os.cpu_count() or 1))
)


def _ephemeral_ports() -> range:
    try:
        low, high = map(int, open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
    except (OSError, ValueError):
        low, high = 32768, 60999
    return range(low, high + 1)


_TAKEN: set[int] = set()


def free_port() -> int:
    """A free port outside the kernel's ephemeral range: a port the kernel handed out
    (bind to 0) can be taken again by any outgoing connection before our service binds
    it, and a service starting slowly lost that race now and then."""
    ephemeral = _ephemeral_ports()
    while True:
        port = random.randrange(10_000, 32_000)
        if port in ephemeral or port in _TAKEN:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _TAKEN.add(port)
        return port


def ready(base_url: str) -> bool:
    """Does the service at ``base_url`` answer ``/readyz`` with 200 (its dependencies up)?"""
    import httpx

    try:
        return httpx.get(f"{base_url}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def docker_available() -> bool:
    """True when a Docker engine answers (then testcontainers supplies servers)."""
    if os.environ.get("NEWSROOM_TEST_NO_DOCKER"):
        return False
    try:
        import docker

        client = docker.from_env(timeout=2)
        client.ping()
        return True
    except Exception:
        return False


def wait_for(
    check: Callable[[], T], timeout: float = 10.0, interval: float = 0.05, what: str = "condition"
) -> T:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds
    (times :data:`DEADLINE_SCALE`)."""
    timeout *= DEADLINE_SCALE
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


@overload
async def await_for(
    check: Callable[[], Awaitable[T]],
    timeout: float = ...,  # noqa: ASYNC109 - a polling deadline, not a cancel scope
    interval: float = ...,
    what: str = ...,
) -> T: ...


@overload
async def await_for(
    check: Callable[[], T],
    timeout: float = ...,  # noqa: ASYNC109 - a polling deadline, not a cancel scope
    interval: float = ...,
    what: str = ...,
) -> T: ...


async def await_for(
    check: Callable[[], Any],
    timeout: float = 10.0,  # noqa: ASYNC109 - a polling deadline, not a cancel scope
    interval: float = 0.05,
    what: str = "condition",
) -> Any:
    """:func:`wait_for` in a test's event loop: ``check`` may be a coroutine function or a
    plain one (a condition on state other tasks change while this one waits)."""
    timeout *= DEADLINE_SCALE
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if inspect.isawaitable(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


async def publish(redis_url: str, stream: str, events: Sequence[Event | bytes]) -> list[str]:
    """XADD entries in wire format v1, as any producer would; bytes go in raw (poison)."""
    client = aioredis.Redis.from_url(redis_url)
    try:
        async with client.pipeline(transaction=False) as pipe:
            for e in events:
                raw = (
                    e if isinstance(e, bytes) else encode_envelope(e.model_dump_json().encode(), {})
                )
                pipe.xadd(stream, {DATA_FIELD: raw})
            return [i.decode() for i in await pipe.execute()]
    finally:
        await client.aclose()


def post_comment(
    gateway: str,
    article_id: str,
    comment: str,
    *,
    name: str = "قارئ",
    email: str = "r@example.com",
    headers: dict[str, str] | None = None,
    client: Any = httpx,
    token: str | None = None,
    **fields: Any,
) -> httpx.Response:
    """What a reader's browser does: fetch a form token (unless the page gave one), then
    send the form with it; ``fields`` are the form's other fields (``parent_id``…)."""
    if token is None:
        asked = client.get(f"{gateway}/api/v1/comments/form-token", headers=headers)
        token = asked.json()["form_token"]
    form = {"name": name, "email": email, "comment": comment, "form_token": token, **fields}
    return client.post(  # type: ignore[no-any-return]
        f"{gateway}/api/v1/articles/{article_id}/comments", json=form, headers=headers
    )


def forget_namespace(redis_url: str, namespace: str) -> None:
    """Delete every key of a test's namespace from the shared Redis."""
    client = redis.Redis.from_url(redis_url)
    with contextlib.suppress(redis.RedisError):
        keys = list(client.scan_iter(match=f"{namespace}:*", count=1000))
        if keys:
            client.delete(*keys)
    client.close()


def comment_submission(
    article_id: Any, i: int, *, at: Any = None, **fields: Any
) -> CommentSubmitted:
    """Reader ``i``'s comment on ``article_id`` as the gateway submits it (each reader
    with an address, a client and a text of their own unless ``fields`` say otherwise)."""
    data: dict[str, Any] = {
        "comment_id": uuid.uuid4(),
        "article_id": article_id,
        "name": f"قارئ {i}",
        "email": f"reader{i}@example.com",
        "text": f"تعليق رقم {i}",
        "client_key": f"client-{i}",
        **fields,
    }
    submission = CommentSubmission(**data)
    return (
        CommentSubmitted(data=submission)
        if at is None
        else CommentSubmitted(occurred_at=at, data=submission)
    )


def article_published(article_id: Any, text: str = "x", **fields: Any) -> ArticlePublished:
    """A published article of one paragraph (``text``), as ingest announces it; ``fields``
    override the rest of its data (slug, title, legacy views…)."""
    data: dict[str, Any] = {"slug": "s", "title": "t", **fields}
    body = (BodyBlock(kind="paragraph", text=text),)
    return ArticlePublished(data=ArticleData(article_id=article_id, body=body, **data))


#: An app started in this process and a client calling it.
Running = tuple[Any, httpx.AsyncClient]


@contextlib.asynccontextmanager
async def serving(app: Any, name: str) -> AsyncIterator[Running]:
    """``app`` started (its lifespan) and a client calling it in this process at
    ``http://<name>``."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{name}") as client:
            yield app, client


def newsroom_cli(
    env: dict[str, str], *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``newsroom <args>`` as an operator types it."""
    return subprocess.run(
        [sys.executable, "-m", "newsroom.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
