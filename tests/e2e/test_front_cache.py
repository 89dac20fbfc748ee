"""The front cache (Debian's nginx with deploy/nginx/newsroom.conf.template) in front of a
running platform: readers' pages come from the cache, views and comments still pass."""

from __future__ import annotations

import re
import shutil
import time
import uuid
from collections.abc import Iterator
from functools import partial
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from newsroom.front_cache import FrontCache
from tests.e2e.platform import Platform
from tests.e2e.test_browser import CHROMIUM_ARGS
from tests.support import forget_namespace, free_port, post_comment, wait_for

pytestmark = pytest.mark.e2e

READER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
TOKEN = re.compile(r'name="form_token" value="([^"]*)"')


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str
) -> Iterator[tuple[Platform, FrontCache]]:
    """One platform and its front cache for the module (each start takes seconds)."""
    workdir = tmp_path_factory.mktemp("front-cache")
    namespace = f"test-{uuid.uuid4().hex[:10]}"
    env = {
        "NEWSROOM_VIEWS_PER_MINUTE": "100000",
        "NEWSROOM_COMMENTS_PER_MINUTE": "100",
        "NEWSROOM_MIN_SUBMIT_SECONDS": "0.5",
        # One reader sends two comments in a row below, seconds apart.
        "NEWSROOM_FLOOD_SECONDS": "0.1",
    }
    platform = Platform(workdir / "var", redis_url, namespace, extra_env=env)
    platform.start()
    front = FrontCache(f"127.0.0.1:{platform.ports['gateway']}", free_port(), workdir / "nginx")
    try:
        front.start()
        wait_for(lambda: _answers(front.url), timeout=10, what="nginx to answer")
        yield platform, front
    finally:
        front.stop()
        platform.stop()
        forget_namespace(redis_url, namespace)


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz").status_code == 200
    except httpx.TransportError:
        return False


def _aged(token: str) -> bool:
    return time.time() - int(token.split(".")[0]) / 1000 > 0.7


def _article(platform: Platform) -> dict[str, Any]:
    article: dict[str, Any] = httpx.get(f"{platform.gateway}/api/v1/articles").json()["items"][0]
    return article


def _cached_page(site: tuple[Platform, FrontCache]) -> tuple[dict[str, Any], str]:
    """The newest article, and its page's address through the front cache."""
    platform, front = site
    article = _article(platform)
    return article, f"{front.url}/articles/{quote(article['slug'])}"


def test_pages_come_from_the_cache_each_with_a_form_token_of_its_own(
    site: tuple[Platform, FrontCache],
) -> None:
    platform, front = site
    _, page = _cached_page(site)
    answers = [httpx.get(page, headers={"User-Agent": READER}) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.headers["x-cache-status"] for a in answers][1:] == ["HIT", "HIT"]
    tokens = [TOKEN.search(a.text).group(1) for a in answers]  # type: ignore[union-attr]
    # A token is good for one comment: readers of one cached copy each get their own.
    assert len(set(tokens)) == 3 and all(re.fullmatch(r"\d+\.[0-9a-f]{32}", t) for t in tokens)
    assert TOKEN.sub("", answers[1].text) == TOKEN.sub("", answers[2].text)
    assert "<!--#" not in answers[2].text
    # Compressed for a client that asks; the same cached copy.
    gzipped = httpx.get(page, headers={"Accept-Encoding": "gzip"})
    assert gzipped.headers["content-encoding"] == "gzip" and gzipped.text.count("<html") == 1
    # The JSON and the front page too; the gateway's own validators still answer 304.
    json_url = f"{front.url}/api/v1/articles/{_article(platform)['id']}"
    first, second = httpx.get(json_url), httpx.get(json_url)
    assert second.headers["x-cache-status"] == "HIT" and first.json() == second.json()
    again = httpx.get(json_url, headers={"If-None-Match": second.headers["etag"]})
    assert again.status_code == 304
    httpx.get(f"{front.url}/")
    assert httpx.get(f"{front.url}/").headers["x-cache-status"] == "HIT"


def test_views_counted_through_the_cached_page_equal_the_beacons_sent(
    site: tuple[Platform, FrontCache],
) -> None:
    platform, front = site
    article, page = _cached_page(site)
    before = httpx.get(f"{platform.gateway}/api/v1/articles/{article['id']}").json()["views"]
    readers = 40
    statuses = []
    with httpx.Client() as client:
        for n in range(readers):
            headers = {"User-Agent": READER, "X-Forwarded-For": f"198.51.100.{n + 1}"}
            client.get(page, headers=headers)
            beacon = client.post(
                f"{front.url}/api/v1/articles/{article['id']}/views", headers=headers
            )
            statuses.append((beacon.status_code, beacon.json()["counted"]))
    assert statuses == [(202, True)] * readers
    # Every reader's page but the first came from the cache; every beacon reached the gateway.
    assert httpx.get(page).headers["x-cache-status"] in ("HIT", "STALE", "UPDATING")

    def counted() -> dict[str, int] | None:
        views: dict[str, int] = httpx.get(
            f"{platform.gateway}/api/v1/articles/{article['id']}"
        ).json()["views"]
        return views if views["total"] >= before["total"] + readers else None

    # Counted once per reader: had the gateway taken nginx's address for every reader's,
    # the forty would have been one visitor, counted once.
    views = wait_for(counted, timeout=20, what="every beacon counted")
    assert views["total"] == before["total"] + readers


