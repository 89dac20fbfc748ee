"""Parse an article out of a whole HTML page.

The page is parsed once (lxml): our metadata rules read the tree first
(:mod:`.metadata`: title without the site name, structured dates, bylines, the
view counter), then trafilatura extracts the main text from the same tree.

Extraction (its figures: docs/benchmarks.md, ``bench/extraction.py``):

- a fallback chain (:data:`CHAIN`): trafilatura's balanced mode (which compares its
  pass with its readability and jusText ports), then trafilatura favouring recall,
  then readability-lxml, each asked only when the ones before found fewer than
  MIN_WORDS words of prose. Favouring precision first dropped whole articles (empty
  results, or only a reprint notice);
- each block once: a quotation's paragraphs are taken, not the quotation around
  them as well (trafilatura nests ``<p>`` in ``<quote>``);
- tables kept as table blocks (rows of cells, the header row marked);
- chrome and notices dropped: share bars, the comment form and what follows it,
  newsletter, comment-policy and reprint lines;
- a byline that starts the body becomes the author, not the first paragraph.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import trafilatura
from lxml import etree
from lxml import html as lxml_html
from readability import Document as Readability
from trafilatura.settings import Document as TrafilaturaDocument
from trafilatura.utils import load_html

from shared.contracts.api import ArticleIn, is_web_url
from shared.contracts.events import BlockKind, BodyBlock
from shared.text.arabic import clean_text

from .chrome import NoArticleError, is_chrome, starts_comment_section
from .fragments import html_blocks
from .metadata import byline, read_metadata, text_date, trusted_text_date
from .page_dump import _parse_count

#: Attribute values that may name a view counter (views, view-count, post-views, hits,
#: مشاهدات). Looked for in the tree's attributes at once (~1 ms a page) before any
#: element is walked; a regular expression over the raw page cost ~5 ms a page.
_VIEW_MARKER = re.compile(r"views|view[-_]?count|visits|hits|reads|مشاهد|قراء|زيار", re.I)
_NAMING_ATTRIBUTES = etree.XPath(
    "//@class | //@id | //meta/@name | //meta/@property | //meta/@itemprop", smart_strings=False
)
_METAS = etree.XPath("//meta[@name or @property or @itemprop]")
_MARKED = etree.XPath("//*[@class or @id]")
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
    views = _legacy_views(tree)
    title = meta.title or ""
    blocks = extract_blocks(tree, page, source_url, title)
    author = meta.author
    # A byline opening the body ("بقلم: …", "حوار: …", "By …") is the author, not text.
    for n, block in enumerate(blocks[:2]):
        if block.kind == "paragraph" and (name := byline(block.text)):
            author = author or name
            del blocks[n]
            break

    if not title or not any(b.kind == "paragraph" for b in blocks):
        raise NoArticleError("the page has no article: no title or no body text was found")
    if (words := prose_words(blocks)) < MIN_WORDS:
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
        image=meta.image
        if meta.image and _HTTP.match(meta.image) and is_web_url(meta.image)
        else None,
    )


Extractor = Callable[[lxml_html.HtmlElement, str, "str | None", str], list[BodyBlock]]


def _balanced(
    tree: lxml_html.HtmlElement, page: str, url: str | None, title: str
) -> list[BodyBlock]:
    """trafilatura's balanced mode, which compares its own pass with its readability and
    jusText ports. Our metadata rules, not trafilatura's: its metadata pass costs as much
    as the text."""
    return _trafilatura(tree, url, title, favor_recall=False)


def _recall(tree: lxml_html.HtmlElement, page: str, url: str | None, title: str) -> list[BodyBlock]:
    """trafilatura favouring recall: keeps what its balanced pass prunes (an article laid
    out in an ``<aside>`` or a ``<footer>``). On a tree of its own: trafilatura prunes
    the one it is given."""
    return _trafilatura(_tree(page), url, title, favor_recall=True)


def _readability(
    tree: lxml_html.HtmlElement, page: str, url: str | None, title: str
) -> list[BodyBlock]:
    """readability-lxml, a second extractor with rules of its own (Arc90's scoring)."""
    try:
        summary = Readability(page, url=url).summary(html_partial=True)
    except Exception:  # any failure of the last resort means it found nothing
        return []
    return _kept(
        ((b.kind, Table(b.rows, b.head) if b.rows else b.text) for b in html_blocks(summary)), title
    )


#: The fallback chain: each extractor is asked only when the ones before it found fewer
#: than MIN_WORDS words of prose; the first that finds enough wins, else the one that
#: found the most (which the caller then refuses as too short). Figures:
#: docs/benchmarks.md ("HTML extraction").
CHAIN: tuple[Extractor, ...] = (_balanced, _recall, _readability)


def extract_blocks(
    tree: lxml_html.HtmlElement,
    page: str,
    url: str | None,
    title: str,
    chain: tuple[Extractor, ...] = CHAIN,
) -> list[BodyBlock]:
    best: list[BodyBlock] = []
    for extractor in chain:
        blocks = extractor(tree, page, url, title)
        if prose_words(blocks) >= MIN_WORDS:
            return blocks
        if prose_words(blocks) > prose_words(best):
            best = blocks
    return best


def prose_words(blocks: list[BodyBlock]) -> int:
    prose = [b.text for b in blocks if b.kind == "paragraph"]
    # Chinese and Japanese put no spaces between words: count their length too.
    return max(sum(len(t.split()) for t in prose), sum(len(t) for t in prose) // 20)


def _trafilatura(
    tree: lxml_html.HtmlElement, url: str | None, title: str, *, favor_recall: bool
) -> list[BodyBlock]:
    doc = trafilatura.bare_extraction(
        tree,
        url=url,
        with_metadata=False,
        include_comments=False,
        include_tables=True,
        include_images=False,
        favor_recall=favor_recall,
    )
    if not isinstance(doc, TrafilaturaDocument) or doc.body is None:
        return []
    return _kept(_walk(doc.body), title)


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


def _kept(found_blocks: Iterable[tuple[BlockKind, str | Table]], title: str) -> list[BodyBlock]:
    """The blocks a reader wants: chrome, notices, the repeated title and repeats dropped,
    nothing after the comment section's start."""
    blocks: list[BodyBlock] = []
    seen: set[str] = set()
    for kind, found in found_blocks:
        if isinstance(found, Table):
            rows = [[" ".join(clean_text(cell).split()) for cell in row] for row in found.rows]
            rows = [row for row in rows if any(row)]
            if rows and (key := f"table:{rows}") not in seen:
                seen.add(key)
                blocks.append(BodyBlock(kind="table", text="", rows=rows, head=found.head))
            continue
        text = " ".join(clean_text(found).split())
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


@dataclass(frozen=True)
class Table:
    rows: list[list[str]]
    head: bool


def _walk(element: etree._Element) -> list[tuple[BlockKind, str | Table]]:
    """Every block of trafilatura's output once, in reading order."""
    out: list[tuple[BlockKind, str | Table]] = []
    for child in element:
        tag = child.tag
        if tag == "head":
            out.append(("heading", "".join(child.itertext())))
        elif tag in ("quote", "list", "div") and len(child):
            if any(c.tag in ("p", "item", "quote", "list", "head", "table") for c in child):
                out += _walk(child)  # the inner paragraphs, not the container as well
            else:
                out.append(("paragraph", "".join(child.itertext())))
        elif tag == "table":
            rows = [
                [" ".join("".join(c.itertext()).split()) for c in row if c.tag == "cell"]
                for row in child.iter("row")
            ]
            first = next(child.iter("row"), None)
            head = first is not None and any(c.get("role") == "head" for c in first)
            out.append(("table", Table(rows, head)))
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
    if not _VIEW_MARKER.search("\n".join(_NAMING_ATTRIBUTES(tree))):
        return 0
    for meta in _METAS(tree):
        key = " ".join(meta.get(a, "") for a in ("name", "property", "itemprop"))
        if (
            _VIEW_MARKER.search(key)
            and (count := _parse_count(meta.get("content", ""))) is not None
        ):
            return count
    for element in _MARKED(tree):
        marker = f"{element.get('class', '')} {element.get('id', '')}"
        if not _VIEW_MARKER.search(marker):
            continue
        if (count := _parse_count(" ".join(element.text_content().split()))) is not None:
            return count
    return 0
