"""The reader site through the gateway, every service running: pages, pagination,
sections and authors, the page head, search, feeds, sitemaps, robots.txt, error
pages, and the comment form without JavaScript."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin

import feedparser
import httpx
import pytest
from lxml import etree

from tests.e2e.platform import Services
from tests.support import forget_namespace, wait_for

pytestmark = pytest.mark.e2e
SCHEMAS = Path(__file__).resolve().parents[1] / "schemas" / "sitemaps"
SECTION = "اقتصاد"
ENGLISH = {
    "title": "Markets rally as central banks pause",
    "author": "Jane Doe",
    "published_on": "2025-10-30",
    "section": "Business",
    "tags": ["markets", "banks"],
    "image": "https://images.example/markets.jpg",
    "body": [
        {
            "kind": "paragraph",
            "text": "Stock markets rose on Thursday after the central banks held their rates.",
        },
        {
            "kind": "table",
            "rows": [["Index", "Change"], ["FTSE 100", "+1.2%"], ["DAX", "  +0.9% "]],
            "head": True,
        },
        {
            "kind": "paragraph",
            "text": "Investors welcomed the pause, which analysts had expected for weeks.",
        },
    ],
}
ROWS = [["Index", "Change"], ["FTSE 100", "+1.2%"], ["DAX", "+0.9%"]]


@dataclass
class Site:
    services: Services
    seed: dict[str, Any]
    english: dict[str, Any]
    section_ids: list[str]
    deleted_slug: str

    @property
    def url(self) -> str:
        return self.services.gateway

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Accept": "text/html", **kwargs.pop("headers", {})}
        return httpx.get(urljoin(self.url, path), headers=headers, timeout=10, **kwargs)


def _editor(services: Services) -> dict[str, str]:
    return {"Authorization": f"Bearer {services.editor_token}"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Site]:
    namespace = f"test-{uuid.uuid4().hex[:10]}"
    services = Services(tmp_path_factory.mktemp("site") / "var", redis_url, namespace)
    services.extra_env.update({"NEWSROOM_MIN_SUBMIT_SECONDS": "0"})
    try:
        services.start()
        seed = services.import_seed()
        api = f"{services.gateway}/api/v1/articles"
        english = httpx.post(api, json=ENGLISH, headers=_editor(services), timeout=30)
        assert english.status_code in (200, 201), english.text
        section_ids = []
        for n in range(25):
            created = httpx.post(
                api,
                json={
                    "title": f"تقرير الاقتصاد رقم {n}",
                    "author": "سارة الكاتبة",
                    "section": SECTION,
                    "published_on": (datetime(2025, 9, 1) + timedelta(days=n)).date().isoformat(),
                    "body": f"ارتفع مؤشر الأسهم في التقرير {n}.",
                },
                headers=_editor(services),
                timeout=30,
            )
            assert created.status_code in (200, 201), created.text
            section_ids.append(created.json()["article"]["id"])
        today = httpx.post(
            api, json={"title": "خبر اليوم", "body": "نص خبر اليوم."}, headers=_editor(services)
        )
        assert today.status_code in (200, 201), today.text
        doomed = httpx.post(
            api, json={"title": "مقال سيحذف", "body": "نص."}, headers=_editor(services)
        ).json()["article"]
        assert httpx.delete(f"{api}/{doomed['id']}", headers=_editor(services)).status_code == 200
        yield Site(services, seed, english.json()["article"], section_ids, doomed["slug"])
    finally:
        services.stop_all()
        forget_namespace(redis_url, namespace)


class Page(HTMLParser):
    """What a crawler reads of a page: links, metas, JSON-LD, elements by id."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.links: list[dict[str, str]] = []
        self.metas: dict[str, str] = {}
        self.anchors: list[dict[str, str]] = []
        self.json_ld: list[Any] = []
        self.html_attrs: dict[str, str] = {}
        self.article_attrs: dict[str, str] = {}
        self._in_ld = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.html_attrs = a
        elif tag == "article":
            self.article_attrs = a
        elif tag == "link":
            self.links.append(a)
        elif tag == "meta" and ("property" in a or "name" in a):
            self.metas[a.get("property") or a["name"]] = a.get("content", "")
        elif tag == "a":
            self.anchors.append(a)
        elif tag == "script" and a.get("type") == "application/ld+json":
            self._in_ld = True

    def handle_data(self, data: str) -> None:
        if self._in_ld:
            self.json_ld.append(json.loads(data))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_ld = False

    def link(self, rel: str) -> str | None:
        return next((x["href"] for x in self.links if x.get("rel") == rel), None)


def article_path(article: dict[str, Any]) -> str:
    return f"/articles/{quote(article['slug'], safe='-')}"


