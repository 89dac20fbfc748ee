"""A page's text from its bytes, its encoding found as a browser finds it.

Pages come in many encodings (windows-1256 and ISO-8859-6 on older Arabic sites,
ISO-8859-1 in the extraction corpus); refusing all but UTF-8 turned them away.
w3lib (Scrapy's) reads the byte-order mark, the charset the request names, then the
page's own ``<meta>`` declaration; charset-normalizer guesses when all are silent.
"""

from __future__ import annotations

from charset_normalizer import from_bytes
from w3lib.encoding import html_to_unicode


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
