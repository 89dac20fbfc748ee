"""Comment text → safe HTML: keep a small inline tag set, link plain URLs, nothing executable.

The text is sanitised first (nh3, the Ammonia sanitiser, via
:func:`shared.text.html_policy.sanitize_html`), URLs in its text are then turned into
links, and the result is sanitised again, so the linking step can never let
markup through. (bleach's linkify did the same at many times the cost: it
parses with html5lib.)
"""

from __future__ import annotations

import html
import re

from shared.text.html_policy import sanitize_html, strip_tags

_TAG = re.compile(r"(<[^>]*>)")
_LINK = re.compile(r"<a[\s>]", re.IGNORECASE)
# Any http(s) address, whatever its domain; without a scheme only www. addresses
# (or "file.txt" would become a link).
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"'()\[\]{}]+", re.IGNORECASE)
_TRAILING = ".,;:!?؟،؛…»”’"


def _anchor(match: re.Match[str]) -> str:
    text = match.group(0)
    stripped = text.rstrip(_TRAILING)
    tail = text[len(stripped) :]
    if not stripped or stripped.lower() in ("http://", "https://", "www."):
        return text
    href = html.unescape(stripped)
    if href.lower().startswith("www."):
        href = "http://" + href
    return f'<a href="{html.escape(href, quote=True)}">{stripped}</a>{tail}'


def linkify(markup: str) -> str:
    """Turn URLs in the text of sanitised ``markup`` into links (not inside existing links)."""
    out: list[str] = []
    inside_link = 0
    for part in _TAG.split(markup):
        if part.startswith("<"):
            lowered = part.lower()
            if _LINK.match(lowered):
                inside_link += 1
            elif lowered.startswith("</a"):
                inside_link = max(0, inside_link - 1)
            out.append(part)
        elif inside_link or not part:
            out.append(part)
        else:
            out.append(_URL.sub(_anchor, part))
    return "".join(out)


def render_comment(text: str) -> str:
    """Safe HTML for a comment: paragraphs, line breaks, links with rel="nofollow ugc"."""
    linked = linkify(sanitize_html(text))
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", linked) if p.strip()]
    return sanitize_html("".join(f"<p>{p.replace(chr(10), '<br>')}</p>" for p in paragraphs))


def count_links(rendered: str) -> int:
    return len(_LINK.findall(rendered))


def plain_text(rendered: str) -> str:
    """What the rendered comment says, without markup (to tell an empty comment)."""
    spaced = re.sub(r"<br>|</p>", " ", rendered)
    return " ".join(html.unescape(strip_tags(spaced)).split())
