"""The server-side limits' pieces that need no server: who is a trusted proxy, and
what a refused client reads."""

from __future__ import annotations

import json

import pytest

from shared.service.http_guard import HttpLimits, refusal, trusted_hosts
from shared.settings import NewsroomSettings


@pytest.mark.parametrize(
    ("spec", "host", "trusted"),
    [
        ("127.0.0.1", "127.0.0.1", True),
        ("127.0.0.1", "127.0.0.2", False),
        ("10.0.0.0/8, 192.0.2.7", "10.20.30.40", True),
        ("10.0.0.0/8, 192.0.2.7", "192.0.2.7", True),
        ("10.0.0.0/8, 192.0.2.7", "192.0.2.8", False),
        ("::1", "::1", True),
        ("*", "203.0.113.5", True),
        ("", "127.0.0.1", False),
        ("/run/proxy.sock", "127.0.0.1", False),
        ("127.0.0.1", "not-an-address", False),
    ],
)
def test_trusted_proxies(spec: str, host: str, trusted: bool) -> None:
    assert trusted_hosts(spec)(host) is trusted


@pytest.mark.parametrize("status", [408, 414, 429, 431])
def test_a_refusal_says_why_in_both_languages_and_closes(status: int) -> None:
    headers, body = refusal(status, 32768)
    problem = json.loads(body)
    assert problem["status"] == status
    assert "/" in problem["detail"] and any("\u0600" <= c <= "\u06ff" for c in problem["detail"])
    named = dict(headers)
    assert named[b"connection"] == b"close"
    assert named[b"content-length"] == str(len(body)).encode()
    assert (b"retry-after" in named) is (status == 429)


def test_limits_come_from_settings() -> None:
    limits = HttpLimits.from_settings(
        NewsroomSettings(max_header_bytes=1000, connections_per_client=3, forwarded_allow_ips="*")
    )
    assert (limits.max_header_bytes, limits.connections_per_client) == (1000, 3)
    assert limits.trusted("198.51.100.1")