def test_front_page_pages_both_ways_and_stays_stable_under_new_publications(site: Site) -> None:
    first = Page(site.get("/").text)
    titles: list[str] = []
    page, path = first, "/"
    while True:
        body = site.get(path).text
        page = Page(body)
        titles += re.findall(r'<a href="/articles/[^"]+" dir="auto">([^<]+)</a>', body)
        older = next((a["href"] for a in page.anchors if a.get("rel") == "next"), None)
        if older is None:
            break
        path = older.replace("&amp;", "&")
    assert len(titles) == len(set(titles)) == 28  # 25, seed, English, today's; not the deleted
    # A publication after the reader opened page 1 does not shift page 2.
    second_path = next(a["href"] for a in first.anchors if a.get("rel") == "next")
    before = site.get(second_path).text
    httpx.post(
        f"{site.url}/api/v1/articles",
        json={"title": "خبر عاجل جديد", "body": "نص عاجل."},
        headers=_editor(site.services),
    )
    wait_for(lambda: "خبر عاجل جديد" in site.get("/").text, what="the new article on page 1")
    assert _titles(site.get(second_path).text) == _titles(before)
    # …and "newer" from page 2 leads back to a page that ends where page 2 starts.
    newer = next(a["href"] for a in Page(before).anchors if a.get("rel") == "prev")
    assert site.get(newer.replace("&amp;", "&")).status_code == 200
    assert site.get("/?cursor=not-a-cursor").status_code == 400


def _titles(html: str) -> list[str]:
    return re.findall(r'<a href="/articles/[^"]+" dir="auto">([^<]+)</a>', html)


def test_section_and_author_pages_list_their_articles(site: Site) -> None:
    section = site.get(f"/sections/{quote(SECTION)}")
    assert section.status_code == 200
    listed = _titles(section.text)
    assert len(listed) == 20 and all("تقرير الاقتصاد" in t for t in listed)
    older = next(a["href"] for a in Page(section.text).anchors if a.get("rel") == "next")
    assert len(_titles(site.get(older.replace("&amp;", "&")).text)) == 5
    author = site.get(f"/authors/{quote('سارة الكاتبة')}")
    assert author.status_code == 200 and len(_titles(author.text)) == 20
    # A section or author no article names does not exist: a 404 page, kept out of indexes.
    for missing, message in (
        (f"/sections/{quote('لا يوجد')}", "القسم غير موجود"),
        (f"/authors/{quote('لا أحد')}", "الكاتب غير موجود"),
    ):
        empty = site.get(missing)
        assert empty.status_code == 404 and message in empty.text
        assert Page(empty.text).metas["robots"].startswith("noindex")
    head = Page(section.text)
    assert head.json_ld[0]["@type"] == "CollectionPage"
    items = head.json_ld[0]["mainEntity"]["itemListElement"]
    assert len(items) == 20 and items[0]["position"] == 1


def test_arabic_article_page_head_and_labels(site: Site) -> None:
    response = site.get(article_path(site.seed))
    page = Page(response.text)
    assert page.html_attrs == {"lang": "ar", "dir": "rtl"}
    assert page.article_attrs["lang"] == "ar" and page.article_attrs["dir"] == "rtl"
    canonical = page.link("canonical")
    assert canonical and canonical.endswith(article_path(site.seed))
    assert page.metas["og:type"] == "article" and page.metas["og:title"].startswith("روسيا")
    assert 50 < len(page.metas["description"]) <= 160
    assert page.metas["twitter:card"] == "summary"
    ld = page.json_ld[0]
    assert ld["@type"] == "NewsArticle" and ld["headline"].startswith("روسيا")
    assert ld["author"] == {"@type": "Person", "name": "فريق ماسة"}
    assert ld["datePublished"].startswith("2025-11-01") and ld["publisher"]["name"]
    assert "1085</span> مشاهدة" in response.text
    assert '<time datetime="2025-11-01">1 نوفمبر 2025</time>' in response.text


def test_english_article_is_left_to_right_inside_the_arabic_site(site: Site) -> None:
    response = site.get(article_path(site.english))
    page = Page(response.text)
    assert page.html_attrs == {"lang": "ar", "dir": "rtl"}
    assert page.article_attrs["lang"] == "en" and page.article_attrs["dir"] == "ltr"
    assert page.metas["og:image"] == ENGLISH["image"]
    assert page.metas["twitter:card"] == "summary_large_image"
    assert f'src="{ENGLISH["image"]}"' in response.text
    ld = page.json_ld[0]
    assert ld["inLanguage"] == "en" and ld["image"] == [ENGLISH["image"]]
    assert ld["articleSection"] == "Business" and ld["keywords"] == ["markets", "banks"]


