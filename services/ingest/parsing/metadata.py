"""What a page says about its article, read from its own markup, in an order a newsroom
can trust: structured data (JSON-LD) first, then meta tags, then the page's text.

- **Title**: ``og:title``, else the ``<h1>``, else ``<title>``; the site's name is cut off
  (`` – TechCrunch``) when the page names its site or the ``<h1>`` shows the title alone.
- **Date**: JSON-LD ``datePublished``, ``article:published_time`` and its kin, a
  ``<time datetime>`` of the article, then a date in the URL. Never a copyright line, and
  never a date the page only shows as today's (a "today" widget): text dates are left to
  the extractor and then refused when they are today or a 1 January without a source.
- **Author**: JSON-LD ``author``, meta ``author``/``article:author`` (not a URL), then a byline
  (``بقلم``, ``كتب``, ``حوار:``, ``إعداد``, ``By``) that starts the body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from htmldate import find_date
from lxml import html as lxml_html

from shared.text.arabic import clean_text, fold_arabic

SEPARATORS = (" | ", " - ", " – ", " — ", " :: ", " · ", " « ", " » ", " / ")
PUBLISHED_META = (
    "article:published_time",
    "og:published_time",
    "datePublished",
    "date",
    "dc.date",
    "dc.date.issued",
    "dcterms.created",
    "pubdate",
    "publishdate",
    "sailthru.date",
    "parsely-pub-date",
)
MODIFIED_META = ("article:modified_time", "og:updated_time", "dateModified", "dcterms.modified")
_URL_DATE = re.compile(r"/((?:19|20)\d{2})[/-](0?[1-9]|1[0-2])[/-](0?[1-9]|[12]\d|3[01])(?:[/-]|$)")
_BYLINE = re.compile(
    r"^\s*(?:بقلم|كتب|كتبت|حوار|إعداد|اعداد|تقرير|by|written by)\s*[:：\-–]?\s*(?P<name>.{2,80}?)\s*$",
    re.IGNORECASE,
)


@dataclass
class PageMetadata:
    title: str | None = None
    site_name: str | None = None
    author: str | None = None
    published: date | None = None
    modified: date | None = None
    #: Where the date came from: "structured", "meta", "time", "url" (or None).
    date_source: str | None = None
    section: str | None = None
    keywords: list[str] = field(default_factory=list)
    image: str | None = None


def read_metadata(tree: lxml_html.HtmlElement, source_url: str | None) -> PageMetadata:
    found = PageMetadata()
    meta = _meta(tree)
    ld = list(_json_ld(tree))
    found.site_name = _line(meta.get("og:site_name")) or _ld_value(ld, "publisher", "name")
    found.title = best_title(
        og=_line(meta.get("og:title")) or _line(meta.get("twitter:title")),
        h1=_first_text(tree, "//h1"),
        title=_first_text(tree, "//title"),
        site=found.site_name,
    )
    found.author = _author(ld, meta)
    for source, value in (
        ("structured", _ld_value(ld, "datePublished") or _ld_value(ld, "dateCreated")),
        ("meta", next((meta[k] for k in PUBLISHED_META if meta.get(k)), None)),
        ("time", _article_time(tree)),
        ("url", _url_date(source_url)),
    ):
        if (parsed := to_date(value)) is not None:
            found.published, found.date_source = parsed, source
            break
    found.section = _line(meta.get("article:section")) or _ld_value(ld, "articleSection")
    found.keywords = [
        value for key in ("keywords", "news_keywords", "article:tag") if (value := meta.get(key))
    ] + [v for v in _ld_list(ld, "keywords")]
    found.image = (
        meta.get("og:image")
        or meta.get("og:image:url")
        or meta.get("twitter:image")
        or _ld_image(ld)
    )
    found.modified = to_date(
        _ld_value(ld, "dateModified") or next((meta[k] for k in MODIFIED_META if meta.get(k)), None)
    )
    return found


def text_date(tree: lxml_html.HtmlElement) -> date | None:
    """A date in the page's text, for pages that give none in their markup (htmldate's
    quick search; its extensive one reads copyright lines and "today" widgets)."""
    try:
        found = find_date(tree, extensive_search=False, original_date=True, outputformat="%Y-%m-%d")
    except (ValueError, TypeError):
        return None
    return to_date(found)


def best_title(
    *, og: str | None, h1: str | None, title: str | None, site: str | None
) -> str | None:
    """The article's title without the site's name."""
    for candidate in (og, h1, title):
        if not candidate:
            continue
        stripped = strip_site_name(candidate, site, others=[c for c in (og, h1, title) if c])
        if stripped:
            return stripped
    return None


def strip_site_name(title: str, site: str | None, others: list[str]) -> str:
    """``title`` without a site name set off by a separator: the one the page names, or the
    shorter side when another candidate (the ``<h1>``) is the longer side alone."""
    for sep in SEPARATORS:
        if sep not in title:
            continue
        head, _, tail = title.rpartition(sep)
        first, _, rest = title.partition(sep)
        if site and _same(tail, site):
            return head.strip()
        if site and _same(first, site):
            return rest.strip()
        if any(_same(head, other) for other in others if other != title):
            return head.strip()
        if any(_same(rest, other) for other in others if other != title):
            return rest.strip()
    return title.strip()


def byline(text: str) -> str | None:
    """The author a byline paragraph names (``بقلم: سارة``, ``By Jane Doe``), else None."""
    if len(text.split()) > 8:
        return None
    found = _BYLINE.match(text)
    if not found:
        return None
    name = found.group("name").strip(" .،,:")
    return name if 1 <= len(name.split()) <= 6 else None


def to_date(value: object) -> date | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) > 10:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
        return date.fromisoformat(text[:10])
    except ValueError:
        found = re.match(r"((?:19|20)\d{2})-(\d{2})-(\d{2})", text)
        if found:
            try:
                return date(*map(int, found.groups()))
            except ValueError:
                return None
    return None


def trusted_text_date(value: date | None, url_says: date | None) -> date | None:
    """A date the extractor found in the text, unless it looks like a widget's "today" or
    a copyright year's 1 January."""
    if value is None:
        return None
    if value >= datetime.now(UTC).date():
        return None
    if (value.month, value.day) == (1, 1) and url_says != value:
        return None
    return value


