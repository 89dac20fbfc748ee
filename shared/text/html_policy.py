"""What HTML may survive in a reader's comment (one policy for every service)."""

from __future__ import annotations

import nh3

# What may survive in a comment's HTML (the most used blogging platform's inline
# set, plus paragraphs and line breaks); links get rel="nofollow ugc".
ALLOWED_TAGS = {
    "a",
    "abbr",
    "acronym",
    "b",
    "blockquote",
    "cite",
    "code",
    "del",
    "em",
    "i",
    "q",
    "s",
    "strike",
    "strong",
    "p",
    "br",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "acronym": {"title"},
    "q": {"cite"},
    "blockquote": {"cite"},
}
URL_SCHEMES = {"http", "https", "mailto"}


def sanitize_html(markup: str) -> str:
    """Keep only the allowed tags and attributes; nothing that can run script survives."""
    return nh3.clean(
        markup,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow ugc",
    )
