"""Turn an RSS 2.0 or Atom feed into articles (feedparser reads both, and their dialects).

Each entry becomes an article keyed by its guid/id (``external_id``): importing the
feed again changes nothing, an edited entry updates its article. The body is the
entry's full text (``content:encoded`` / Atom ``content``), else its linked page when it
was sent along as a file, else its summary. An entry
that cannot be an article (no title, no text) is reported, and the others go on.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

import feedparser
from pydantic import ValidationError

from shared.contracts.api import ArticleIn, is_web_url
from shared.text.arabic import clean_text

from .chrome import NoArticleError
from .encoding import page_text
from .fragments import html_blocks
from .html_page import parse_html


class NotAFeed(ValueError):
    """The document is not RSS or Atom."""


@dataclass
class FeedEntries:
    title: str
    drafts: list[tuple[str, ArticleIn]] = field(default_factory=list)
    #: (entry's id or position, why it was not imported)
    broken: list[tuple[str, str]] = field(default_factory=list)


def parse_feed(document: bytes, pages: Mapping[str, bytes] | None = None) -> FeedEntries:
    """The feed's entries as articles. ``pages``: the entries' linked pages given as files,
    by file name (the last segment of the link's path) or by the whole link."""
    parsed = feedparser.parse(document)
    if not parsed.get("version") and not parsed.entries:
        reason = parsed.get("bozo_exception") or "no RSS or Atom root element"
        raise NotAFeed(f"the document is not an RSS or Atom feed: {reason}")
    feed = parsed.feed
    found = FeedEntries(title=clean_text(feed.get("title", "")) or "feed")
    # No language from the feed: a feed mixes languages (an English item in an Arabic
    # wire); ingest detects each entry's from its text.
    for n, entry in enumerate(parsed.entries, start=1):
        key = entry.get("id") or entry.get("guid") or entry.get("link") or f"#{n}"
        try:
            found.drafts.append((key, _draft(entry, key, pages or {})))
        except (ValueError, ValidationError) as exc:
            found.broken.append((key, _reason(exc)))
    return found


def _draft(entry: Any, key: str, pages: Mapping[str, bytes]) -> ArticleIn:
    """The entry's full text from ``content:encoded``/``content``; else from its linked
    page, when that page was given as a file; else its summary."""
    title = clean_text(entry.get("title", ""))
    if not title:
        raise ValueError("the entry has no title")
    link = entry.get("link") or None
    web_link = link if link and is_web_url(link) else None
    content = entry.get("content") or []
    html = next((c.get("value") for c in content if c.get("value")), None)
    page = None if html else _linked_page(link, web_link, pages)
    if page is not None:
        blocks = list(page.body)
    else:
        blocks = html_blocks(html or entry.get("summary") or entry.get("description") or "")
    if not blocks:
        raise ValueError("the entry has no text (no content and no summary)")
    values: dict[str, Any] = {
        "title": title,
        "body": [b.model_dump() for b in blocks],
        "author": clean_text(entry.get("author", "")) or (page.author if page else None),
        "published_on": _date(entry.get("published_parsed") or entry.get("updated_parsed"))
        or (page.published_on if page else None),
        "external_id": key[:300],
        "source_url": web_link,
        "tags": [t.get("term", "") for t in entry.get("tags", []) if t.get("term")][:30]
        or (page.tags if page else []),
    }
    if image := _image(entry) or (page.image if page else None):
        values["image"] = image
    if page is not None and page.section:
        values["section"] = page.section
    return ArticleIn.model_validate(values)


def _linked_page(
    link: str | None, web_link: str | None, pages: Mapping[str, bytes]
) -> ArticleIn | None:
    if not link or not pages:
        return None
    name = PurePosixPath(unquote(urlsplit(link).path)).name
    raw = pages.get(link) if link in pages else pages.get(name)
    if raw is None:
        return None
    text, _encoding = page_text(raw)
    try:
        return parse_html(text, source_url=web_link)
    except NoArticleError as exc:
        raise ValueError(f"its linked page {name}: {exc}") from exc


def _date(parsed: Any) -> date | None:
    if not parsed:
        return None
    return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC).date()


def _image(entry: Any) -> str | None:
    for media in entry.get("media_content", []) + entry.get("media_thumbnail", []):
        url = media.get("url", "")
        if is_web_url(url):
            return str(url)
    for link in entry.get("links", []):
        if link.get("rel") == "enclosure" and str(link.get("type", "")).startswith("image/"):
            url = link.get("href", "")
            if is_web_url(url):
                return str(url)
    return None


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
    return str(exc)