def _meta(tree: lxml_html.HtmlElement) -> dict[str, str]:
    found: dict[str, str] = {}
    for element in tree.iter("meta"):
        key = element.get("property") or element.get("name") or element.get("itemprop")
        content = element.get("content")
        if key and content and key not in found:
            found[key.strip()] = content.strip()
    return found


def _json_ld(tree: lxml_html.HtmlElement) -> Iterator[dict[str, Any]]:
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        try:
            data = json.loads(script.text or "")
        except (ValueError, TypeError):
            continue
        stack = data if isinstance(data, list) else [data]
        while stack:
            item = stack.pop(0)
            if isinstance(item, dict):
                if isinstance(item.get("@graph"), list):
                    stack.extend(item["@graph"])
                types = item.get("@type")
                types = types if isinstance(types, list) else [types]
                if any(
                    isinstance(t, str) and t.endswith(("Article", "Posting", "Report"))
                    for t in types
                ):
                    yield item
            elif isinstance(item, list):
                stack.extend(item)


def _ld_value(items: list[dict[str, Any]], key: str, sub: str | None = None) -> str | None:
    for item in items:
        value = item.get(key)
        if sub and isinstance(value, dict):
            value = value.get(sub)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _ld_list(items: list[dict[str, Any]], key: str) -> list[str]:
    out: list[str] = []
    for item in items:
        value = item.get(key)
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, list):
            out += [v for v in value if isinstance(v, str)]
    return out


def _ld_image(items: list[dict[str, Any]]) -> str | None:
    for item in items:
        value = item.get("image")
        if isinstance(value, list):
            value = value[0] if value else None
        if isinstance(value, dict):
            value = value.get("url")
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return value
    return None


def _author(ld: list[dict[str, Any]], meta: dict[str, str]) -> str | None:
    for item in ld:
        value = item.get("author")
        people = value if isinstance(value, list) else [value]
        raw = [p.get("name") if isinstance(p, dict) else p for p in people if p]
        names: list[str] = [n.strip() for n in raw if isinstance(n, str) and n.strip()]
        if names:
            return _line(", ".join(names[:3]))
    for key in ("author", "article:author", "byl", "dc.creator", "parsely-author"):
        value = meta.get(key)
        if value and not value.startswith(("http://", "https://")):
            name = _line(re.sub(r"^by\s+", "", value, flags=re.IGNORECASE))
            if name:
                return name
    return None


def _article_time(tree: lxml_html.HtmlElement) -> str | None:
    for xpath in (
        "//article//time[@datetime]",
        "//main//time[@datetime]",
        '//*[@itemprop="datePublished"][@datetime or @content]',
    ):
        for element in tree.xpath(xpath):
            value = element.get("datetime") or element.get("content")
            if value:
                return str(value)
    return None


def _url_date(url: str | None) -> str | None:
    found = _URL_DATE.search(url or "")
    if not found:
        return None
    year, month, day = (int(g) for g in found.groups())
    return f"{year:04d}-{month:02d}-{day:02d}"


def _first_text(tree: lxml_html.HtmlElement, xpath: str) -> str | None:
    for element in tree.xpath(xpath):
        text = _line(element.text_content())
        if text:
            return text
    return None


def _line(value: str | None) -> str | None:
    if not value:
        return None
    text = " ".join(clean_text(value).split())
    return text or None


def _same(a: str, b: str) -> bool:
    return " ".join(fold_arabic(a).split()) == " ".join(fold_arabic(b).split())
