"""The gateway for web clients: degrades instead of failing, stays fresh, caches right."""

from __future__ import annotations

import time
import uuid
from urllib.parse import quote

import httpx
import pytest

from tests.e2e.platform import Services
from tests.support import free_port, wait_for

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
    # Nothing says which server software answers (an attacker's first question).
    assert "server" not in first.headers and "server" not in page.headers
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


def with_metrics_port(services: Services) -> str:
    """The gateway's metrics on a port of their own (its public port serves none)."""
    port = free_port()
    services.service_env["gateway"] = {"NEWSROOM_METRICS_PORT": str(port)}
    return f"http://127.0.0.1:{port}"


def test_metrics_show_lag_rising_while_a_consumer_is_stopped_and_falling_after(
    services: Services,
) -> None:
    metrics = with_metrics_port(services)
    services.start()
    # Not on the public port; on the metrics port, with health beside them.
    assert httpx.get(f"{services.gateway}/metrics").status_code == 404
    assert httpx.get(f"{metrics}/readyz").json()["status"] == "ok"
    assert httpx.get(f"{metrics}/metrics").headers["content-type"].startswith("text/plain")
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
    lag = _metric(metrics, "newsroom_consumer_lag", stream=stream, group="views")
    assert lag >= 20
    services.start("views")
    wait_for(
        lambda: _metric(metrics, "newsroom_consumer_lag", stream=stream, group="views") == 0,
        timeout=15,
        what="the lag to drain",
    )
    views_base = f"http://127.0.0.1:{services.ports['views']}"
    assert _metric(views_base, "newsroom_messages_total", stream=stream, outcome="processed") >= 20
    assert (
        _metric(
            metrics,
            "newsroom_http_requests_total",
            route="/api/v1/articles/{id_or_slug}/views",
            status="202",
        )
        >= 20
    )


def test_hot_routes_answer_as_every_other_route_does(services: Services) -> None:
    """The article JSON, page and POST …/views are lean routes of FastAPI's router
    (services/gateway/lean_route.py): problems, caching, security headers, metrics by
    template and the OpenAPI document are the same as for the routes around them."""
    metrics_base = with_metrics_port(services)
    services.start()
    article = services.import_seed()
    slug = quote(str(article["slug"]))
    for path in (
        f"/api/v1/articles/{article['id']}",
        f"/api/v1/articles/{slug}",
        f"/articles/{slug}",
    ):
        first = httpx.get(services.gateway + path)
        assert first.status_code == 200, path
        assert first.headers["x-content-type-options"] == "nosniff", path
        again = httpx.get(services.gateway + path, headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304, path
    by_id = httpx.get(f"{services.gateway}/api/v1/articles/{article['id']}")
    assert by_id.content == httpx.get(f"{services.gateway}/api/v1/articles/{slug}").content
    # A literal sibling of the article route is its own route, not an article.
    assert httpx.get(f"{services.gateway}/api/v1/articles/popular").status_code == 200
    missing = httpx.get(f"{services.gateway}/api/v1/articles/no-such-article")
    other = httpx.get(f"{services.gateway}/api/v1/comments/{uuid.uuid4()}")
    assert (missing.status_code, other.status_code) == (404, 404)
    assert _headers(missing).keys() == _headers(other).keys()
    assert missing.json()["instance"] == "/api/v1/articles/no-such-article"
    page = httpx.get(f"{services.gateway}/articles/no-such-article")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    reader = {
        "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    }
    counted = httpx.post(
        f"{services.gateway}/api/v1/articles/{article['id']}/views", headers=reader
    )
    assert counted.status_code == 202 and counted.json() == {"counted": True, "reason": "accepted"}
    unknown = httpx.post(
        f"{services.gateway}/api/v1/articles/no-such-article/views", headers=reader
    )
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    metrics = httpx.get(f"{metrics_base}/metrics").text
    assert 'route="/api/v1/articles/{id_or_slug}"' in metrics  # labelled by template
    assert 'route="/api/v1/articles/{id_or_slug}/views"' in metrics
    paths = httpx.get(f"{services.gateway}/openapi.json").json()["paths"]
    assert "get" in paths["/api/v1/articles/{id_or_slug}"]
    assert "post" in paths["/api/v1/articles/{id_or_slug}/views"]


def _headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k not in ("date", "content-length")} | {
        "content-length": str(len(response.content))
    }