def test_a_table_stays_a_table_in_the_api_the_page_and_the_feed(site: Site) -> None:
    slug = quote(site.english["slug"], safe="-")
    body = site.get(f"/api/v1/articles/{slug}").json()["article"]["body"]
    assert body[1] == {
        "kind": "table",
        "text": "Index | Change\nFTSE 100 | +1.2%\nDAX | +0.9%",
        "rows": ROWS,
        "head": True,
    }
    assert set(body[0]) == {"kind", "text"}  # paragraphs are as they always were
    html = site.get(article_path(site.english)).text
    table = html[html.index("<table>") : html.index("</table>")]
    assert '<th scope="col">Index</th><th scope="col">Change</th>' in table
    assert "<td>DAX</td><td>+0.9%</td>" in table
    entries = feedparser.parse(site.get("/feed.xml").content).entries
    entry = next(e for e in entries if e.title == ENGLISH["title"])
    assert "<tr><th>Index</th><th>Change</th></tr>" in entry.content[0].value


def test_search_api_and_page_understand_arabic(site: Site) -> None:
    def hits(q: str) -> list[str]:
        response = httpx.get(f"{site.url}/api/v1/search", params={"q": q})
        assert response.status_code == 200, response.text
        return [h["id"] for h in response.json()["items"]]

    for q in ("الأصعدة", "الاصعدة", "أصعدة", "موسكو"):
        assert wait_for(partial(hits, q), what=f"search {q}") == [site.seed["id"]], q
    assert hits("central BANKS") == [site.english["id"]]
    page = site.get("/search", params={"q": "موسكو"})
    assert page.status_code == 200 and "<mark>موسكو</mark>" in page.text
    canonical = Page(page.text).link("canonical")
    assert canonical and canonical.endswith("/search?q=%D9%85%D9%88%D8%B3%D9%83%D9%88")
    for bad in ("", "!!!", "x" * 10_000):
        response = httpx.get(f"{site.url}/api/v1/search", params={"q": bad})
        assert response.status_code == 422 and response.json()["errors"], bad
    assert site.get("/search", params={"q": "x" * 10_000}).status_code == 422
    syntax = httpx.get(f"{site.url}/api/v1/search", params={"q": '"a" OR NEAR('})
    assert syntax.status_code == 200
    # Paged: 25 reports match "مؤشر", 10 a page.
    first = httpx.get(f"{site.url}/api/v1/search", params={"q": "مؤشر"}).json()
    assert first["total"] == 25 and len(first["items"]) == 10 and first["next_cursor"]
    # An unpublished article leaves the results within seconds.
    target = site.section_ids[0]
    httpx.post(f"{site.url}/api/v1/articles/{target}/unpublish", headers=_editor(site.services))
    wait_for(
        lambda: httpx.get(f"{site.url}/api/v1/search", params={"q": "مؤشر"}).json()["total"] == 24,
        what="the unpublished article out of the results",
    )
    httpx.post(f"{site.url}/api/v1/articles/{target}/restore", headers=_editor(site.services))


def test_feeds_read_back_by_a_feed_reader(site: Site) -> None:
    rss = site.get("/feed.xml")
    assert rss.headers["content-type"].startswith("application/rss+xml")
    feed = feedparser.parse(rss.content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.feed.language == "ar" and len(feed.entries) == 20
    entry = next(e for e in feed.entries if e.title.startswith("روسيا"))
    assert "موسكو" in entry.content[0].value  # the full text
    assert entry.link.endswith(article_path(site.seed))
    atom = feedparser.parse(site.get("/atom.xml").content)
    assert not atom.bozo and atom.version == "atom10" and len(atom.entries) == 20
    section = feedparser.parse(site.get(f"/sections/{quote(SECTION)}/feed.xml").content)
    assert not section.bozo and {e.title for e in section.entries} <= {
        f"تقرير الاقتصاد رقم {n}" for n in range(25)
    }
    for feed_of_nothing in ("feed.xml", "atom.xml"):  # a section no article names: as its page
        assert site.get(f"/sections/{quote('لا يوجد')}/{feed_of_nothing}").status_code == 404
    # ETag and Last-Modified: an unchanged feed answers 304.
    again = site.get("/feed.xml", headers={"If-None-Match": rss.headers["etag"]})
    assert again.status_code == 304 and rss.headers["last-modified"]


def _schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / name)))


