"""The HTML import's rules, one page each: titles without the site name, dates from the
most trusted source, bylines in Arabic and English, quotes once, tables kept, notices
dropped, section, tags and lead image from the page's meta."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from services.ingest.parsing import NoArticleError, parse_html

pytestmark = pytest.mark.unit
BODY = (
    "<p>The harbour reopened on Monday after three weeks of repairs to the sea wall, "
    "the port authority said in a statement.</p>"
    "<p>Fishing boats returned to their moorings by the afternoon and the ferry service "
    "will resume its full timetable next week.</p>"
)
ARABIC_BODY = (
    "<p>أعلنت وزارة الزراعة اليوم عن بدء موسم الحصاد في المحافظات الشمالية بعد أمطار "
    "غزيرة شهدتها البلاد خلال الشتاء الماضي.</p>"
    "<p>وقال مسؤولون إن الإنتاج المتوقع يفوق إنتاج العام الماضي بنسبة كبيرة وفق التقديرات "
    "الأولية للوزارة.</p>"
)


def page(head: str = "", body: str = BODY, title: str = "Harbour reopens", lang: str = "en") -> str:
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>'
        f"{head}</head><body><header><nav><a href='/'>Home</a></nav></header>"
        f"<article><h1>{title.split(' – ')[0].split(' | ')[0]}</h1>{body}</article>"
        "<footer>© 2013 Example News. All rights reserved.</footer></body></html>"
    )


def ld(**fields: object) -> str:
    data = {"@context": "https://schema.org", "@type": "NewsArticle", **fields}
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


def test_the_title_loses_the_site_name() -> None:
    head = '<meta property="og:site_name" content="TechCrunch">'
    article = parse_html(page(head, title="Harbour reopens – TechCrunch"))
    assert article.title == "Harbour reopens"
    # No site name given: the <h1> shows the title alone.
    assert parse_html(page(title="Harbour reopens | The Daily")).title == "Harbour reopens"
    og = '<meta property="og:title" content="Harbour reopens after repairs">'
    assert parse_html(page(og, title="Harbour | Daily")).title == "Harbour reopens after repairs"


def test_dates_come_from_the_most_trusted_source() -> None:
    structured = ld(datePublished="2019-02-08T10:00:00+01:00", dateModified="2019-02-09")
    meta = '<meta property="article:published_time" content="2019-03-01T08:00:00Z">'
    widget = f"<div class='today'>{datetime.now(UTC).date().isoformat()}</div>"
    both = parse_html(page(structured + meta, body=widget + BODY))
    assert both.published_on == date(2019, 2, 8) and both.modified_on == date(2019, 2, 9)
    assert parse_html(page(meta)).published_on == date(2019, 3, 1)
    timed = BODY + '<time datetime="2018-05-04">4 May</time>'
    assert parse_html(page(body=timed)).published_on == date(2018, 5, 4)
    from_url = parse_html(page(), source_url="https://news.example/2017/11/23/harbour")
    assert from_url.published_on == date(2017, 11, 23)


def test_never_a_copyright_line_nor_todays_widget() -> None:
    today = datetime.now(UTC).date()
    widget = f"<p class='date'>{today.strftime('%d/%m/%Y')}</p>"
    article = parse_html(page(body=widget + BODY))  # and "© 2013" in the footer
    assert article.published_on not in (today, date(2013, 1, 1))


@pytest.mark.parametrize(
    ("line", "author"),
    [
        ("بقلم: سارة الأحمد", "سارة الأحمد"),
        ("كتب محمد علي", "محمد علي"),
        ("حوار: ليلى حسن", "ليلى حسن"),
        ("إعداد: فريق التحرير", "فريق التحرير"),
        ("By Jane Doe", "Jane Doe"),
    ],
)
def test_a_byline_is_the_author_not_the_first_paragraph(line: str, author: str) -> None:
    arabic = not line.startswith("By")
    body = f"<p>{line}</p>" + (ARABIC_BODY if arabic else BODY)
    article = parse_html(page(body=body, title="خبر الحصاد" if arabic else "Harbour reopens"))
    assert article.author == author
    assert all(line not in b.text for b in article.body)


def test_structured_author_wins_over_meta() -> None:
    head = ld(author={"@type": "Person", "name": "Tom Baker"}) + '<meta name="author" content="X">'
    assert parse_html(page(head)).author == "Tom Baker"
    assert parse_html(page('<meta name="author" content="Ann Lee">')).author == "Ann Lee"


def test_a_quotation_comes_out_once() -> None:
    body = (
        BODY + "<blockquote><p>We are proud of the crews who rebuilt the wall in three weeks, "
        "working through two storms.</p></blockquote>"
    )
    texts = [b.text for b in parse_html(page(body=body)).body]
    quoted = [t for t in texts if "proud of the crews" in t]
    assert len(quoted) == 1


def test_a_content_table_is_kept_as_a_table() -> None:
    table = (
        "<table><tr><th>Team</th><th>Points</th></tr>"
        "<tr><td>Harbour FC</td><td>42</td></tr><tr><td>Port United</td><td>39</td></tr></table>"
    )
    tables = [b for b in parse_html(page(body=BODY + table)).body if b.kind == "table"]
    assert len(tables) == 1
    assert tables[0].rows == [["Team", "Points"], ["Harbour FC", "42"], ["Port United", "39"]]
    assert tables[0].head
    # Readers of text alone get every row.
    assert tables[0].text == "Team | Points\nHarbour FC | 42\nPort United | 39"


def test_newsletter_reprint_and_comment_policy_notices_are_dropped() -> None:
    notices = (
        "<p>Sign up for our newsletter to get the day's news.</p>"
        "<p>All rights reserved. Reprint only with permission.</p>"
        "<p>جميع الحقوق محفوظة لموقع الأخبار.</p>"
    )
    texts = " ".join(b.text for b in parse_html(page(body=BODY + notices)).body)
    assert "newsletter" not in texts and "Reprint" not in texts and "الحقوق" not in texts
    assert "sea wall" in texts


def test_section_tags_and_lead_image_from_the_page() -> None:
    head = (
        '<meta property="article:section" content="Local">'
        '<meta name="keywords" content="harbour, storms، repairs">'
        '<meta property="og:image" content="https://img.example/harbour.jpg">'
    )
    article = parse_html(page(head))
    assert article.section == "Local"
    assert article.tags == ["harbour", "storms", "repairs"]
    assert article.image == "https://img.example/harbour.jpg"


def test_a_page_of_links_or_a_login_form_is_not_an_article() -> None:
    with pytest.raises(NoArticleError, match="no article"):
        parse_html(page(body="<p>Log in</p><form><input name=u><button>Go</button></form>"))


def test_arabic_diacritics_survive_byte_exact() -> None:
    text = (
        "أكّد نائب وزير الخارجية الروسي أنّ بلاده تحافظ على اتصالات مكثّفة مع سوريا منذ سنوات طويلة."
    )
    article = parse_html(page(body=f"<p>{text}</p>" + ARABIC_BODY, title="خبر", lang="ar"))
    assert article.body[0].text == text


def test_the_fallback_chain_asks_the_next_extractor_only_when_one_finds_too_little() -> None:
    from lxml import html as lxml_html

    from services.ingest.parsing.html_page import MIN_WORDS, extract_blocks
    from shared.contracts.events import BodyBlock

    asked: list[str] = []

    def finding(name: str, words: int) -> Any:
        def extractor(tree: Any, page: str, url: str | None, title: str) -> list[BodyBlock]:
            asked.append(name)
            return [BodyBlock(kind="paragraph", text=" ".join(["word"] * words))] if words else []

        return extractor

    tree = lxml_html.fromstring("<p>x</p>")
    chain = (finding("precise", 3), finding("recall", MIN_WORDS), finding("second", 50))
    assert prose(extract_blocks(tree, "", None, "", chain)) == MIN_WORDS
    assert asked == ["precise", "recall"]  # enough found: the second extractor is not asked
    asked.clear()
    chain = (finding("precise", 0), finding("recall", 4), finding("second", 2))
    assert prose(extract_blocks(tree, "", None, "", chain)) == 4  # none enough: the most
    assert asked == ["precise", "recall", "second"]


def prose(blocks: list[Any]) -> int:
    return sum(len(b.text.split()) for b in blocks)


def test_an_article_the_balanced_pass_prunes_is_found_by_the_recall_pass() -> None:
    # Laid out in an <aside>, which trafilatura's balanced pass removes as a sidebar.
    article = parse_html(page(body=f"<aside>{BODY}</aside>"))
    assert "sea wall" in " ".join(b.text for b in article.body)


def test_readability_is_a_second_extractor_of_its_own() -> None:
    from services.ingest.parsing.html_page import _readability

    notice = "<p>Sign up for our newsletter to get the day's news.</p>"
    blocks = _readability(None, page(body=BODY + notice), None, "Harbour reopens")  # type: ignore[arg-type]
    texts = " ".join(b.text for b in blocks)
    assert "sea wall" in texts and "newsletter" not in texts  # the same rules on its output
