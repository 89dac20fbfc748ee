"""Recognise page chrome (comment forms, share buttons) so it never becomes body text."""

from __future__ import annotations

import re

from shared.text.arabic import fold_arabic

_WORD = re.compile(r"[^\W_]+")


class NoArticleError(ValueError):
    """The input holds no recognisable article (no title or no body)."""


# Lines that start the comment section: everything after them is chrome.
_COMMENT_SECTION = {
    fold_arabic(s)
    for s in (
        "اكتب تعليق",
        "اكتب تعليقا",
        "اكتب تعليقاً",
        "أضف تعليق",
        "أضف تعليقا",
        "اترك تعليقا",
        "اترك تعليقاً",
        "اترك تعليق",
        "التعليقات",
        "تعليقات",
        "leave a comment",
        "leave a reply",
        "write a comment",
        "add a comment",
        "comments",
        "post a comment",
    )
}
# Words that make up share bars, navigation crumbs and similar widgets.
_WIDGET_WORDS = {
    fold_arabic(s)
    for s in (
        "شارك",
        "شاركها",
        "مشاركة",
        "المقال",
        "على",
        "عبر",
        "فيسبوك",
        "فيس",
        "بوك",
        "تويتر",
        "واتساب",
        "واتس",
        "اب",
        "تلغرام",
        "تيليغرام",
        "لينكدإن",
        "طباعة",
        "اطبع",
        "ارسل",
        "أرسل",
        "البريد",
        "نسخ",
        "الرابط",
        "share",
        "on",
        "this",
        "article",
        "facebook",
        "twitter",
        "x",
        "whatsapp",
        "telegram",
        "linkedin",
        "email",
        "print",
        "copy",
        "link",
        "tweet",
        "pin",
        "reddit",
        "الرئيسية",
        "home",
        "اقرأ",
        "أيضا",
        "أيضاً",
        "ايضا",
        "read",
        "also",
        "more",
        "related",
        "tags",
        "الوسوم",
        "وسوم",
        "مواضيع",
        "ذات",
        "صلة",
    )
}


def starts_comment_section(line: str) -> bool:
    folded = " ".join(_WORD.findall(fold_arabic(line)))
    return folded in _COMMENT_SECTION


def is_required_fields_notice(line: str) -> bool:
    """The form's "fields marked (*) are required" line, in Arabic or English."""
    folded = fold_arabic(line)
    return "(*)" in folded and any(w in folded for w in ("مطلوب", "required"))


def is_widget(line: str) -> bool:
    words = _WORD.findall(fold_arabic(line))
    return bool(words) and len(words) <= 6 and all(w in _WIDGET_WORDS for w in words)


def is_chrome(line: str) -> bool:
    return starts_comment_section(line) or is_required_fields_notice(line) or is_widget(line)


_SENTENCE_END = tuple(".!?؟…:\"”»'")


def looks_like_heading(line: str, max_words: int = 12) -> bool:
    """A short line that does not end a sentence reads as a sub-heading."""
    text = line.strip()
    return bool(text) and len(text.split()) <= max_words and not text.endswith(_SENTENCE_END)
