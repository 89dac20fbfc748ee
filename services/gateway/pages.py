"""Server-rendered HTML pages."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from shared.web.caching import cached_response
from shared.web.lean_route import FirstRoute

from .articles import article_view
from .parts import GatewayParts, Parts, gateway
from .upstreams import Gone, NotFound, Unavailable

router = APIRouter(include_in_schema=False)
PAGE_CACHE = "public, max-age=5, stale-while-revalidate=30"
HTML = "text/html; charset=utf-8"


def render(
    parts: GatewayParts, request: Request, name: str, status: int = 200, **context: object
) -> Response:
    html = _html(parts, request, name, **context)
    if status != 200:
        return Response(
            html, status_code=status, media_type=HTML, headers={"Cache-Control": "no-store"}
        )
    return cached_response(request, html, HTML, PAGE_CACHE)


@router.get("/", response_class=HTMLResponse)
async def front_page(request: Request, parts: Parts) -> Response:
    try:
        page = await parts.upstreams.ingest.get_json("/articles", params={"limit": 30})
    except Unavailable:
        return render(
            parts, request, "error.html", 503, message="الموقع غير متاح مؤقتاً. حاول بعد قليل."
        )
    return render(parts, request, "index.html", articles=page["items"])


async def article_page(slug: str, request: Request) -> Response:
    parts = gateway(request)
    try:
        view = await article_view(parts.catalog, parts.articles, slug)
    except Gone:
        return render(parts, request, "error.html", 410, message="حُذف هذا المقال.")
    except NotFound:
        return render(parts, request, "error.html", 404, message="المقال غير موجود.")
    except Unavailable:
        return render(
            parts, request, "error.html", 503, message="المقال غير متاح مؤقتاً. حاول بعد قليل."
        )
    body, etag = parts.articles.rendered(
        "page", view, lambda v: _html(parts, request, "article.html", view=v, article=v.article)
    )
    return cached_response(request, body, HTML, PAGE_CACHE, etag)


def _html(parts: GatewayParts, request: Request, name: str, **context: object) -> bytes:
    context.setdefault("site_name", parts.settings.site_name)
    return parts.templates.get_template(name).render({"request": request, **context}).encode()


FIRST_ROUTES = [
    FirstRoute(
        "/articles/{slug}",
        article_page,
        ("GET",),
        options={"response_class": HTMLResponse, "include_in_schema": False},
    )
]
