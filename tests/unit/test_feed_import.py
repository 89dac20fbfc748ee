"""Feeds as partners send them: RSS 2.0 with content:encoded, Atom, a broken entry."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from services.ingest.parsing.feed import NotAFeed, parse_feed
from services.ingest.parsing.fragments import html_blocks

pytestmark = pytest.mark.unit
FEEDS = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"


def test_rss_entries_become_articles_and_a_broken_one_is_reported() -> None:
    feed = parse_feed((FEEDS / "partner.rss").read_bytes())
    assert feed.title == "وكالة شريكة"
    assert [key for key, _ in feed.drafts] == ["partner-1001", "partner-1003"]
    assert feed.broken == [("partner-1002", "the entry has no title")]
    fair = feed.drafts[0][1]
    assert fair.title == "افتتاح معرض الكتاب في دمشق"
    assert fair.external_id == "partner-1001" and fair.author == "سارة الأحمد"
    assert fair.published_on == date(2025, 11, 2)
    assert "language" not in fair.model_fields_set  # detected per entry by ingest
    # The full text from content:encoded, not the summary.
    assert [(b.kind, b.text) for b in fair.body] == [
        ("paragraph", "افتتح اليوم معرض الكتاب الدولي في دمشق بمشاركة واسعة من دور النشر العربية."),
        ("heading", "برنامج المعرض"),
        ("paragraph", "يتضمن البرنامج ندوات وأمسيات شعرية على مدى عشرة أيام."),
    ]
    assert fair.tags == ["ثقافة"] and fair.image == "https://partner.example/img/fair.jpg"
    ferry = feed.drafts[1][1]
    assert ferry.body[0].text.startswith("The ferry between the two islands")  # the summary


def test_atom_entries_too() -> None:
    feed = parse_feed((FEEDS / "partner.atom").read_bytes())
    ((key, harbour),) = feed.drafts
    assert key == "urn:partner:wire:42" and harbour.author == "Tom Baker"
    assert harbour.source_url == "https://partner.example/harbour"
    assert [b.text for b in harbour.body] == [
        "The harbour reopened on Monday after three weeks of repairs.",
        "Boats returned by the afternoon.",
    ]


@pytest.mark.parametrize("document", [b"", b"not xml at all", b"<html><body>a page</body></html>"])
def test_what_is_not_a_feed_is_refused(document: bytes) -> None:
    with pytest.raises(NotAFeed):
        parse_feed(document)


def test_entry_html_keeps_loose_text_and_drops_scripts() -> None:
    blocks = html_blocks(
        "First line<br>second <b>bold</b> line<script>x()</script><ul><li>one</li></ul>"
    )
    assert [b.text for b in blocks] == ["First line", "second bold line", "one"]


def test_an_entry_table_stays_a_table() -> None:
    blocks = html_blocks(
        "<p>النتائج:</p><table><tr><th>الفريق</th><th>النقاط</th></tr>"
        "<tr><td>الوحدة</td><td>42</td></tr><tr><td></td><td></td></tr></table>"
    )
    assert blocks[1].kind == "table" and blocks[1].head
    assert blocks[1].rows == [["الفريق", "النقاط"], ["الوحدة", "42"]]  # the empty row dropped
