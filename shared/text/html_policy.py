"""What HTML may survive in a reader's comment (one policy for every service)."""

from __future__ import annotations

import functools

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


@functools.cache
def _comment_cleaner() -> nh3.Cleaner:
    # One configured cleaner, reused: nh3.clean() builds its sanitiser anew on every call,
    # which cost four times the cleaning itself (docs/benchmarks.md).
    return nh3.Cleaner(
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow ugc",
    )


@functools.cache
def _text_cleaner() -> nh3.Cleaner:
    return nh3.Cleaner(tags=set())


def sanitize_html(markup: str) -> str:
    """Keep only the allowed tags and attributes; nothing that can run script survives."""
    return _comment_cleaner().clean(markup)


def strip_tags(markup: str) -> str:
    """The text of ``markup``, every tag dropped (character references left as they are)."""
    return _text_cleaner().clean(markup)
