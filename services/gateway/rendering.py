"""The gateway's Jinja2 templates (autoescaped) and their filters."""

from __future__ import annotations

from pathlib import Path

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


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["url_slug"] = url_slug
    templates.env.filters["comment_html"] = comment_html
    templates.env.filters["no_bidi"] = without_bidi_controls
    templates.env.filters["text_direction"] = text_direction
    return templates
