"""Bad input at the gateway: a clear 4xx, quickly, and nothing already accepted lost."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.drills.conftest import Report
from tests.drills.traffic import DRILL_ENV
from tests.e2e.platform import Services
from tests.support import post_comment, wait_for

pytestmark = pytest.mark.drill

DEEP = "[" * 100_000 + "]" * 100_000
JSON = {"Content-Type": "application/json"}


def _cases(
    article_id: str, editor: dict[str, str]
) -> list[tuple[str, str, str, Any, dict[str, str], set[int]]]:
    comments = f"/api/v1/articles/{article_id}/comments"
    return [
        ("deep JSON comment", "POST", comments, DEEP, JSON, {400}),
        (
            "deep JSON article",
            "POST",
            "/api/v1/articles",
            '{"title": ' + DEEP + "}",
            {**JSON, **editor},
            {400, 422},
        ),
        (
            "deep JSON import",
            "POST",
            "/api/v1/articles/import",
            '{"title": ' + DEEP + "}",
            {**JSON, **editor},
            {400},
        ),
        (
            "deep HTML import",
            "POST",
            "/api/v1/articles/import",
            "<div>" * 50_000 + "نص" + "</div>" * 50_000,
            {"Content-Type": "text/html", **editor},
            {422},
        ),
        (
            "2M-element JSON",
            "POST",
            comments,
            "[" + ",".join(["1"] * 2_000_000) + "]",
            JSON,
            {400, 413, 422},
        ),
        ("6 MB body", "POST", comments, "[" + "1," * 3_000_000 + "1]", JSON, {413}),
        (
            "20 MB HTML page",
            "POST",
            "/api/v1/articles/import",
            "<html><body>" + "<p>نص طويل جدا.</p>" * 1_000_000 + "</body></html>",
            {"Content-Type": "text/html", **editor},
            {413},
        ),
        (
            "binary bytes as a page",
            "POST",
            "/api/v1/articles/import",
            bytes(range(256)) * 64,
            # Read in a guessed encoding, as a browser would, it is no HTML page at all.
            {"Content-Type": "text/html", **editor},
            {422},
        ),
        (
            "binary bytes as a text dump",
            "POST",
            "/api/v1/articles/import",
            bytes(range(256)) * 64,
            {"Content-Type": "text/plain", **editor},
            {400},
        ),
        (
            "a page with no article",
            "POST",
            "/api/v1/articles/import",
            "<html><head><title>Login</title></head><body><form><input name=u></form></body></html>",
            {"Content-Type": "text/html", **editor},
            {422},
        ),
        ("invalid UTF-8", "POST", comments, b'{"name": "\xff\xfe"}', JSON, {400}),
        ("invalid JSON", "POST", comments, '{"name": ', JSON, {400}),
        ("JSON, wrong shape", "POST", comments, '"just a string"', JSON, {422}),
        (
            "form with 10k fields",
            "POST",
            comments,
            "&".join(f"f{i}=x" for i in range(10_000)),
            {"Content-Type": "application/x-www-form-urlencoded"},
            {400, 413, 422},
        ),
        ("path traversal", "GET", "/api/v1/articles/..%2F..%2F..%2Fetc%2Fpasswd", None, {}, {404}),
        ("NUL in path", "GET", "/api/v1/articles/abc%00def", None, {}, {404}),
        ("SQL in path", "GET", "/api/v1/articles/' OR '1'='1", None, {}, {404}),
        ("10k-char path", "GET", "/articles/" + "ش" * 10_000, None, {}, {404, 414}),
        ("cursor garbage", "GET", "/api/v1/articles?cursor=%27%3B--", None, {}, {400}),
        ("huge limit", "GET", "/api/v1/articles?limit=99999999999999999999", None, {}, {422}),
    ]


def _raw(url: str, request: bytes) -> bytes:
    """Send bytes httpx would refuse to send (header injection), return the raw answer."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_bad_requests_get_a_clear_4xx_quickly_and_lose_nothing(
    tmp_path: Path, redis_url: str, namespace: str, report: Report
) -> None:
    services = Services(tmp_path / "var", redis_url, namespace, extra_env=DRILL_ENV)
    try:
        services.start()
        editor = {"Authorization": f"Bearer {services.editor_token}"}
        article = services.import_seed()
        kept = post_comment(services.gateway, article["id"], "تعليق")
        assert kept.status_code == 202

        answered, slowest = 0, 0.0
        for name, method, path, body, headers, expected in _cases(article["id"], editor):
            started = time.perf_counter()
            response = httpx.request(
                method, services.gateway + path, content=body, headers=headers, timeout=10
            )
            slowest = max(slowest, time.perf_counter() - started)
            assert response.status_code in expected, (
                f"{name}: {response.status_code} {response.text[:200]}"
            )
            if path.startswith("/api/"):  # the API answers problem details; pages, an HTML page
                kind = response.headers.get("content-type", "")
                assert kind.startswith("application/problem+json"), f"{name}: {kind}"
                problem = response.json()
                assert problem["status"] == response.status_code and problem["title"], name
            answered += 1

        # Header injection: CR/LF smuggled into a header value, and a forged response header.
        injected = _raw(
            services.gateway,
            b"GET /api/v1/articles HTTP/1.1\r\nHost: x\r\nAccept-Language: ar\r\n"
            b" X-Injected: 1\r\nX-Forwarded-For: 1.2.3.4\rSet-Cookie: a=b\r\nConnection: close\r\n\r\n",
        )
        status_line, _, rest = injected.partition(b"\r\n")
        assert status_line.split()[1] in (b"200", b"400")
        head = rest.split(b"\r\n\r\n")[0].lower()
        assert b"set-cookie" not in head and b"x-injected" not in head
        answered += 1
        split = _raw(
            services.gateway,
            b"GET /articles/x%0d%0aSet-Cookie:%20a=b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        assert (
            split.split()[1] == b"404" and b"set-cookie" not in split.split(b"\r\n\r\n")[0].lower()
        )
        answered += 1

        # Nothing already accepted was lost, and the platform still serves.
        view = wait_for(
            lambda: (
                (body := httpx.get(f"{services.gateway}/api/v1/articles/{article['id']}").json())[
                    "comments"
                ]
                and body
            ),
            timeout=20,
            what="the accepted comment on the article",
        )
        assert view["article"]["title"] == article["title"] and len(view["comments"]) == 1
        sent = len(_cases(article["id"], editor)) + 2
        report(
            sent=sent, stored=answered, note=f"all refused with a problem; slowest {slowest:.2f} s"
        )
    finally:
        services.stop_all()
