"""Parse an article out of a whole HTML page.

The page is parsed once (lxml): our metadata rules read the tree first
(:mod:`.metadata`: title without the site name, structured dates, bylines, the
view counter), then trafilatura extracts the main text from the same tree.

Extraction (its figures: docs/benchmarks.md, ``bench/extraction.py``):

- trafilatura's balanced mode, which already falls back to its readability and
  jusText ports when its own pass finds too little; favouring precision dropped
  whole articles (empty results, or only a reprint notice);
- each block once: a quotation's paragraphs are taken, not the quotation around
  them as well (trafilatura nests ``<p>`` in ``<quote>``);
- tables kept, a row a line (cells separated by ``|``);
- chrome and notices dropped: share bars, the comment form and what follows it,
  newsletter, comment-policy and reprint lines;
- a byline that starts the body becomes the author, not the first paragraph.
"""

from __future__ import annotations

import re

import trafilatura
from lxml import etree
from lxml import html as lxml_html
from trafilatura.settings import Document
from trafilatura.utils import load_html

from shared.contracts.api import ArticleIn
from shared.contracts.events import BlockKind, BodyBlock
from shared.text.arabic import clean_text

from .chrome import NoArticleError, is_chrome, starts_comment_section
from .metadata import byline, read_metadata, text_date, trusted_text_date
from .page_dump import _parse_count

_VIEW_HINT = re.compile(r"view|visit|hits|read|مشاهد|قراء|زيار", re.IGNORECASE)
#: Markup that may name a view counter (views, view-count, post-views, hits, مشاهدات):
#: looked for in the page's text before its elements are walked.
_VIEW_MARKUP = re.compile(
    r"""(?:class|id|name|property|itemprop)\s*=\s*["'][^"']*"""
    r"""(?:views|view[-_]?count|viewcount|visits|hits|reads|مشاهد|قراء|زيار)""",
    re.IGNORECASE,
)
_HTTP = re.compile(r"^https?://\S+$")
#: Fewer words than this is not an article (the shortest news briefs have more).
MIN_WORDS = 10
#: Lines that are about the site, not the article (matched as substrings, case-folded).
_NOTICES = tuple(
    s.casefold()
    for s in (
        "subscribe to our newsletter",
        "sign up for our newsletter",
        "sign up for the",
        "newsletter",
        "all rights reserved",
        "reprint",
        "republish",
        "comment policy",
        "comments are moderated",
        "جميع الحقوق محفوظة",
        "يمنع إعادة النشر",
        "لا يجوز إعادة نشر",
        "اشترك في النشرة",
        "اشترك في نشرتنا",
        "التعليقات المنشورة لا تعبر",
        "التعليقات تعبر عن رأي",
    )
)


def parse_html(page: str, *, source_url: str | None = None) -> ArticleIn:
    tree = _tree(page)
    meta = read_metadata(tree, source_url)
    views = _legacy_views(tree) if _VIEW_MARKUP.search(page) else 0
    # Our metadata rules, not trafilatura's: its metadata pass costs as much as the text.
    doc = trafilatura.bare_extraction(
        tree,
        url=source_url,
        with_metadata=False,
        include_comments=False,
        include_tables=True,
        include_images=False,
    )
    if not isinstance(doc, Document) or doc.body is None:
        raise NoArticleError("the page has no article: no main content was found")

    title = meta.title or ""
    blocks = _blocks(doc.body, title)
    author = meta.author
    # A byline opening the body ("بقلم: …", "حوار: …", "By …") is the author, not text.
    for n, block in enumerate(blocks[:2]):
        if block.kind == "paragraph" and (name := byline(block.text)):
            author = author or name
            del blocks[n]
            break

    if not title or not any(b.kind == "paragraph" for b in blocks):
        raise NoArticleError("the page has no article: no title or no body text was found")
    prose = [b.text for b in blocks if b.kind == "paragraph"]
    # Chinese and Japanese put no spaces between words: count their length too.
    words = max(sum(len(t.split()) for t in prose), sum(len(t) for t in prose) // 20)
    if words < MIN_WORDS:
        # A login form, a gallery, a list of links: what the extractor found is not prose.
        raise NoArticleError(
            f"the page has no article: {words} words of text, fewer than {MIN_WORDS}"
        )
    published = meta.published or trusted_text_date(text_date(tree), None)
    return ArticleIn(
        title=title,
        author=author,
        published_on=published,
        modified_on=meta.modified if meta.modified and meta.modified != published else None,
        legacy_views=views,
        body=blocks,
        source_url=source_url,
        section=_first([meta.section] if meta.section else []),
        tags=_tags(meta.keywords),
        image=meta.image if meta.image and _HTTP.match(meta.image) else None,
    )


def _tree(page: str) -> lxml_html.HtmlElement:
    """The page parsed once, as trafilatura parses it (broken markup repaired, an XML
    declaration or a stray encoding declaration allowed)."""
    try:
        tree = load_html(page)
    except (ValueError, TypeError, etree.ParserError) as exc:
        raise NoArticleError(f"the page cannot be read as HTML: {exc}") from exc
    if tree is None:
        raise NoArticleError("the page cannot be read as HTML")
    return tree


def _blocks(body: etree._Element, title: str) -> list[BodyBlock]:
    blocks: list[BodyBlock] = []
    seen: set[str] = set()
    for kind, text in _walk(body):
        text = " ".join(clean_text(text).split())
        if not text:
            continue
        words = text.count(" ") + 1
        # Chrome and notices are short lines: long paragraphs skip the (folding) checks.
        if words <= 12:
            if starts_comment_section(text):
                break
            if is_chrome(text):
                continue
        if words <= 40 and _is_notice(text):
            continue
        if kind == "heading" and text == title and not blocks:
            continue  # the page's own <h1> repeats the title
        key = f"{kind}:{text}"
        if key in seen:
            continue  # the same block twice (a pull quote, a repeated teaser)
        seen.add(key)
        blocks.append(BodyBlock(kind=kind, text=text))
    return blocks


def _walk(element: etree._Element) -> list[tuple[BlockKind, str]]:
    """Every block of trafilatura's output once, in reading order."""
    out: list[tuple[BlockKind, str]] = []
    for child in element:
        tag = child.tag
        if tag == "head":
            out.append(("heading", "".join(child.itertext())))
        elif tag in ("quote", "list", "div") and len(child):
            if any(c.tag in ("p", "item", "quote", "list", "head") for c in child):
                out += _walk(child)  # the inner paragraphs, not the container as well
            else:
                out.append(("paragraph", "".join(child.itertext())))
        elif tag == "table":
            for row in child.iter("row"):
                cells = [" ".join("".join(c.itertext()).split()) for c in row if c.tag == "cell"]
                if any(cells):
                    out.append(("paragraph", " | ".join(cells)))
        elif tag in ("p", "item", "quote", "code"):
            out.append(("paragraph", "".join(child.itertext())))
        elif isinstance(tag, str) and tag not in ("graphic", "ref", "lb"):
            text = "".join(child.itertext())
            if text.strip():
                out.append(("paragraph", text))
    return out


def _is_notice(text: str) -> bool:
    folded = text.casefold()
    return any(notice in folded for notice in _NOTICES)


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


def _legacy_views(tree: lxml_html.HtmlElement) -> int:
    """A view counter the page marks up (meta, itemprop or a ``views`` class), else 0."""
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
