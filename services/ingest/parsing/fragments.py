"""Blocks of an HTML fragment: a feed entry's content, or the article a second extractor
(readability-lxml) cut out of a page."""

from __future__ import annotations

from typing import Any

from lxml import etree
from lxml import html as lxml_html

from shared.contracts.events import BlockKind, BodyBlock
from shared.text.arabic import clean_text

_BLOCKS = {"p": "paragraph", "li": "paragraph", "blockquote": "paragraph", "pre": "paragraph"}
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_CONTAINERS = ("div", "section", "article", "ul", "ol", "figure", "main", "body")


def html_blocks(html: str) -> list[BodyBlock]:
    """Paragraphs, headings and tables of ``html`` (plain text: one paragraph a blank line)."""
    if "<" not in html:
        parts = [" ".join(p.split()) for p in clean_text(html).split("\n\n")]
        return [BodyBlock(kind="paragraph", text=p) for p in parts if p]
    try:
        root = lxml_html.fragment_fromstring(html, create_parent="div")
    except (etree.ParserError, ValueError):
        return []
    blocks: list[BodyBlock] = []
    loose: list[str] = []

    def flush() -> None:
        text = " ".join(clean_text(" ".join(loose)).split())
        if text:
            blocks.append(BodyBlock(kind="paragraph", text=text))
        loose.clear()

    def walk(element: Any) -> None:
        if element.text and element.text.strip():
            loose.append(element.text)
        for child in element:
            tag = child.tag if isinstance(child.tag, str) else ""
            if tag in _HEADINGS or tag in _BLOCKS:
                flush()
                text = " ".join(clean_text(child.text_content()).split())
                kind: BlockKind = "heading" if tag in _HEADINGS else "paragraph"
                if text:
                    blocks.append(BodyBlock(kind=kind, text=text))
            elif tag == "table":
                flush()
                if table := _table(child):
                    blocks.append(table)
            elif tag in _CONTAINERS:
                flush()
                walk(child)
            elif tag == "br":
                flush()
            elif tag not in ("script", "style", "img"):
                loose.append(child.text_content())
            if child.tail and child.tail.strip():
                loose.append(child.tail)

    walk(root)
    flush()
    return blocks


def _table(table: Any) -> BodyBlock | None:
    rows, head = [], False
    for n, row in enumerate(table.iter("tr")):
        cells = [c for c in row if c.tag in ("td", "th")]
        texts = [" ".join(clean_text(c.text_content()).split()) for c in cells]
        if any(texts):
            head = head or (n == 0 and all(c.tag == "th" for c in cells))
            rows.append(texts)
    return BodyBlock(kind="table", text="", rows=rows, head=head) if rows else None
