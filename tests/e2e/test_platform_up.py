"""``newsroom up`` brings the platform up; ``newsroom import`` feeds it; readers see it."""

from __future__ import annotations

import os
import re
import subprocess
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, unquote

import httpx
import pytest

from tests.conftest import SEED
from tests.unit.test_page_parsers import SEED_TITLE, _seed_blocks_from_file

pytestmark = pytest.mark.e2e


class PageText(HTMLParser):
    """Collects (tag, text) pairs of a page, the way a reader sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, dict[str, Any]]] = []
        self.items: list[tuple[str, dict[str, Any], str]] = []
        self.html_attrs: dict[str, Any] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "html":
            self.html_attrs = dict(attrs)
        if tag not in ("meta", "link", "input", "br", "img"):
            self.stack.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        while self.stack and self.stack.pop()[0] != tag:
            pass

    def handle_data(self, data: str) -> None:
        if data.strip() and self.stack:
            tag, attrs = self.stack[-1]
            self.items.append((tag, attrs, data.strip()))

    def texts(self, tag: str) -> list[str]:
        return [text for t, _a, text in self.items if t == tag]

    def by_class(self, cls: str) -> list[str]:
        return [text for _t, a, text in self.items if cls in (a.get("class") or "").split()]


def test_up_import_and_read_the_seed_article(platform_factory: Any) -> None:
    platform = platform_factory("--no-demo")

    result: subprocess.CompletedProcess[str] = platform.cli(
        "import", str(SEED), "--gateway", platform.gateway
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 created" in result.stdout

    listing = httpx.get(f"{platform.gateway}/api/v1/articles").json()
    assert [item["title"] for item in listing["items"]] == [SEED_TITLE]
    slug = listing["items"][0]["slug"]

    view = httpx.get(f"{platform.gateway}/api/v1/articles/{quote(slug)}").json()
    article = view["article"]
    assert article["title"] == SEED_TITLE
    assert article["author"] == "فريق ماسة"
    assert article["published_on"] == "2025-11-01"
    assert article["legacy_views"] == 1085
    assert [b["text"] for b in article["body"]] == _seed_blocks_from_file()
    assert [b["text"] for b in article["body"] if b["kind"] == "heading"] == [
        "اجتماع سوري - روسي في موسكو",
        "زيارة الرئيس الشرع إلى روسيا",
    ]
    by_id = httpx.get(f"{platform.gateway}/api/v1/articles/{article['id']}").json()
    assert by_id["article"]["slug"] == slug

    page = httpx.get(f"{platform.gateway}/articles/{quote(slug)}")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    parsed = PageText()
    parsed.feed(page.text)
    assert parsed.html_attrs == {"lang": "ar", "dir": "rtl"}
    assert parsed.texts("h1") == [SEED_TITLE]
    assert parsed.by_class("author") == ["فريق ماسة"]
    # The date in Arabic for readers, machine-readable for everyone else.
    assert parsed.texts("time") == ["1 نوفمبر 2025"] and 'datetime="2025-11-01"' in page.text
    assert parsed.by_class("view-count") == ["1085"]
    assert parsed.texts("h2")[:2] == ["اجتماع سوري - روسي في موسكو", "زيارة الرئيس الشرع إلى روسيا"]
    body_paragraphs = [b for b in _seed_blocks_from_file() if b not in parsed.texts("h2")]
    assert all(p in parsed.texts("p") for p in body_paragraphs)
    # No external CDN or font host: every src/href is on this site (absolute URLs are
    # the canonical link's, on this site too).
    own = re.escape(platform.gateway)
    assert not re.search(rf'(src|href)="(https?:)?//(?!{own[len("http://") :]})', page.text)

    front = httpx.get(f"{platform.gateway}/")
    assert SEED_TITLE in front.text and quote(slug) in front.text

    asyncapi = httpx.get(f"{platform.gateway}/asyncapi.json").json()
    readable = httpx.get(f"{platform.gateway}/asyncapi")
    assert "comment.approved" in readable.text and "article.published" in readable.text
    docs = httpx.get(f"{platform.gateway}/docs").text
    assert "/docs-assets/swagger-ui-bundle.js" in docs and "cdn." not in docs
    assert httpx.get(f"{platform.gateway}/docs-assets/swagger-ui-bundle.js").status_code == 200
    assert asyncapi["channels"]["articles"]["address"] == f"{platform.namespace}:articles"

    # Importing the same page again changes nothing.
    again = platform.cli("import", str(SEED), "--gateway", platform.gateway)
    assert "1 unchanged" in again.stdout

    assert platform.stop() == 0
    assert "Stopped." in "".join(platform.output)


def test_up_loads_the_demo_article_and_prints_its_url(platform_factory: Any) -> None:
    platform = platform_factory(gateway_workers=None)  # newsroom up's own default
    printed = "".join(platform.output)
    match = re.search(r"Demo article: (\S+)", printed)
    assert match, printed
    page = httpx.get(match.group(1))
    assert page.status_code == 200
    assert SEED_TITLE in page.text
    assert unquote(match.group(1)).endswith("روسيا-نحافظ-على-اتصالات-مكثفة-مع-سوريا")
    # One gateway per core by default, all behind the one port (new connections reach each).
    cores, instances = len(os.sched_getaffinity(0)), set()
    for _ in range(100 * cores):
        instances.add(httpx.get(f"{platform.gateway}/healthz").json()["instance"])
        if len(instances) > cores:
            break
    assert len(instances) == cores
