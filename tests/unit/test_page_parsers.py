from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from services.ingest.parsing import NoArticleError, parse_html, parse_page_dump
from tests.conftest import SEED

pytestmark = pytest.mark.unit
PAGES = Path(__file__).resolve().parent.parent / "fixtures" / "pages"

SEED_TITLE = "روسيا: نحافظ على اتصالات مكثفة مع سوريا ونناقش تحسين العلاقات على كافة الأصعدة"


def _seed_blocks_from_file() -> list[str]:
    """The seed's body lines, as the page shows them, for an independent comparison."""
    lines = [line.strip() for line in SEED.read_text().splitlines() if line.strip()]
    start = lines.index(SEED_TITLE) + 1
    end = lines.index("اكتب تعليق")
    return lines[start:end]


def test_seed_page_dump_yields_every_field_exactly() -> None:
    article = parse_page_dump(SEED.read_text())

    assert article.title == SEED_TITLE
    assert article.author == "فريق ماسة"
    assert article.published_on == date(2025, 11, 1)
    assert article.legacy_views == 1085
    assert [b.text for b in article.body] == _seed_blocks_from_file()
    headings = [b.text for b in article.body if b.kind == "heading"]
    assert headings == ["اجتماع سوري - روسي في موسكو", "زيارة الرئيس الشرع إلى روسيا"]
    assert article.body[0].kind == "paragraph"
    assert len(article.body) == 11


def test_seed_chrome_is_not_body_text() -> None:
    texts = " ".join(b.text for b in parse_page_dump(SEED.read_text()).body)
    assert "اكتب تعليق" not in texts
    assert "مطلوبة" not in texts


def test_dump_with_share_bar_and_form_keeps_only_the_article() -> None:
    article = parse_page_dump((PAGES / "dump-with-share-bar.txt").read_text())
    assert article.title == "الحكومة تعلن خطة جديدة لدعم المزارعين في المناطق الريفية"
    assert article.author == "أحمد الخطيب"
    assert article.published_on == date(2024, 3, 12)
    assert article.legacy_views == 2345  # Arabic-Indic digits with a thousands separator
    assert [(b.kind, b.text[:12]) for b in article.body] == [
        ("paragraph", "أعلنت وزارة "),
        ("paragraph", "وقال الوزير "),
        ("heading", "تفاصيل الخطة"),
        ("paragraph", "تشمل الخطة ث"),
    ]


def test_english_dump() -> None:
    article = parse_page_dump((PAGES / "dump-english.txt").read_text())
    assert article.title == "City council approves new bike lanes"
    assert article.published_on == date(2024, 2, 29)
    assert article.legacy_views == 17
    assert [b.kind for b in article.body] == ["paragraph", "heading", "paragraph"]
    assert all("Share" not in b.text and "required" not in b.text for b in article.body)


def test_dump_without_metadata() -> None:
    article = parse_page_dump((PAGES / "dump-no-meta.txt").read_text())
    assert article.author is None and article.published_on is None and article.legacy_views == 0
    assert len(article.body) == 2


@pytest.mark.parametrize("text", ["", "#\n  • فريق ماسة\n", "عنوان فقط\n\nاكتب تعليق\nنص"])
def test_dump_without_article_is_refused(text: str) -> None:
    with pytest.raises(NoArticleError):
        parse_page_dump(text)


def test_arabic_html_page() -> None:
    article = parse_html((PAGES / "article-ar.html").read_text())
    assert article.title == "افتتاح معرض الكتاب الدولي في دمشق"
    assert article.author == "سارة العلي"
    assert article.published_on == date(2025, 10, 20)
    assert article.legacy_views == 4210
    assert [b.kind for b in article.body] == [
        "paragraph",
        "paragraph",
        "heading",
        "paragraph",
        "paragraph",
    ]
    assert article.body[2].text == "مشاركة واسعة للشباب"
    joined = " ".join(b.text for b in article.body)
    for chrome in ("اكتب تعليق", "مطلوبة", "فيسبوك", "الأكثر قراءة", "جميع الحقوق"):
        assert chrome not in joined


def test_english_html_page() -> None:
    article = parse_html(
        (PAGES / "article-en.html").read_text(), source_url="https://example.org/harbour"
    )
    assert article.title == "Harbour reopens after storm repairs"
    assert article.author == "Tom Baker"
    assert article.published_on == date(2024, 6, 2)
    assert article.source_url == "https://example.org/harbour"
    assert [b.kind for b in article.body] == ["paragraph", "paragraph", "heading", "paragraph"]
    assert "Leave a Reply" not in " ".join(b.text for b in article.body)


def test_html_page_without_article_is_refused() -> None:
    with pytest.raises(NoArticleError):
        parse_html((PAGES / "no-article.html").read_text())
