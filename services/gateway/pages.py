"""Server-rendered HTML pages (Jinja2, autoescaped)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from shared.text.arabic import url_slug
from shared.text.html_policy import sanitize_html
from shared.web.caching import cached_response

from .articles import article_view
from .upstreams import NotFound, Unavailable, Upstreams

router = APIRouter(include_in_schema=False)
HERE = Path(__file__).parent


def comment_html(html: str) -> Markup:
    """The comments service sanitised it; sanitise again before trusting it in our page."""
    return Markup(sanitize_html(html))


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["url_slug"] = url_slug
    templates.env.filters["comment_html"] = comment_html
    return templates


def upstreams(request: Request) -> Upstreams:
    return request.app.state.upstreams  # type: ignore[no-any-return]


def render(request: Request, name: str, status: int = 200, **context: object) -> Response:
    html = _html(request, name, **context)
    if status != 200:
        return Response(
            html,
            status_code=status,
            media_type="text/html; charset=utf-8",
            headers={"Cache-Control": "no-store"},
        )
    return cached_response(
        request, html, "text/html; charset=utf-8", "public, max-age=5, stale-while-revalidate=30"
    )


@router.get("/", response_class=HTMLResponse)
async def front_page(request: Request) -> Response:
    try:
        page = await upstreams(request).ingest.get_json("/articles", params={"limit": 30})
    except Unavailable:
        return render(request, "error.html", 503, message="الموقع غير متاح مؤقتاً. حاول بعد قليل.")
    return render(request, "index.html", articles=page["items"])


@router.get("/articles/{slug}", response_class=HTMLResponse)
async def article_page(slug: str, request: Request) -> Response:
    try:
        view = await article_view(request.app.state.catalog, request.app.state.parts, slug)
    except NotFound:
        return render(request, "error.html", 404, message="المقال غير موجود.")
    except Unavailable:
        return render(request, "error.html", 503, message="المقال غير متاح مؤقتاً. حاول بعد قليل.")
    body, etag = request.app.state.parts.rendered(
        "page", view, lambda v: _html(request, "article.html", view=v, article=v.article)
    )
    return cached_response(
        request,
        body,
        "text/html; charset=utf-8",
        "public, max-age=5, stale-while-revalidate=30",
        etag,
    )


def _html(request: Request, name: str, **context: object) -> bytes:
    templates: Jinja2Templates = request.app.state.templates
    context.setdefault("site_name", request.app.state.settings.site_name)
    return templates.get_template(name).render({"request": request, **context}).encode()
