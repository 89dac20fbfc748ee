"""The gateway's Jinja2 templates (autoescaped) and their filters."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date, format_datetime
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from shared.text.arabic import url_slug, without_bidi_controls
from shared.text.html_policy import sanitize_html

HERE = Path(__file__).parent


def comment_html(html: str) -> Markup:
    """The comments service sanitised it; sanitise again before trusting it in our page,
    and drop bidi controls (a U+202E would turn the rest of the page around)."""
    return Markup(sanitize_html(without_bidi_controls(html)))


RTL_LANGUAGES = frozenset({"ar", "fa", "ur", "he", "yi", "ps", "sd", "ug", "ckb", "dv"})


def text_direction(language: str) -> str:
    """``rtl`` or ``ltr`` for an article's language (``ar``, ``en-GB``…)."""
    return "rtl" if language.split("-")[0].lower() in RTL_LANGUAGES else "ltr"


SITE_LOCALE = Locale("ar")
#: Arabic has six plural forms (CLDR): "1085 مشاهدة", "3 مشاهدات", "2 مشاهدتان".
VIEWS = {"two": "مشاهدتان", "few": "مشاهدات"}
COMMENTS = {"one": "تعليق واحد", "two": "تعليقان", "few": "{n} تعليقات", "many": "{n} تعليقاً"}


def views_noun(n: int) -> str:
    """The noun after a view count, in the plural form the number takes."""
    return VIEWS.get(SITE_LOCALE.plural_form(n), "مشاهدة")


def views_label(n: int) -> str:
    return f"{n} {views_noun(n)}"


def comments_label(n: int) -> str:
    return COMMENTS.get(SITE_LOCALE.plural_form(n), "{n} تعليق").format(n=n)


def arabic_date(value: date | datetime | str | None) -> str:
    """ "1 نوفمبر 2025" (Babel's ``ar`` locale); a time of day too for a datetime."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        return format_datetime(value, "d MMMM y، h:mm a", tzinfo=value.tzinfo, locale=SITE_LOCALE)
    return format_date(value, format="long", locale=SITE_LOCALE)


def arabic_date_only(value: date | datetime | str | None) -> str:
    if isinstance(value, datetime):
        value = value.date()
    return arabic_date(value)


def iso(value: date | datetime | str | None) -> str:
    """The machine-readable form of a date for ``<time datetime>``."""
    if value is None:
        return ""
    return value if isinstance(value, str) else value.isoformat()


def json_ld(value: Any) -> Markup:
    """JSON for a ``<script type="application/ld+json">``: ``<`` escaped so that no text in
    it can close the script element."""
    raw = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return Markup(raw.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    # The templates ship with the code: no stat of each file at every page.
    templates.env.auto_reload = False
    # No blank lines or trailing spaces where block tags were: valid, compact pages.
    templates.env.trim_blocks = True
    templates.env.lstrip_blocks = True
    templates.env.filters["url_slug"] = url_slug
    templates.env.filters["comment_html"] = comment_html
    templates.env.filters["no_bidi"] = without_bidi_controls
    templates.env.filters["text_direction"] = text_direction
    templates.env.filters["views_label"] = views_label
    templates.env.filters["views_noun"] = views_noun
    templates.env.filters["comments_label"] = comments_label
    templates.env.filters["arabic_date"] = arabic_date
    templates.env.filters["iso"] = iso
    templates.env.filters["arabic_date_only"] = arabic_date_only
    templates.env.filters["json_ld"] = json_ld
    return templates


async def warm_templates(templates: Jinja2Templates) -> None:
    """Compile every template and load Babel's Arabic data before the first reader: done
    on that reader's request, it held every other request for over 100 ms."""
    for name in templates.env.list_templates():
        templates.env.get_template(name)
    arabic_date(datetime(2000, 1, 1, tzinfo=UTC))
    views_label(1)
