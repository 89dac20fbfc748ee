"""What readers read: Arabic plural labels and dates, page titles and descriptions,
and the search terms that make different spellings one word."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.gateway.rendering import arabic_date, comments_label, json_ld, views_label
from services.gateway.site.head import describe, page_title
from services.search.indexing import Query, highlight, snippet
from services.search.terms import index_terms, query_terms, stem, wanted_forms, words

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("n", "label"),
    [
        (0, "0 مشاهدة"),
        (1085, "1085 مشاهدة"),
        (2, "2 مشاهدتان"),
        (5, "5 مشاهدات"),
        (100, "100 مشاهدة"),
    ],
)
def test_view_counts_take_the_arabic_plural_their_number_needs(n: int, label: str) -> None:
    assert views_label(n) == label


def test_comment_counts_read_as_arabic() -> None:
    assert [comments_label(n) for n in (1, 2, 3, 11)] == [
        "تعليق واحد",
        "تعليقان",
        "3 تعليقات",
        "11 تعليقاً",
    ]


def test_dates_in_arabic() -> None:
    assert arabic_date(date(2025, 11, 1)) == "1 نوفمبر 2025"
    assert arabic_date("2025-11-01") == "1 نوفمبر 2025"
    assert arabic_date(datetime(2025, 11, 1, 14, 5, tzinfo=UTC)).startswith("1 نوفمبر 2025")
    assert arabic_date(None) == ""


def test_json_ld_cannot_close_its_script_element() -> None:
    rendered = str(json_ld({"headline": "</script><script>alert(1)</script>"}))
    assert "</script>" not in rendered and "<" not in rendered


def test_titles_and_descriptions_fit_search_results() -> None:
    long = "روسيا: نحافظ على اتصالات مكثفة مع سوريا ونناقش تحسين العلاقات على كافة الأصعدة"
    assert page_title("خبر", "نيوزروم") == "خبر - نيوزروم"
    cut = page_title(long, "نيوزروم")
    assert len(cut) <= 70 and cut.endswith("…") and long.startswith(cut[:-1])
    assert len(describe("كلمة " * 100)) <= 160


@pytest.mark.parametrize("spelling", ["الأصعدة", "الاصعدة", "أصعدة", "الأَصْعِدَة", "الأصعـدة"])
def test_spellings_of_one_word_meet(spelling: str) -> None:
    indexed = set(index_terms("على كافة الأصعدة").split())
    assert any(set(group) & indexed for group in query_terms(spelling))


def test_prefixes_are_cut_only_where_a_word_remains() -> None:
    assert stem("بموسكو") == "موسكو"
    assert [stem(w) for w in words("والحكومة وبالأمس")] == ["حكومه", "امس"]
    assert stem("بلاد") == "بلاد"  # a one-letter cut would leave three letters: kept whole
    assert words("Café ZÜRICH") == ["cafe", "zurich"]


def test_queries_are_quoted_terms_only() -> None:
    q = Query(query_terms('"a" OR NEAR( title:* -x'))
    assert q.fts5() == '("a") AND ("or") AND ("near") AND ("title") AND ("x")'
    assert Query(query_terms("!!! ؟؟")).groups == []


def test_snippets_mark_the_matches_and_escape_the_rest() -> None:
    groups = wanted_forms(query_terms("موسكو"))
    body = "نص أول <b>غامق</b> ثم اجتماع في موسكو بعد ذلك"
    assert "<mark>موسكو</mark>" in snippet(body, groups)
    assert "&lt;b&gt;" in snippet(body, groups)
    assert highlight("بموسكو اليوم", groups) == "<mark>بموسكو</mark> اليوم"
