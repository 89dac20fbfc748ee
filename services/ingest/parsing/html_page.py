"""Parse an article out of a whole HTML page with trafilatura.

trafilatura finds the main content and the metadata (title, author, date);
we keep its headings and paragraphs in order, drop whatever chrome slipped
through, and read a legacy view counter when the page marks one up.
"""

from __future__ import annotations

import re
from datetime import date

import trafilatura
from lxml import html as lxml_html
from trafilatura.settings import Document

from shared.contracts.api import ArticleIn
from shared.contracts.events import BodyBlock
from shared.text.arabic import clean_text

from .chrome import NoArticleError, is_chrome, starts_comment_section
from .page_dump import _parse_count

_VIEW_HINT = re.compile(r"view|visit|hits|read|مشاهد|قراء|زيار", re.IGNORECASE)


def parse_html(page: str, *, source_url: str | None = None) -> ArticleIn:
    doc = trafilatura.bare_extraction(
        page,
        url=source_url,
        with_metadata=True,
        include_comments=False,
        include_formatting=True,
        include_tables=False,
        include_images=False,
        favor_precision=True,
    )
    if not isinstance(doc, Document) or doc.body is None:
        raise NoArticleError("the page has no article: no main content was found")

    title = clean_text(doc.title or "")
    blocks: list[BodyBlock] = []
    for element in doc.body.iter("head", "p", "item", "quote"):
        text = " ".join(clean_text("".join(element.itertext())).split())
        if not text:
            continue
        if starts_comment_section(text):
            break
        if is_chrome(text):
            continue
        if element.tag == "head":
            if not title:
                title = text
            if text == title and not blocks:
                continue  # the page's own <h1> repeats the title
            blocks.append(BodyBlock(kind="heading", text=text))
        else:
            blocks.append(BodyBlock(kind="paragraph", text=text))

    if not title or not any(b.kind == "paragraph" for b in blocks):
        raise NoArticleError("the page has no article: no title or no body text was found")
    return ArticleIn(
        title=title,
        author=clean_text(doc.author) if doc.author else None,
        published_on=_to_date(doc.date),
        legacy_views=_legacy_views(page),
        body=blocks,
        source_url=source_url,
        section=_first(doc.categories),
        tags=_tags(doc.tags),
        image=doc.image if doc.image and _HTTP.match(doc.image) else None,
    )


_HTTP = re.compile(r"^https?://\S+$")


def _first(values: list[str] | None) -> str | None:
    """The first of trafilatura's categories (``article:section`` first), short enough."""
    for value in values or ():
        value = " ".join(clean_text(value).split())
        if value and len(value) <= 120:
            return value
    return None


def _tags(values: list[str] | None) -> list[str]:
    """Keywords as one list; some pages put them all in one comma- or "،"-separated meta."""
    tags: list[str] = []
    for value in values or ():
        for tag in re.split(r"[,،;]", value):
            tag = " ".join(clean_text(tag).split())
            if tag and len(tag) <= 100 and tag not in tags:
                tags.append(tag)
    return tags[:30]


def _to_date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _legacy_views(page: str) -> int:
    """A view counter the page marks up (meta, itemprop or a ``views`` class), else 0."""
    try:
        tree = lxml_html.fromstring(page)
    except (ValueError, lxml_html.etree.ParserError):
        return 0
    for meta in tree.xpath("//meta[@name or @property or @itemprop]"):
        key = " ".join(meta.get(a, "") for a in ("name", "property", "itemprop"))
        if _VIEW_HINT.search(key) and (count := _parse_count(meta.get("content", ""))) is not None:
            return count
    for element in tree.xpath("//*[@class or @id]"):
        marker = f"{element.get('class', '')} {element.get('id', '')}"
        if not _VIEW_HINT.search(marker):
            continue
        if (count := _parse_count(" ".join(element.text_content().split()))) is not None:
            return count
    return 0
