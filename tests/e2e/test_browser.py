"""A real browser (Debian's Chromium, headless) reads the seed article and comments on it."""

from __future__ import annotations

import shutil
import time
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
        "Debian's chromium is needed: `make test` installs it (scripts/ensure-browser.sh)"
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
    expect(page.locator(".meta time")).to_have_text("2025-11-01")
    expect(page.locator("[data-view-count]")).to_have_text("1085")
    expect(page.locator(".body h2")).to_have_count(2)
    expect(page.locator("html")).to_have_attribute("data-view-recorded", "202")  # it counted itself
    expect(page.locator(".required-note")).to_have_text("كل الحقول التي عليها علامة (*) مطلوبة")

    # The empty form: each required field says so, in Arabic, next to itself.
    page.click("button[type=submit]")
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
    page.click("button[type=submit]")
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
