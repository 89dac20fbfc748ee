"""A real browser (Debian's Chromium, headless) reads the seed article and comments on it."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.conftest import REPO
from tests.support import wait_for
from tests.unit.test_page_parsers import SEED_TITLE

pytestmark = pytest.mark.e2e

ARTIFACTS = REPO / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def page() -> Any:
    chromium = shutil.which("chromium")
    assert chromium, (
        "Debian's chromium is needed: `make test` installs it (scripts/ensure-debian-tools.sh)"
    )
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(
            locale="ar-SY", viewport={"width": 390, "height": 844}
        )  # a phone
        page = context.new_page()
        yield page
        context.close()
        browser.close()


def test_reader_sees_the_article_and_comments_on_it(platform_factory: Any, page: Page) -> None:
    platform = platform_factory(extra_env={"NEWSROOM_MIN_SUBMIT_SECONDS": "0.3"})
    slug = httpx.get(f"{platform.gateway}/api/v1/articles").json()["items"][0]["slug"]
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{platform.gateway}/articles/{quote(slug)}")

    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("html")).to_have_attribute("lang", "ar")
    expect(page.locator("h1")).to_have_text(SEED_TITLE)
    expect(page.locator(".meta .author")).to_have_text("فريق ماسة")
    expect(page.locator(".meta time")).to_have_text("1 نوفمبر 2025")
    expect(page.locator(".meta time")).to_have_attribute("datetime", "2025-11-01")
    expect(page.locator("[data-view-count]")).to_have_text("1085")
    expect(page.locator(".body h2")).to_have_count(2)
    expect(page.locator("html")).to_have_attribute("data-view-recorded", "202")  # it counted itself
    expect(page.locator(".required-note")).to_have_text("كل الحقول التي عليها علامة (*) مطلوبة")

    # The empty form: each required field says so, in Arabic, next to itself.
    page.click(".comment-form button[type=submit]")
    for field in ("name", "email", "comment"):
        expect(page.locator(f'[data-error-for="{field}"]')).to_have_text("هذا الحقل مطلوب.")
    expect(page.locator('[data-error-for="website"]')).to_have_text("")

    expect(page.locator("[name=form_token]")).not_to_have_value("")
    issued_ms = int(page.input_value("[name=form_token]").split(".")[0])
    page.fill("#c-name", "سارة")
    page.fill("#c-email", "sara@example.com")
    page.fill(
        "#c-comment",
        'مقال مفيد <img src=x onerror="window.__xss=1"><script>window.__xss=1</script>',
    )
    # A person takes longer than the 0.3 s the form token demands here; wait until that is true.
    wait_for(lambda: time.time() * 1000 - issued_ms > 400, what="a person's typing time")
    page.click(".comment-form button[type=submit]")
    expect(page.locator(".comment-form")).to_have_attribute(
        "data-comment-status", "approved", timeout=15_000
    )
    expect(page.locator(".form-status")).to_have_text("تم نشر تعليقك. شكراً لك!")

    page.reload()
    expect(page.locator(".comment-body")).to_contain_text("مقال مفيد")
    assert page.evaluate("window.__xss") is None  # the stored payload ran nothing
    assert errors == []
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "article-page.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"\nscreenshot: {shot}")
    assert Path(shot).stat().st_size > 10_000


def test_console_in_a_browser_moderate_schedule_and_refuse_a_cross_site_post(
    platform_factory: Any, page: Page
) -> None:
    platform = platform_factory(
        extra_env={"NEWSROOM_MODERATION_WORDS": '["casino"]', "NEWSROOM_MIN_SUBMIT_SECONDS": "0"}
    )
    gw = platform.gateway
    article = httpx.get(f"{gw}/api/v1/articles").json()["items"][0]
    reader = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Firefox/128.0"}
    token = httpx.get(f"{gw}/api/v1/comments/form-token").json()["form_token"]
    held = httpx.post(
        f"{gw}/api/v1/articles/{article['id']}/comments",
        json={"name": "قارئ", "email": "r@example.com", "comment": "casino!", "form_token": token},
        headers=reader,
    ).json()["id"]

    # A moderator logs in, approves the held comment, and sees it on the article page.
    page.goto(f"{gw}/admin/comments")
    expect(page).to_have_url(f"{gw}/admin/login")
    page.fill("#token", platform.moderator_token)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{gw}/admin/comments")
    row = page.locator(f'[data-comment-id="{held}"]')
    for _ in range(100):  # the decision may still be on its way: reload until it is listed
        if row.count():
            break
        page.wait_for_timeout(100)
        page.reload()
    row.locator("input[type=checkbox]").check()
    page.click("button[value=approve]")
    expect(page.locator(".notice")).to_contain_text("تمت الموافقة على 1")
    page.goto(f"{gw}/articles/{quote(article['slug'])}")
    expect(page.locator(f"#comment-{held}")).to_be_visible(timeout=10_000)
    page.goto(f"{gw}/admin/")
    page.click("form.logout button")

    # An editor schedules an article a few seconds ahead; it appears at its time.
    page.fill("#token", platform.editor_token)
    page.click("button[type=submit]")
    page.goto(f"{gw}/admin/articles/new")
    at = datetime.now(UTC) + timedelta(seconds=4)
    page.fill("#a-title", "خبر مجدول من المتصفح")
    page.fill("#a-slug", "scheduled-in-browser")
    page.fill("#a-body", "نص الخبر المجدول.")
    page.fill("#a-at", at.strftime("%Y-%m-%dT%H:%M:%S"))
    page.click("form.console-form button[type=submit]")
    expect(page.locator(".notice")).to_contain_text("حُفظ المقال")
    assert httpx.get(f"{gw}/articles/scheduled-in-browser").status_code == 404
    wait_for(
        lambda: httpx.get(f"{gw}/articles/scheduled-in-browser").status_code == 200,
        timeout=30,
        what="the scheduled article at its time",
    )
    assert datetime.now(UTC) >= at.replace(microsecond=0)

    # A page on another origin auto-submits a form to the console: refused.
    other = page.context.new_page()
    other.set_content(
        f'<form id="f" method="post" action="{gw}/admin/articles/{article["id"]}/unpublish">'
        '<input name="etag" value="*"></form><script>document.getElementById("f").submit()</script>'
    )
    other.wait_for_load_state()
    wait_for(lambda: other.url.startswith(gw), what="the cross-site post sent")
    assert "غير مسموح" in other.content() or other.url.endswith("/admin/login")
    assert httpx.get(f"{gw}/api/v1/articles/{article['id']}").status_code == 200
