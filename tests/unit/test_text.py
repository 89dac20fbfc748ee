from __future__ import annotations

import unicodedata
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.text.arabic import SLUG_MAX_BYTES, clean_text, fold_arabic, slugify, url_slug

pytestmark = pytest.mark.unit


def test_slug_keeps_arabic_letters_and_drops_punctuation() -> None:
    assert slugify("روسيا: نحافظ على اتصالات") == "روسيا-نحافظ-على-اتصالات"


def test_slug_ignores_tashkeel_tatweel_and_case() -> None:
    assert slugify("مُحَمَّد يـــزور Paris") == slugify("محمد يزور paris") == "محمد-يزور-paris"


def test_slug_is_bounded_in_percent_encoded_bytes_and_cut_between_words() -> None:
    title = "روسيا: نحافظ على اتصالات مكثفة مع سوريا ونناقش تحسين العلاقات على كافة الأصعدة"
    slug = slugify(title)
    assert len(url_slug(slug)) <= SLUG_MAX_BYTES
    assert title.replace(":", "").replace(" ", "-").startswith(slug)


def test_slug_of_one_huge_word_is_cut_on_a_character_boundary() -> None:
    slug = slugify("ب" * 500)
    assert 0 < len(quote(slug)) <= SLUG_MAX_BYTES
    assert set(slug) == {"ب"}


def test_slug_of_punctuation_only_title_is_not_empty() -> None:
    assert slugify("!!! ...") == "article"


def test_clean_text_is_nfc_and_strips_trailing_space() -> None:
    decomposed = "e\u0301te\u0301 \r\nsecond  "
    assert clean_text(decomposed) == "été\nsecond"
    assert unicodedata.is_normalized("NFC", clean_text(decomposed))


def test_fold_arabic_unifies_forms_readers_write() -> None:
    assert fold_arabic("أَحْمَد") == fold_arabic("احمد")
    assert fold_arabic("إسلام") == fold_arabic("اسلام") == fold_arabic("آسلام")
    assert fold_arabic("مستشفى") == fold_arabic("مستشفي")
    assert fold_arabic("مدرسة") == fold_arabic("مدرسه")
    assert fold_arabic("جميـــل") == "جميل"


@given(st.text())
def test_fold_and_slug_are_idempotent(text: str) -> None:
    assert fold_arabic(fold_arabic(text)) == fold_arabic(text)
    slug = slugify(text)
    assert slugify(slug) == slug
    assert len(url_slug(slug)) <= SLUG_MAX_BYTES
