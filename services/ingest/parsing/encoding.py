"""A page's text from its bytes, its encoding found as a browser finds it.

Pages come in many encodings (windows-1256 and ISO-8859-6 on older Arabic sites,
ISO-8859-1 in the extraction corpus); refusing all but UTF-8 turned them away.
w3lib (Scrapy's) reads the byte-order mark, the charset the request names, then the
page's own ``<meta>`` declaration; charset-normalizer guesses when all are silent.
"""

from __future__ import annotations

from charset_normalizer import from_bytes
from w3lib.encoding import html_to_unicode, http_content_type_encoding


def _guess(raw: bytes) -> str | None:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        best = from_bytes(raw[:65536]).best()
        return best.encoding if best is not None else None
    return "utf-8"  # nearly always: no guessing needed


def page_text(raw: bytes, content_type: str | None = None) -> tuple[str, str]:
    """The page as text and the encoding it was read with. Bytes the encoding cannot map
    become U+FFFD, as in a browser, rather than refusing the page."""
    encoding, text = html_to_unicode(content_type, raw, auto_detect_fun=_guess)
    return text, encoding


def declared_text(raw: bytes, content_type: str | None) -> str:
    """A text body (a page text dump) in the charset its Content-Type names, else UTF-8.

    Raises :class:`UnicodeDecodeError` for bytes that are not in that encoding: a dump
    has no markup of its own to say otherwise.
    """
    encoding = http_content_type_encoding(content_type) or "utf-8-sig"
    return raw.decode("utf-8-sig" if encoding == "utf-8" else encoding)
