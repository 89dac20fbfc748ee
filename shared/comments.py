"""The comment form's rules, in one place for the gateway and the comments service.

Limits follow the most used blogging platform: name 245 bytes, email 100,
website 200, comment 65,525 (bytes of UTF-8). Every message exists in Arabic
and English.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import nh3
from email_validator import EmailNotValidError, validate_email

from shared.text import nfc

Language = Literal["ar", "en"]

# What may survive in a comment's HTML (the most used blogging platform's inline
# set, plus paragraphs and line breaks); links get rel="nofollow ugc".
ALLOWED_TAGS = {
    "a",
    "abbr",
    "acronym",
    "b",
    "blockquote",
    "cite",
    "code",
    "del",
    "em",
    "i",
    "q",
    "s",
    "strike",
    "strong",
    "p",
    "br",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "acronym": {"title"},
    "q": {"cite"},
    "blockquote": {"cite"},
}
URL_SCHEMES = {"http", "https", "mailto"}


def sanitize_html(markup: str) -> str:
    """Keep only the allowed tags and attributes; nothing that can run script survives."""
    return nh3.clean(
        markup,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow ugc",
    )


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
}

# Characters that make a field look filled while showing nothing.
_INVISIBLE = re.compile(r"[\s\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\u061c]+")


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
    return not _INVISIBLE.sub("", value)


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


class FormTokens:
    """A signed page-load time in the comment form: submitting faster than a person can is suspect."""

    def __init__(
        self, secret: str, min_seconds: float = 3.0, max_age_seconds: float = 86_400.0
    ) -> None:
        self._key = secret.encode()
        self.min_seconds = min_seconds
        self.max_age_seconds = max_age_seconds

    def issue(self, now: float | None = None) -> str:
        issued = str(int((now if now is not None else time.time()) * 1000))
        return f"{issued}.{self._sign(issued)}"

    def signals(self, token: str | None, now: float | None = None) -> list[str]:
        """Spam signals of a token: ``no_form_token``, ``too_fast``, or none."""
        if not token or "." not in token:
            return ["no_form_token"]
        issued, _, signature = token.partition(".")
        # Bytes: compare_digest refuses non-ASCII text, and a forged token may carry any.
        if not issued.isdigit() or not hmac.compare_digest(
            signature.encode(), self._sign(issued).encode()
        ):
            return ["no_form_token"]
        age = (now if now is not None else time.time()) - int(issued) / 1000
        if age < self.min_seconds:
            return ["too_fast"]
        if age > self.max_age_seconds:
            return ["no_form_token"]
        return []

    def _sign(self, issued: str) -> str:
        return hmac.new(self._key, issued.encode(), hashlib.sha256).hexdigest()[:32]
