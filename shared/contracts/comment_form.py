"""The comment form's rules, in one place for the gateway and the comments service.

Limits follow the most used blogging platform: name 245 bytes, email 100,
website 200, comment 65,525 (bytes of UTF-8). Every message exists in Arabic
and English.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email

from shared.text.arabic import has_visible_text, nfc
from shared.text.storable import is_storable

Language = Literal["ar", "en"]

LIMITS = {"name": 245, "email": 100, "website": 200, "comment": 65_525}
FIELDS = ("name", "email", "website", "comment")
REQUIRED = ("name", "email", "comment")

MESSAGES: dict[str, dict[Language, str]] = {
    "required": {"ar": "هذا الحقل مطلوب.", "en": "This field is required."},
    "too_long": {
        "ar": "النص أطول من المسموح ({limit} بايت كحد أقصى).",
        "en": "This is too long (at most {limit} bytes).",
    },
    "bad_email": {"ar": "البريد الإلكتروني غير صالح.", "en": "This is not a valid email address."},
    "bad_website": {
        "ar": "يجب أن يبدأ الموقع بـ http:// أو https://",
        "en": "The website must be an http:// or https:// address.",
    },
    "not_text": {"ar": "يجب أن تكون القيمة نصاً.", "en": "This must be text."},
    "not_storable": {
        "ar": "يحتوي النص على محارف تحكم لا يمكن حفظها.",
        "en": "This contains control characters that cannot be stored.",
    },
}


def pick_language(accept_language: str | None) -> Language:
    """English when the reader's first language is English; Arabic (the site's) otherwise."""
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag:
            return "en" if tag.startswith("en") else "ar"
    return "ar"


def message(code: str, language: Language, **values: Any) -> str:
    return MESSAGES[code][language].format(**values)


@dataclass(frozen=True)
class CleanComment:
    name: str
    email: str
    website: str | None
    comment: str


def is_blank(value: str) -> bool:
    """Required means visible: nothing but spaces, marks or invisible letters is blank."""
    return not has_visible_text(value)


def check_comment_form(
    form: dict[str, Any], language: Language
) -> tuple[CleanComment | None, list[dict[str, str]]]:
    """Check a submitted form: the clean comment, or one error per failing field."""
    errors: list[dict[str, str]] = []
    values: dict[str, str] = {}
    for field in FIELDS:
        raw = form.get(field)
        if raw is None:
            raw = ""
        if not isinstance(raw, str):
            errors.append({"field": field, "message": message("not_text", language)})
            continue
        value = nfc(raw).strip() if field != "comment" else nfc(raw).strip("\r\n\t ")
        if not is_storable(value):
            errors.append({"field": field, "message": message("not_storable", language)})
            continue
        if field in REQUIRED and is_blank(value):
            errors.append({"field": field, "message": message("required", language)})
            continue
        if len(value.encode()) > LIMITS[field]:
            errors.append(
                {"field": field, "message": message("too_long", language, limit=LIMITS[field])}
            )
            continue
        values[field] = value

    if "email" in values:
        try:
            values["email"] = validate_email(values["email"], check_deliverability=False).normalized
        except EmailNotValidError:
            errors.append({"field": "email", "message": message("bad_email", language)})
    website = values.get("website") or None
    if website is not None and not _is_http_url(website):
        errors.append({"field": "website", "message": message("bad_website", language)})
    if errors:
        errors.sort(key=lambda e: FIELDS.index(e["field"]))
        return None, errors
    return CleanComment(values["name"], values["email"], website, values["comment"]), []


def _is_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and not any(unicodedata.category(ch) == "Cc" or ch.isspace() for ch in value)
    )
