"""Parse a page text dump like ``newsroom/demo/article-page.txt``.

Shape: an optional ``#`` line, bullet lines with the article's metadata
(author, date, view count, in any order), the title, then the body, then
page chrome (the comment form). Paragraphs are separated by blank lines; a
short line that does not end a sentence is a sub-heading.
"""

from __future__ import annotations

import re
from datetime import date

from shared.contracts.api import ArticleIn
from shared.contracts.events import BlockKind, BodyBlock
from shared.text.arabic import clean_text

from .chrome import NoArticleError, is_chrome, looks_like_heading, starts_comment_section

_BULLET = re.compile(r"^\s*[•·●▪*\-–]\s*(.*)$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DMY_DATE = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})$")
_COUNT = re.compile(r"^\d[\d,.\u066c\s]*$")
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


def _parse_date(value: str) -> date | None:
    value = value.translate(_DIGITS)
    if m := _ISO_DATE.match(value):
        y, mo, d = map(int, m.groups())
    elif m := _DMY_DATE.match(value):
        d, mo, y = map(int, m.groups())
    else:
        return None
    try:
        return date(y, mo, d)
    except ValueError:
        return None


def _parse_count(value: str) -> int | None:
    value = value.translate(_DIGITS)
    if not _COUNT.match(value):
        return None
    return int(re.sub(r"\D", "", value))


def parse_page_dump(text: str, *, source_url: str | None = None) -> ArticleIn:
    lines = clean_text(text).split("\n")
    i = 0
    while i < len(lines) and (not lines[i].strip() or lines[i].strip() == "#"):
        i += 1

    author: str | None = None
    published_on: date | None = None
    legacy_views = 0
    while i < len(lines):
        line = lines[i].strip()
        bullet = _BULLET.match(line)
        if not line:
            i += 1
            continue
        if not bullet:
            break
        value = bullet.group(1).strip()
        if (parsed_date := _parse_date(value)) is not None:
            published_on = parsed_date
        elif (count := _parse_count(value)) is not None:
            legacy_views = count
        elif value and author is None:
            author = value
        i += 1

    title: str | None = None
    blocks: list[BodyBlock] = []
    for raw in lines[i:]:
        line = raw.strip()
        if not line:
            continue
        if starts_comment_section(line):
            break
        if is_chrome(line):
            continue
        if title is None:
            title = line
            continue
        kind: BlockKind = "heading" if looks_like_heading(line) else "paragraph"
        blocks.append(BodyBlock(kind=kind, text=line))

    # A trailing "heading" is a dangling label, not a section: keep it as text.
    if blocks and blocks[-1].kind == "heading":
        blocks[-1] = BodyBlock(kind="paragraph", text=blocks[-1].text)
    if not title or not any(b.kind == "paragraph" for b in blocks):
        raise NoArticleError("the page has no article: no title or no body text was found")
    return ArticleIn(
        title=title,
        author=author,
        published_on=published_on,
        legacy_views=legacy_views,
        body=blocks,
        source_url=source_url,
    )
