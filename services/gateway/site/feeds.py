"""Feeds and what crawlers read: RSS 2.0 and Atom (site and sections, full text),
sitemaps (an index, article pages, news of the last 48 hours) and robots.txt.

Every answer has an ETag (``304`` when unchanged) and a ``Last-Modified`` from
the newest article in it; feeds are built by feedgen, sitemaps by lxml.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from math import ceil
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from feedgen.feed import FeedGenerator
from lxml import etree

from shared.contracts.api import SECTION_MAX, ArticleIndex, ArticleOut
from shared.contracts.events import BodyBlock
from shared.web.caching import cached_response, etag_for

from ..parts import GatewayParts, Parts
from ..upstreams import Gone, NotFound, Unavailable
from .head import article_path, published_at, site_url
from .pages import NO_SECTION, UNAVAILABLE, error_page

router = APIRouter(include_in_schema=False)
FEED_SIZE = 20
SITEMAP_SIZE = 1000
FEED_CACHE = "public, max-age=60, stale-while-revalidate=300"
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def body_html(article: ArticleOut) -> str:
    """The article's full text as feed readers show it."""
    return "".join(_block_html(b) for b in article.body)


def _block_html(block: BodyBlock) -> str:
    if block.kind == "heading":
        return f"<h2>{escape(block.text)}</h2>"
    if block.kind == "table" and block.rows:
        cell = "th" if block.head else "td"
        rows = []
        for row in block.rows:
            rows.append("<tr>" + "".join(f"<{cell}>{escape(c)}</{cell}>" for c in row) + "</tr>")
            cell = "td"
        return f"<table>{''.join(rows)}</table>"
    return f"<p>{escape(block.text)}</p>"


async def latest_articles(parts: GatewayParts, filters: dict[str, str]) -> list[ArticleOut]:
    """The newest published articles, whole (from the catalog: cached, fresh by events)."""
    page = await parts.lists.page(filters, limit=FEED_SIZE)

    async def whole(slug: str) -> ArticleOut | None:
        try:
            return await parts.catalog.get(slug)
        except Gone:
            return None

    found = await asyncio.gather(*(whole(item.slug) for item in page.items))
    return [a for a in found if a is not None]


def _newest(articles: Sequence[ArticleOut]) -> datetime:
    return max((a.updated_at for a in articles), default=EPOCH)


def _feed(
    parts: GatewayParts, site: str, articles: Sequence[ArticleOut], title: str, path: str
) -> FeedGenerator:
    fg = FeedGenerator()
    fg.id(site + path)
    fg.title(title)
    fg.subtitle(parts.settings.site_description)
    fg.language("ar")
    fg.generator("Newsroom")
    fg.updated(_newest(articles))
    fg.lastBuildDate(_newest(articles))
    for article in articles:
        url = site + article_path(article.slug)
        fe = fg.add_entry(order="append")
        fe.id(url)
        fe.guid(url, permalink=True)
        fe.title(article.title)
        fe.link(href=url)
        if article.author:
            fe.author({"name": article.author})
        fe.published(published_at(article))
        fe.updated(article.updated_at)
        lead = next((b.text for b in article.body if b.kind == "paragraph"), "")
        fe.summary(lead)
        fe.content(body_html(article), type="CDATA")
        if article.section:
            fe.category(term=article.section)
    return fg


def _answer(
    request: Request, body: bytes, media_type: str, modified: datetime, etag: str | None = None
) -> Response:
    response = cached_response(request, body, media_type, FEED_CACHE, etag)
    response.headers["Last-Modified"] = format_datetime(modified.astimezone(UTC), usegmt=True)
    return response


async def _feed_answer(
    request: Request,
    parts: GatewayParts,
    filters: dict[str, str],
    title: str,
    kind: str,
    missing: str | None = None,
) -> Response:
    site = site_url(parts.settings, request)
    try:
        articles = await latest_articles(parts, filters)
    except Unavailable:
        return error_page(parts, request, 503, UNAVAILABLE)
    if missing and not articles:  # a section no article names: as its page, a 404
        return error_page(parts, request, 404, missing)
    path = request.url.path
    media = "application/atom+xml" if kind == "atom" else "application/rss+xml"

    def render() -> bytes:
        fg = _feed(parts, site, articles, title, path)
        page = site + (path.rsplit("/", 1)[0] or "/")  # the page the feed follows
        if kind == "atom":
            fg.link(href=site + path, rel="self", type="application/atom+xml")
            fg.link(href=page, rel="alternate")
            # Atom's content element: feedgen writes CDATA as escaped HTML, readers decode it.
            for entry, article in zip(fg.entry(), articles, strict=True):
                entry.content(body_html(article), type="html")
            return bytes(fg.atom_str(pretty=False))
        fg.link(href=site + path, rel="self")
        fg.link(href=page, rel="alternate")  # feedgen's RSS <link> is the last one given
        fg.description(parts.settings.site_description)
        return bytes(fg.rss_str(pretty=False))

    # Rendered once per version of its articles: requests that fetched the same articles
    # at once (a cold feed under load) render it once between them, not once each.
    key = (kind, site, path, tuple((a.id, a.revision, a.updated_at) for a in articles))
    if (hit := parts.lists.feeds.get(key)) is None:
        body = render()
        hit = parts.lists.feeds[key] = (body, etag_for(body))
    body, etag = hit
    return _answer(request, body, f"{media}; charset=utf-8", _newest(articles), etag)


@router.get("/feed.xml")
async def rss_feed(request: Request, parts: Parts) -> Response:
    return await _feed_answer(request, parts, {}, parts.settings.site_name, "rss")


@router.get("/atom.xml")
async def atom_feed(request: Request, parts: Parts) -> Response:
    return await _feed_answer(request, parts, {}, parts.settings.site_name, "atom")