def test_editors_moderators_and_the_console_are_never_cached(
    site: tuple[Platform, FrontCache],
) -> None:
    platform, front = site
    editor = {"Authorization": f"Bearer {platform.editor_token}"}
    listing = f"{front.url}/api/v1/editor/articles"
    answers = [httpx.get(listing, headers=editor) for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 200]
    assert [a.headers.get("x-cache-status") for a in answers] == ["BYPASS", "BYPASS"]
    # What an editor fetched is not handed to a reader afterwards.
    assert httpx.get(listing).headers.get("x-cache-status") != "HIT"
    console = [httpx.get(f"{front.url}/admin/") for _ in range(2)]
    assert all("x-cache-status" not in c.headers for c in console)
    # An import through the front cache reaches ingest once.
    created = httpx.post(
        f"{front.url}/api/v1/articles",
        json={"title": "خبر عبر الواجهة", "body": "نص الخبر."},
        headers=editor,
    )
    assert created.status_code == 201, created.text


def test_a_new_comment_shows_on_the_cached_page_within_seconds(
    site: tuple[Platform, FrontCache],
) -> None:
    front = site[1]
    article, page = _cached_page(site)
    token = TOKEN.search(httpx.get(page).text).group(1)  # type: ignore[union-attr]
    assert httpx.get(page).headers["x-cache-status"] == "HIT"
    wait_for(partial(_aged, token), what="the token to age like a person's")
    posted = post_comment(
        front.url,
        article["id"],
        "تعليق عبر الواجهة المخزنة",
        name="قارئة",
        email="reader@example.com",
        headers={"User-Agent": READER},
        token=token,
    )
    assert posted.status_code == 202, posted.text
    comment_id = posted.json()["id"]
    status_url = front.url + posted.json()["status_url"]
    wait_for(lambda: httpx.get(status_url).json()["status"] == "approved", timeout=15)
    # max-age 5 s, then 5 s of stale-while-revalidate: the page shows it well within 15 s.
    shown = wait_for(
        lambda: (a := httpx.get(page)).status_code == 200 and comment_id in a.text and a,
        timeout=15,
        interval=0.25,
        what="the comment on the cached page",
    )
    assert shown.headers["x-cache-status"] != "BYPASS"


def test_readers_in_a_browser_comment_from_one_cached_copy_with_and_without_javascript(
    site: tuple[Platform, FrontCache],
) -> None:
    """Four readers of one cached copy: two with JavaScript (one sends two comments), two
    without; every comment is taken, none refused as a form already sent."""
    platform = site[0]
    article, page_url = _cached_page(site)
    httpx.get(page_url)
    assert httpx.get(page_url).headers["x-cache-status"] == "HIT"
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is needed: `make test` installs it"
    sent: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            for n, script in enumerate((True, True, False, False)):
                context = browser.new_context(
                    locale="ar-SY",
                    java_script_enabled=script,
                    # Four readers, four addresses (nginx passes them on to the gateway).
                    extra_http_headers={"X-Forwarded-For": f"203.0.113.{n + 1}"},
                )
                page = context.new_page()
                page.goto(page_url)
                for round_ in range(2 if n == 0 else 1):
                    text = f"تعليق القارئ {n} رقم {round_} من الصفحة المخزنة"
                    token = page.input_value("[name=form_token]")
                    wait_for(partial(_aged, token), what="a person's typing time")
                    page.fill("#c-name", f"قارئ {n}")
                    page.fill("#c-email", f"cached-{n}@example.com")
                    page.fill("#c-comment", text)
                    page.click(".comment-form button[type=submit]")
                    status = page.locator(".form-status")
                    if script:
                        expect(page.locator(".comment-form")).to_have_attribute(
                            "data-comment-status", "approved", timeout=15_000
                        )
                        # The next comment gets a fresh token (the script fetched one).
                        expect(page.locator("[name=form_token]")).not_to_have_value(token)
                    else:
                        page.wait_for_url(re.compile(r"\?comment="), timeout=15_000)
                        expect(status).not_to_have_text("")
                    sent.append(text)
                if script:
                    expect(page.locator("html")).to_have_attribute("data-view-recorded", "202")
                context.close()
        finally:
            browser.close()

    def shown() -> bool:
        html = httpx.get(f"{platform.gateway}/articles/{quote(article['slug'])}").text
        return all(text in html for text in sent)

    wait_for(shown, timeout=20, what="all five comments on the article")
