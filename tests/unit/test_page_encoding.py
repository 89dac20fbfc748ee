"""A page's text whatever its encoding, found as a browser finds it."""

from __future__ import annotations

import pytest

from services.ingest.parsing.encoding import declared_text, page_text

pytestmark = pytest.mark.unit

TITLE = "روسيا: نحافظ على اتصالات مكثفة مع سوريا"
BODY = "<p>قالت وزارة الخارجية في موسكو إن الاتصالات مستمرة على جميع الأصعدة.</p>" * 3


def _page(meta: str = "") -> str:
    return f"<html><head>{meta}<title>{TITLE}</title></head><body>{BODY}</body></html>"


def test_a_page_declaring_its_encoding_is_read_in_it() -> None:
    raw = _page('<meta charset="windows-1256">').encode("cp1256")
    text, encoding = page_text(raw)
    assert TITLE in text and encoding == "cp1256"
    legacy = _page(
        '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-6">'
    ).encode("iso-8859-6")
    assert TITLE in page_text(legacy)[0]


def test_the_requests_charset_comes_before_a_guess() -> None:
    raw = _page().encode("cp1256")  # no declaration in the page
    text, _ = page_text(raw, "text/html; charset=windows-1256")
    assert TITLE in text


def test_undeclared_pages_are_utf8_or_guessed() -> None:
    assert page_text(_page().encode())[0] == _page()  # UTF-8, nothing declared
    assert page_text(b"\xef\xbb\xbf" + _page().encode())[0] == _page()  # a BOM
    latin = "<html><body><p>Oberösterreichische Nachrichten: Größere Straßen.</p></body></html>"
    assert "Oberösterreichische" in page_text(latin.encode("latin-1"))[0]


def test_a_text_dump_is_read_in_the_charset_its_request_names() -> None:
    dump = f"{TITLE}\n\nقالت وزارة الخارجية في موسكو."
    assert declared_text(dump.encode("cp1256"), "text/plain; charset=windows-1256") == dump
    assert declared_text(b"\xef\xbb\xbf" + dump.encode(), "text/plain") == dump  # UTF-8, a BOM
    with pytest.raises(UnicodeDecodeError):
        declared_text(dump.encode("cp1256"), "text/plain")  # said nothing: UTF-8, and it is not
