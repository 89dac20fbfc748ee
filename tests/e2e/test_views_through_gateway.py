"""A reader's view goes browser → gateway → `views` stream → views service → the article."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.support import wait_for

pytestmark = pytest.mark.e2e

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def test_views_are_counted_once_per_visitor_without_bots(platform_factory: Any) -> None:
    platform = platform_factory(extra_env={"NEWSROOM_VIEWS_PER_MINUTE": "6"})
    gw = platform.gateway
    slug = httpx.get(f"{gw}/api/v1/articles").json()["items"][0]["slug"]
    url = f"{gw}/api/v1/articles/{quote(slug)}"

    def total() -> int:
        return int(httpx.get(url).json()["views"]["total"])

    assert total() == 1085  # the legacy count carried by article.published

    def post(ua: str, ref: str = quote(slug)) -> httpx.Response:
        return httpx.post(f"{gw}/api/v1/articles/{ref}/views", headers={"User-Agent": ua})

    first, again = post(FIREFOX), post(FIREFOX)
    assert (first.status_code, first.json()) == (202, {"counted": True, "reason": "accepted"})
    assert again.status_code == 202
    bot = post(GOOGLEBOT)
    assert (bot.status_code, bot.json()) == (202, {"counted": False, "reason": "bot"})
    assert post(CHROME).status_code == 202
    wait_for(
        lambda: total() == 1087, timeout=15, what="two visitors counted, the repeat and the bot not"
    )

    # One gateway per core, each caching counts for up to views_ttl: every answer has
    # them once that has passed, whichever gateway gives it.
    def shown() -> dict[str, Any] | None:
        view: dict[str, Any] = httpx.get(url).json()
        page = httpx.get(f"{gw}/articles/{quote(slug)}").text
        return view if view["views"]["total"] == 1087 and "data-view-count>1087<" in page else None

    view = wait_for(shown, timeout=15, what="the counts on the JSON and the page")
    assert view["degraded"] == ["comments"] or view["degraded"] == []
    assert view["views"]["today"] == 2 and view["views"]["unique_today"] == 2

    assert post(FIREFOX, "00000000-0000-0000-0000-000000000000").status_code == 404
    statuses = [post(FIREFOX).status_code for _ in range(6)]
    assert statuses.count(429) >= 3  # 6 per minute per client
    limited = post(FIREFOX)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1

    def most_read() -> list[dict[str, Any]] | None:
        popular: list[dict[str, Any]] = httpx.get(
            f"{gw}/api/v1/articles/popular", params={"window": "24h"}
        ).json()
        return popular if popular and popular[0]["views"] == 2 else None

    popular = wait_for(most_read, timeout=15, what="the most-read list (cached per gateway)")
    assert popular[0]["slug"] == slug
