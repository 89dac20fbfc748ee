"""Comment text → safe HTML: linkify plain URLs, keep a small inline tag set, nothing executable.

bleach only finds the URLs; nh3 (the Ammonia sanitiser, via
:func:`shared.comments.sanitize_html`) has the last word on what survives,
so a linkify mistake cannot let markup through.
"""

from __future__ import annotations

import html
import re

import bleach
import nh3

from shared.comments import sanitize_html

_LINK = re.compile(r"<a\s", re.IGNORECASE)
# Any http(s) address is a link, whatever its top-level domain; without a scheme
# only known domains are (bleach's list), or "file.txt" would become a link.
_WITH_SCHEME = bleach.linkifier.Linker(
    url_re=re.compile(r"\bhttps?://[^\s<>\"'()\[\]{}]+", re.IGNORECASE),
    callbacks=[],
    parse_email=False,
)
_WITHOUT_SCHEME = bleach.linkifier.Linker(callbacks=[], parse_email=False)


def render_comment(text: str) -> str:
    """Safe HTML for a comment: paragraphs, line breaks, links with rel="nofollow ugc"."""
    # Sanitise first so linkify only ever sees harmless markup.
    linked = _WITHOUT_SCHEME.linkify(_WITH_SCHEME.linkify(sanitize_html(text)))
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", linked) if p.strip()]
    return sanitize_html("".join(f"<p>{p.replace(chr(10), '<br>')}</p>" for p in paragraphs))


def count_links(rendered: str) -> int:
    return len(_LINK.findall(rendered))


def plain_text(rendered: str) -> str:
    """What the rendered comment says, without markup (to tell an empty comment)."""
    spaced = re.sub(r"<br>|</p>", " ", rendered)
    return " ".join(html.unescape(nh3.clean(spaced, tags=set())).split())