async def _section_feed(section: str, request: Request, parts: GatewayParts, kind: str) -> Response:
    if len(section) > SECTION_MAX:
        return error_page(parts, request, 404, NO_SECTION)
    title = f"{section} - {parts.settings.site_name}"
    return await _feed_answer(request, parts, {"section": section}, title, kind, NO_SECTION)


@router.get("/sections/{section}/feed.xml")
async def section_feed(section: str, request: Request, parts: Parts) -> Response:
    return await _section_feed(section, request, parts, "rss")


@router.get("/sections/{section}/atom.xml")
async def section_atom(section: str, request: Request, parts: Parts) -> Response:
    return await _section_feed(section, request, parts, "atom")


async def _index(parts: GatewayParts, **params: Any) -> ArticleIndex:
    data = await parts.upstreams.ingest.get_json("/sitemap", params=params)
    return ArticleIndex.model_validate(data)


def _xml(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


@router.get("/sitemap.xml")
async def sitemap_index(request: Request, parts: Parts) -> Response:
    site = site_url(parts.settings, request)
    try:
        head = await _index(parts, offset=0, limit=1)
        recent = await _index(parts, offset=max(head.total - 1, 0), limit=1)
    except (Unavailable, NotFound):
        return error_page(parts, request, 503, UNAVAILABLE)
    modified = max((e.updated_at for e in recent.items), default=EPOCH)
    root = etree.Element(f"{{{SITEMAP_NS}}}sitemapindex", nsmap={None: SITEMAP_NS})
    for n in range(1, max(ceil(head.total / SITEMAP_SIZE), 1) + 1):
        entry = etree.SubElement(root, f"{{{SITEMAP_NS}}}sitemap")
        etree.SubElement(entry, f"{{{SITEMAP_NS}}}loc").text = f"{site}/sitemaps/articles-{n}.xml"
    entry = etree.SubElement(root, f"{{{SITEMAP_NS}}}sitemap")
    etree.SubElement(entry, f"{{{SITEMAP_NS}}}loc").text = f"{site}/sitemaps/news.xml"
    return _answer(request, _xml(root), "application/xml", modified)


@router.get("/sitemaps/articles-{number}.xml")
async def article_sitemap(number: int, request: Request, parts: Parts) -> Response:
    site = site_url(parts.settings, request)
    if not 1 <= number <= 10**6:
        return error_page(parts, request, 404, "الصفحة غير موجودة.")
    try:
        index = await _index(parts, offset=(number - 1) * SITEMAP_SIZE, limit=SITEMAP_SIZE)
    except (Unavailable, NotFound):
        return error_page(parts, request, 503, UNAVAILABLE)
    if not index.items and number > 1:
        return error_page(parts, request, 404, "الصفحة غير موجودة.")
    root = etree.Element(f"{{{SITEMAP_NS}}}urlset", nsmap={None: SITEMAP_NS})
    if number == 1:  # the front page, first
        front = etree.SubElement(root, f"{{{SITEMAP_NS}}}url")
        etree.SubElement(front, f"{{{SITEMAP_NS}}}loc").text = f"{site}/"
    for item in index.items:
        url = etree.SubElement(root, f"{{{SITEMAP_NS}}}url")
        etree.SubElement(url, f"{{{SITEMAP_NS}}}loc").text = site + article_path(item.slug)
        etree.SubElement(url, f"{{{SITEMAP_NS}}}lastmod").text = item.updated_at.isoformat()
    modified = max((e.updated_at for e in index.items), default=EPOCH)
    return _answer(request, _xml(root), "application/xml", modified)


@router.get("/sitemaps/news.xml")
async def news_sitemap(request: Request, parts: Parts) -> Response:
    """Google News' sitemap: articles published in the last 48 hours (at most 1,000)."""
    site = site_url(parts.settings, request)
    since = datetime.now(UTC) - timedelta(hours=48)
    try:
        index = await _index(parts, offset=0, limit=SITEMAP_SIZE, since=since.isoformat())
    except (Unavailable, NotFound):
        return error_page(parts, request, 503, UNAVAILABLE)
    root = etree.Element(f"{{{SITEMAP_NS}}}urlset", nsmap={None: SITEMAP_NS, "news": NEWS_NS})
    for item in index.items:
        url = etree.SubElement(root, f"{{{SITEMAP_NS}}}url")
        etree.SubElement(url, f"{{{SITEMAP_NS}}}loc").text = site + article_path(item.slug)
        news = etree.SubElement(url, f"{{{NEWS_NS}}}news")
        publication = etree.SubElement(news, f"{{{NEWS_NS}}}publication")
        etree.SubElement(publication, f"{{{NEWS_NS}}}name").text = parts.settings.site_name
        etree.SubElement(publication, f"{{{NEWS_NS}}}language").text = item.language.split("-")[0]
        published = etree.SubElement(news, f"{{{NEWS_NS}}}publication_date")
        published.text = item.published_at.isoformat()
        etree.SubElement(news, f"{{{NEWS_NS}}}title").text = item.title
    modified = max((e.updated_at for e in index.items), default=EPOCH)
    return _answer(request, _xml(root), "application/xml", modified)


@router.get("/robots.txt")
async def robots(request: Request, parts: Parts) -> Response:
    site = site_url(parts.settings, request)
    body = "\n".join(
        [
            "User-agent: *",
            "Allow: /",
            "Disallow: /admin/",
            "Disallow: /api/",
            "",
            f"Sitemap: {site}/sitemap.xml",
            f"Sitemap: {site}/sitemaps/news.xml",
            "",
        ]
    ).encode()
    return cached_response(request, body, "text/plain; charset=utf-8", "public, max-age=3600")
