"""Intruders: tokens that are wrong or missing, rate limits that hold across gateway
replicas, and no raw client address or secret anywhere we keep things."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.drills.conftest import Report
from tests.drills.traffic import BROWSER_UA, DRILL_ENV
from tests.e2e.platform import Services
from tests.support import free_port, post_comment, ready, wait_for

pytestmark = pytest.mark.drill

#: A documentation address (TEST-NET-3): any trace of it is ours.
READER_IP = "203.0.113.77"


def _redis_values(client: Any, namespace: str) -> Iterator[bytes]:  # redis-py types loosely
    """Every key name and stored value under the namespace, as bytes."""
    for key in client.scan_iter(match=f"{namespace}:*", count=1000):
        yield key
        kind = client.type(key)
        if kind == b"stream":
            for _id, fields in client.xrange(key):
                yield from fields.keys()
                yield from fields.values()
        elif kind == b"hash":
            for field, value in client.hgetall(key).items():
                yield field
                yield value
        elif kind == b"string":
            yield client.get(key) or b""
        elif kind == b"set":
            yield from client.smembers(key)
        elif kind == b"zset":
            yield from (member for member, _score in client.zrange(key, 0, -1, withscores=True))
        elif kind == b"list":
            yield from client.lrange(key, 0, -1)


def _files(root: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in root.rglob("*") if path.is_file()}


def test_no_raw_client_address_or_token_in_any_database_stream_or_log(
    tmp_path: Path, redis_url: str, namespace: str, report: Report
) -> None:
    services = Services(
        tmp_path / "var",
        redis_url,
        namespace,
        extra_env={**DRILL_ENV, "NEWSROOM_LOG_LEVEL": "DEBUG", "NEWSROOM_VIEWS_PER_MINUTE": "3"},
        log_dir=tmp_path / "logs",
    )
    wrong_token = "not-the-editor-token-0123456789"
    try:
        services.start()
        gw = services.gateway
        moderator = {"Authorization": f"Bearer {services.moderator_token}"}
        reader = {"X-Forwarded-For": READER_IP, "User-Agent": BROWSER_UA}

        # Intruders at the editor and moderator doors.
        draft = {"title": "خبر", "body": "نص."}
        doors = [
            ("POST", f"{gw}/api/v1/articles", draft),
            ("GET", f"{gw}/api/v1/moderation/comments", None),
        ]
        for method, url, body in doors:
            assert httpx.request(method, url, json=body, headers=reader).status_code == 401
            wrong = {**reader, "Authorization": f"Bearer {wrong_token}"}
            assert httpx.request(method, url, json=body, headers=wrong).status_code == 403
        article = services.import_seed()
        assert httpx.get(f"{gw}/api/v1/moderation/comments", headers=moderator).status_code == 200

        # A reader: the page, views (the last over the limit), a comment.
        page = httpx.get(f"{gw}/articles/{article['slug']}", headers=reader)
        assert page.status_code == 200
        statuses = [
            httpx.post(f"{gw}/api/v1/articles/{article['id']}/views", headers=reader).status_code
            for _ in range(4)
        ]
        assert statuses == [202, 202, 202, 429]
        comment = post_comment(gw, article["id"], "تعليق سري", headers=reader)
        assert comment.status_code == 202
        url = f"{gw}/api/v1/articles/{article['id']}"
        wait_for(
            lambda: (body := httpx.get(url).json())["views"]["total"] == 1086 and body["comments"],
            timeout=30,
            what="the view counted and the comment published",
        )
    finally:
        services.stop_all()

    stored = _files(services.data_dir)
    logs = _files(tmp_path / "logs")
    client = redis.Redis.from_url(redis_url)
    try:
        in_redis = list(_redis_values(client, namespace))
        # The scan sees what is there: the comment in a database, the event in a stream.
        assert any("تعليق سري".encode() in data for data in stored.values())
        assert any(b"view.recorded" in value for value in in_redis)
        assert sum(len(text) for text in logs.values()) > 0
        address = READER_IP.encode()
        leaks = [str(p) for p, data in stored.items() if address in data]
        leaks += [f"redis: {v[:80]!r}" for v in in_redis if address in v]
        leaks += [str(p) for p, data in logs.items() if address in data]
        secrets = [
            t.encode() for t in (services.editor_token, services.moderator_token, wrong_token)
        ]
        leaks += [
            f"{p} holds a token" for p, data in logs.items() if any(s in data for s in secrets)
        ]
        assert leaks == []
    finally:
        client.close()
    places = len(stored) + len(logs) + len(in_redis)
    report(
        sent=places,
        stored=places,
        note=f"{len(stored)} files, {len(in_redis)} Redis values, {len(logs)} logs: no address, no token",
    )


def test_rate_limits_hold_across_gateway_replicas(
    tmp_path: Path, redis_url: str, namespace: str, report: Report
) -> None:
    limit = 6
    services = Services(
        tmp_path / "var",
        redis_url,
        namespace,
        extra_env={**DRILL_ENV, "NEWSROOM_VIEWS_PER_MINUTE": str(limit)},
    )
    second: subprocess.Popen[bytes] | None = None
    try:
        services.start("ingest", "gateway")
        article = services.import_seed()
        port = free_port()
        second = subprocess.Popen(
            [sys.executable, "-m", "services.gateway"],
            env={**services.env, "NEWSROOM_GATEWAY_PORT": str(port)},
        )
        other = f"http://127.0.0.1:{port}"
        wait_for(lambda: ready(other), timeout=60, what="the second gateway replica")
        replicas = [services.gateway, other]
        client = {"X-Forwarded-For": "198.51.100.9", "User-Agent": BROWSER_UA}
        statuses = [
            httpx.post(
                f"{replicas[n % 2]}/api/v1/articles/{article['id']}/views", headers=client
            ).status_code
            for n in range(3 * limit)
        ]
        accepted = statuses.count(202)
        assert accepted == limit and statuses.count(429) == 2 * limit
        report(
            sent=limit,
            stored=accepted,
            note=f"{3 * limit} posts over 2 replicas, limit {limit}/min: {accepted} accepted",
        )
    finally:
        if second is not None:
            second.terminate()
            second.wait(30)
        services.stop_all()