def test_sitemaps_validate_and_robots_names_them(site: Site) -> None:
    index = site.get("/sitemap.xml")
    tree = etree.fromstring(index.content)
    _schema("siteindex.xsd").assertValid(tree)
    locs = [e.text for e in tree.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
    urlset = _schema("sitemap.xsd")
    listed: list[str] = []
    for loc in locs:
        assert loc
        doc = etree.fromstring(site.get(loc.replace(site.url, "")).content)
        urlset.assertValid(doc)
        listed += [
            e.text or "" for e in doc.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")
        ]
    assert any(u.endswith(article_path(site.seed)) for u in listed)
    assert not any(quote(site.deleted_slug, safe="-") in u for u in listed)
    # The news sitemap: only the last 48 hours (here: the articles sent without a date).
    news = etree.fromstring(site.get("/sitemaps/news.xml").content)
    urlset.assertValid(news)
    titles = {e.text for e in news.iter("{http://www.google.com/schemas/sitemap-news/0.9}title")}
    assert "خبر اليوم" in titles
    assert not titles & {"مقال سيحذف", site.seed["title"], ENGLISH["title"]}
    robots = site.get("/robots.txt").text
    assert f"Sitemap: {site.url}/sitemap.xml" in robots and "Disallow: /admin/" in robots


def test_browsers_get_arabic_error_pages_and_scripts_get_problems(site: Site) -> None:
    missing = site.get("/no/such/page")
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
    assert "الصفحة غير موجودة" in missing.text and 'lang="ar"' in missing.text
    assert site.get(f"/articles/{quote(site.deleted_slug)}").status_code == 410
    api = httpx.get(f"{site.url}/api/v1/nothing", headers={"Accept": "text/html"})
    assert api.status_code == 404 and api.headers["content-type"] == "application/problem+json"
    plain = httpx.get(f"{site.url}/no/such/page")
    assert plain.headers["content-type"] == "application/problem+json"
    icon = site.get("/favicon.ico")
    assert icon.status_code == 200 and icon.content.startswith(b"\x89PNG")


def test_comment_form_without_javascript(site: Site) -> None:
    page = site.get(article_path(site.seed)).text
    token = re.search(r'name="form_token" value="([^"]+)"', page)
    assert token, "the page renders a form token for readers without JavaScript"
    other = re.search(r'name="form_token" value="([^"]+)"', site.get(article_path(site.seed)).text)
    assert other and other.group(1) != token.group(1)  # one per page load
    action = f"{site.url}/api/v1/articles/{site.seed['id']}/comments"
    browser = {"Accept": "text/html", "Origin": site.url, "Accept-Language": "ar"}
    form = {
        "name": "قارئة",
        "email": "not-an-email",
        "comment": "تعليق من دون جافاسكربت",
        "form_token": token.group(1),
    }
    refused = httpx.post(action, data=form, headers=browser)
    assert refused.status_code == 422 and "text/html" in refused.headers["content-type"]
    assert 'value="قارئة"' in refused.text  # what the reader typed is kept
    assert re.search(r'data-error-for="email" role="alert">[^<]+<', refused.text)
    fresh = re.search(r'name="form_token" value="([^"]+)"', refused.text)
    assert fresh
    form.update(email="reader@example.com", form_token=fresh.group(1))
    taken = httpx.post(action, data=form, headers=browser)
    assert taken.status_code == 303
    location = taken.headers["location"]
    assert location.startswith(article_path(site.seed) + "?comment=")
    answer = site.get(location.split("#")[0])
    assert answer.status_code == 200 and "no-store" in answer.headers["cache-control"]
    assert re.search(r'data-comment-status="(pending|approved)"', answer.text)
    comment_id = location.split("comment=")[1].split("#")[0]
    status = wait_for(
        lambda: (
            (s := httpx.get(f"{site.url}/api/v1/comments/{comment_id}").json())["status"]
            != "pending"
            and s
        ),
        what="the decision",
    )
    assert status["status"] == "approved", status  # not held for lacking JavaScript
    english = site.get(location.split("#")[0], headers={"Accept-Language": "en"})
    assert "Your comment is published" in english.text

    def published() -> str | None:
        text = site.get(article_path(site.seed)).text
        return text if "تعليق من دون" in text else None

    shown = wait_for(published, what="the comment on the page")
    assert shown and re.search(r'<time class="comment-date" datetime="[^"]+">[^<]+2\d{3}', shown)
    assert "تعليق واحد" in shown or "تعليقان" in shown or "تعليقات" in shown


def test_page_cache_headers(site: Site) -> None:
    response = site.get(article_path(site.seed))
    assert response.headers["cache-control"].startswith("public")
    again = site.get(article_path(site.seed), headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304
    for path in ("/", f"/sections/{quote(SECTION)}", "/feed.xml", "/sitemap.xml"):
        first = site.get(path)
        assert first.headers.get("etag"), path
        assert site.get(path, headers={"If-None-Match": first.headers["etag"]}).status_code == 304
