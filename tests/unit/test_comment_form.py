from __future__ import annotations

import pytest

from shared.contracts.comment_form import check_comment_form, pick_language
from shared.web.form_tokens import FormTokens

pytestmark = pytest.mark.unit

GOOD = {"name": "سارة", "email": "sara@example.com", "comment": "مقال مفيد", "website": ""}


def errors_of(form: dict[str, object], language: str = "ar") -> dict[str, str]:
    clean, errors = check_comment_form(form, language)  # type: ignore[arg-type]
    assert (clean is None) == bool(errors)
    return {e["field"]: e["message"] for e in errors}


def test_a_good_comment_passes_clean() -> None:
    clean, errors = check_comment_form({**GOOD, "website": "https://example.org/ا"}, "ar")
    assert errors == [] and clean is not None
    assert clean.website == "https://example.org/ا"


def test_every_missing_required_field_gets_its_own_message_in_arabic_and_english() -> None:
    assert errors_of({}) == {
        "name": "هذا الحقل مطلوب.",
        "email": "هذا الحقل مطلوب.",
        "comment": "هذا الحقل مطلوب.",
    }
    assert errors_of({}, "en") == {
        f: "This field is required." for f in ("name", "email", "comment")
    }


@pytest.mark.parametrize("blank", ["", "   ", "\n\t", "\u200f\u200e", "\u00a0\u2009", "\ufeff"])
def test_whitespace_and_invisible_marks_are_missing(blank: str) -> None:
    assert "comment" in errors_of({**GOOD, "comment": blank})


def test_limits_are_bytes_not_characters() -> None:
    assert errors_of({**GOOD, "name": "ب" * 122}) == {}  # 244 bytes
    assert "name" in errors_of({**GOOD, "name": "ب" * 123})  # 246 bytes
    assert "comment" in errors_of({**GOOD, "comment": "x" * 65_526})
    assert errors_of({**GOOD, "comment": "x" * 65_525}) == {}
    assert "website" in errors_of({**GOOD, "website": "https://e.org/" + "a" * 190})
    long_email = "a" * 90 + "@example.com"
    assert "email" in errors_of({**GOOD, "email": long_email})


@pytest.mark.parametrize(
    "website",
    ["javascript:alert(1)", "ftp://example.org", "example.org", "http://", "https://exa mple.org"],
)
def test_only_http_websites(website: str) -> None:
    assert errors_of({**GOOD, "website": website}, "en") == {
        "website": "The website must be an http:// or https:// address."
    }


@pytest.mark.parametrize("email", ["not-an-email", "a@", "@example.com", "a b@example.com"])
def test_bad_emails(email: str) -> None:
    assert set(errors_of({**GOOD, "email": email})) == {"email"}


def test_non_text_values_are_refused() -> None:
    assert set(errors_of({**GOOD, "name": ["x"], "comment": 5})) == {"name", "comment"}


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "ar"),
        ("", "ar"),
        ("en-US,en;q=0.9", "en"),
        ("ar-SY,ar;q=0.9,en;q=0.5", "ar"),
        ("fr", "ar"),
    ],
)
def test_language_follows_accept_language(header: str | None, language: str) -> None:
    assert pick_language(header) == language


def test_form_tokens_tell_fast_forged_and_missing_submissions() -> None:
    tokens = FormTokens("secret", min_seconds=3)
    issued = tokens.issue(now=1000.0)
    assert tokens.signals(issued, now=1001.0) == ["too_fast"]
    assert tokens.signals(issued, now=1010.0) == []
    assert tokens.signals(issued, now=1000.0 + 2 * 86_400) == ["no_form_token"]
    assert tokens.signals(None) == ["no_form_token"]
    assert tokens.signals(
        issued.replace(issued[-1], "0" if issued[-1] != "0" else "1"), now=1010.0
    ) == ["no_form_token"]
    assert FormTokens("other").signals(issued, now=1010.0) == ["no_form_token"]
    assert tokens.signals("1000.3f2a…", now=1010.0) == ["no_form_token"]  # non-ASCII forgery
