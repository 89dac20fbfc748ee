"""The gateway for web clients: degrades instead of failing, stays fresh, caches right."""

from __future__ import annotations

import subprocess
import sys
import time
from urllib.parse import quote

import httpx
import pytest

from tests.e2e.platform import Services
from tests.support import free_port, ready, wait_for

pytestmark = pytest.mark.e2e


def test_article_degrades_when_views_then_comments_are_down(services: Services) -> None:
    # Parts are cached briefly; keep that short so the outage shows within the test.
    services.extra_env.update(
        {"NEWSROOM_VIEWS_CACHE_SECONDS": "0.2", "NEWSROOM_COMMENTS_CACHE_SECONDS": "0.2"}
    )
    services.start()
    article = services.import_seed()
    url = f"{services.gateway}/api/v1/articles/{article['id']}"
    page_url = f"{services.gateway}/articles/{quote(str(article['slug']))}"
    wait_for(lambda: httpx.get(url).json()["degraded"] == [], what="a complete answer")

    services.stop("views")
    body = wait_for(lambda: (b := httpx.get(url).json())["degraded"] and b, what="views missing")
    started = time.monotonic()
    httpx.get(url)
    assert time.monotonic() - started < 3  # bounded by the upstream timeout, not hanging
    assert body["degraded"] == ["views"] and body["views"] is None
    assert body["article"]["title"] and body["comments"] == []
    page = httpx.get(page_url)
    assert page.status_code == 200 and "data-view-count>1085<" in page.text

    services.stop("comments")
    response = wait_for(
        lambda: (r := httpx.get(url)).json()["degraded"] == ["views", "comments"] and r,
        what="both missing",
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"  # a degraded answer is not cached
    assert httpx.get(page_url).status_code == 200


def test_an_update_shows_through_the_gateway_within_a_second(services: Services) -> None:
    services.start("ingest", "gateway")
    editor = {"Authorization": f"Bearer {services.editor_token}"}
    article = {"title": "عنوان أول", "body": "نص.", "slug": "fresh-check"}
    assert (
        httpx.post(f"{services.gateway}/api/v1/articles", json=article, headers=editor).status_code
        == 201
    )
    url = f"{services.gateway}/api/v1/articles/fresh-check"
    assert httpx.get(url).json()["article"]["title"] == "عنوان أول"  # now in the gateway's cache

    changed = httpx.post(
        f"{services.gateway}/api/v1/articles",
        json={**article, "title": "عنوان بعد التحديث"},
        headers=editor,
    )
    assert changed.json()["outcome"] == "updated"
    wait_for(
        lambda: httpx.get(url).json()["article"]["title"] == "عنوان بعد التحديث",
        timeout=1.0,
        what="the new title through the gateway's cache",
    )


def test_cached_answers_revalidate_with_304_and_carry_security_headers(services: Services) -> None:
    services.start("ingest", "gateway")
    article = services.import_seed()
    url = f"{services.gateway}/api/v1/articles"
    first = httpx.get(url)
    again = httpx.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert first.headers["cache-control"] == "public, max-age=10"
    page = httpx.get(f"{services.gateway}/articles/{quote(str(article['slug']))}")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-frame-options"] == "DENY"
    problem = httpx.get(f"{services.gateway}/api/v1/articles/no-such-article")
    assert problem.status_code == 404
    assert problem.headers["content-type"] == "application/problem+json"
    assert set(problem.json()) >= {"type", "title", "status", "detail"}


def _metric(base: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in httpx.get(f"{base}/metrics").text.splitlines():
        if line.startswith(f"{name}{{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {name}{{{wanted}}}")


def test_metrics_show_lag_rising_while_a_consumer_is_stopped_and_falling_after(
    services: Services,
) -> None:
    services.start()
    article = services.import_seed()
    stream = f"{services.namespace}:views"
    browser = {
        "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    }
    services.stop("views")
    for n in range(20):
        posted = httpx.post(
            f"{services.gateway}/api/v1/articles/{article['id']}/views",
            headers={**browser, "X-Forwarded-For": f"10.1.0.{n}"},
        )
        assert posted.status_code == 202
    lag = _metric(services.gateway, "newsroom_consumer_lag", stream=stream, group="views")
    assert lag >= 20
    services.start("views")
    wait_for(
        lambda: (
            _metric(services.gateway, "newsroom_consumer_lag", stream=stream, group="views") == 0
        ),
        timeout=15,
        what="the lag to drain",
    )
    views_base = f"http://127.0.0.1:{services.ports['views']}"
    assert _metric(views_base, "newsroom_messages_total", stream=stream, outcome="processed") >= 20
    assert (
        _metric(
            services.gateway,
            "newsroom_http_requests_total",
            route="/api/v1/articles/{id_or_slug}/views",
            status="202",
        )
        >= 20
    )


def test_hot_routes_answer_exactly_as_the_framework_does(services: Services) -> None:
    """The article JSON, page and POST …/views skip FastAPI's router (services/gateway/hot.py):
    a gateway with that off must give the same answers, byte for byte."""
    services.start()
    article = services.import_seed()
    framework_port = free_port()
    framework = subprocess.Popen(
        [sys.executable, "-m", "services.gateway"],
        env={
            **services.env,
            "NEWSROOM_GATEWAY_PORT": str(framework_port),
            "NEWSROOM_HOT_ROUTES": "false",
        },
    )
    try:
        other = f"http://127.0.0.1:{framework_port}"
        wait_for(lambda: ready(other), timeout=60, what="the framework-only gateway")
        paths = [
            f"/api/v1/articles/{article['id']}",
            f"/api/v1/articles/{quote(str(article['slug']))}",
            f"/articles/{quote(str(article['slug']))}",
            "/api/v1/articles/no-such-article",
            "/articles/no-such-article",
            "/api/v1/articles/popular",
        ]
        for path in paths:
            hot, plain = httpx.get(services.gateway + path), httpx.get(other + path)
            assert (hot.status_code, hot.content) == (plain.status_code, plain.content), path
            assert _headers(hot) == _headers(plain), path
            if "etag" in hot.headers:  # and revalidation answers 304 on both
                again = {"If-None-Match": hot.headers["etag"]}
                assert httpx.get(services.gateway + path, headers=again).status_code == 304
        reader = {"User-Agent": "Mozilla/5.0 Firefox/128.0"}
        for ref in (article["id"], "no-such-article"):
            hot = httpx.post(f"{services.gateway}/api/v1/articles/{ref}/views", headers=reader)
            plain = httpx.post(f"{other}/api/v1/articles/{ref}/views", headers=reader)
            assert (hot.status_code, hot.content) == (plain.status_code, plain.content)
            assert _headers(hot) == _headers(plain)
        metrics = httpx.get(f"{services.gateway}/metrics").text
        assert 'route="/api/v1/articles/{id_or_slug}"' in metrics  # labelled by template
    finally:
        framework.terminate()
        framework.wait(30)


def _headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k not in ("date", "content-length")} | {
        "content-length": str(len(response.content))
    }
