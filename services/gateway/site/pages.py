"""Server-rendered HTML pages: the front page, sections, authors, articles.

Lists come from ingest (keyset pages, so a new publication never shifts a
page a reader has open) and are kept briefly in :class:`ArticleLists`, dropped
when the ``articles`` stream says something changed.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from shared.contracts.api import SECTION_MAX
from shared.web.caching import READER_CACHE, cached_response
from shared.web.lean_route import FirstRoute
from shared.web.params import Cursor

from ..articles import article_view
from ..parts import GatewayParts, Parts, gateway
from ..upstreams import Gone, NotFound, Unavailable
from .head import Head, article_head, list_head, site_url
from .listing import BadListCursor, most_read

router = APIRouter(include_in_schema=False)
HTML = "text/html; charset=utf-8"
PAGE_SIZE = 20
#: The form token's place in a cached article page; each answer gets a fresh token there.
TOKEN_SLOT = b'name="form_token" value=""'
#: Sent by the front cache, which includes a token in the slot for each reader (SSI).
FRONT_CACHE_HEADER = "x-newsroom-front-cache"
FRONT_CACHE_TOKEN = b'<!--# include virtual="/_front/form-token" -->'


def render(
    parts: GatewayParts, request: Request, name: str, status: int = 200, **context: object
) -> Response:
    html = html_of(parts, request, name, **context)
    if status != 200:
        return Response(
            html, status_code=status, media_type=HTML, headers={"Cache-Control": "no-store"}
        )
    return cached_response(request, html, HTML, READER_CACHE)


def error_page(parts: GatewayParts, request: Request, status: int, message: str) -> Response:
    head = Head(
        title=f"{message} - {parts.settings.site_name}",
        canonical=site_url(parts.settings, request) + request.url.path,
        description=message,
        noindex=True,
    )
    response = render(parts, request, "error.html", status, message=message, head=head)
    if status == 503:
        response.headers["Retry-After"] = "5"
    return response


UNAVAILABLE = "الموقع غير متاح مؤقتاً. حاول بعد قليل."
NO_SECTION = "القسم غير موجود."
NO_AUTHOR = "الكاتب غير موجود."


async def _list_page(
    parts: GatewayParts,
    request: Request,
    *,
    title: str,
    path: str,
    description: str,
    params: dict[str, str],
    cursor: str | None,
    before: str | None,
    template: str = "index.html",
    missing: str | None = None,
    **context: object,
) -> Response:
    try:
        page = await parts.lists.page(params, cursor=cursor, before=before, limit=PAGE_SIZE)
    except BadListCursor:
        return error_page(parts, request, 400, "رابط الصفحة غير صحيح.")
    except Unavailable:
        return error_page(parts, request, 503, UNAVAILABLE)
    if (cursor or before) and not page.items:
        return error_page(parts, request, 404, "لا توجد مقالات في هذه الصفحة.")
    if missing and not page.items:
        # A section or author exists only through its articles: with none, its URL is
        # a 404, not an empty page that crawlers would index for any name at all.
        return error_page(parts, request, 404, missing)
    links = {}
    if page.next_cursor:
        links["next"] = f"{path}?{urlencode({'cursor': page.next_cursor})}"
    if page.prev_cursor:
        links["prev"] = f"{path}?{urlencode({'before': page.prev_cursor})}"
    site = site_url(parts.settings, request)

    def render() -> bytes:
        # Later pages of a list point to its first page as canonical: one URL per list.
        # Built here, with the page: every article's link is percent-encoded in it.
        head = list_head(
            site,
            parts.settings.site_name,
            title=title,
            path=path,
            description=description,
            items=page.items,
            links=links,
        )
        return html_of(
            parts, request, template, head=head, page=page, links=links, heading=title, **context
        )

    key = f"{template} {path} {cursor} {before} {site}{path}"
    body, etag = parts.lists.rendered.get(key, (page, context.get("popular")), render)
    return cached_response(request, body, HTML, READER_CACHE, etag)


async def front_page(request: Request) -> Response:
    """Lean (the most visited page after articles): its two parameters read by hand."""
    parts = gateway(request)
    cursor = request.query_params.get("cursor") or None
    before = request.query_params.get("before") or None
    if len(cursor or "") > 200 or len(before or "") > 200:
        return error_page(parts, request, 400, "رابط الصفحة غير صحيح.")
    popular = (
        [] if cursor or before else await most_read(parts.upstreams, parts.catalog, parts.lists)
    )
    return await _list_page(
        parts,
        request,
        title=parts.settings.site_name,
        path="/",
        description=parts.settings.site_description,
        params={},
        cursor=cursor,
        before=before,
        popular=popular,
        front=True,
    )


@router.get("/sections/{section}", response_class=HTMLResponse)
async def section_page(
    section: str, request: Request, parts: Parts, cursor: Cursor = None, before: Cursor = None
) -> Response:
    if len(section) > SECTION_MAX:
        return error_page(parts, request, 404, NO_SECTION)
    return await _list_page(
        parts,
        request,
        title=section,
        path=f"/sections/{quote(section, safe='')}",
        description=f"آخر مقالات قسم {section} في {parts.settings.site_name}.",
        params={"section": section},
        cursor=cursor,
        before=before,
        missing=NO_SECTION,
        feed=f"/sections/{quote(section, safe='')}/feed.xml",
    )


@router.get("/authors/{author}", response_class=HTMLResponse)
async def author_page(
    author: str, request: Request, parts: Parts, cursor: Cursor = None, before: Cursor = None
) -> Response:
    if len(author) > 245:
        return error_page(parts, request, 404, NO_AUTHOR)
    return await _list_page(
        parts,
        request,
        title=author,
        path=f"/authors/{quote(author, safe='')}",
        description=f"مقالات {author} في {parts.settings.site_name}.",
        params={"author": author},
        cursor=cursor,
        before=before,
        missing=NO_AUTHOR,
    )


@router.get("/favicon.ico", include_in_schema=False)
async def favicon(request: Request) -> Response:
    from ..rendering import HERE

    body = (HERE / "static" / "favicon.png").read_bytes()
    return cached_response(request, body, "image/png", "public, max-age=86400")


async def article_page(slug: str, request: Request) -> Response:
    parts = gateway(request)
    if request.scope["query_string"] and (comment := request.query_params.get("comment")):
        from .comment_form import outcome_page

        return await outcome_page(parts, request, slug, comment)
    result = await article_html(parts, request, slug)
    if isinstance(result, Response):
        return result
    body, etag = result

    def with_token(page: bytes) -> bytes:
        # The page renders its form token, so a reader without JavaScript can comment; the
        # cached page has an empty slot that each answer fills with a token of its own.
        # Where the token goes, found once per rendered page (a search costs 10 µs).
        slots = parts.articles.token_slots
        at = slots.get(etag)
        if at is None:
            at = slots[etag] = page.find(TOKEN_SLOT) + len(TOKEN_SLOT) - 1
        if request.headers.get(FRONT_CACHE_HEADER) == "ssi":
            # Through the front cache (deploy/nginx/): the cached copy is every reader's, so
            # nginx fills the slot with a token of each reader's own (a token is good once).
            token = FRONT_CACHE_TOKEN
        else:
            token = parts.comment_desk.tokens.issue().encode()
        return b"".join((page[:at], token, page[at:]))

    return cached_response(request, body, HTML, READER_CACHE, etag, fill=with_token)


async def article_html(
    parts: GatewayParts, request: Request, slug: str, form: dict[str, Any] | None = None
) -> tuple[bytes, str] | Response:
    """The article page (body and ETag), or the error page that replaces it.

    ``form``: what a reader without JavaScript sent, with its errors or its outcome; such a
    page is made for that reader alone and is not cached.
    """
    try:
        view = await article_view(parts.catalog, parts.articles, slug)
    except Gone:
        return error_page(parts, request, 410, "حُذف هذا المقال.")
    except NotFound:
        return error_page(parts, request, 404, "المقال غير موجود.")
    except Unavailable:
        return error_page(parts, request, 503, "المقال غير متاح مؤقتاً. حاول بعد قليل.")
    site = site_url(parts.settings, request)

    def page(form: dict[str, Any] | None) -> bytes:
        head = article_head(site, parts.settings.site_name, view.article)
        return html_of(
            parts, request, "article.html", view=view, article=view.article, head=head, form=form
        )

    if form is not None:
        return page(form), ""
    return parts.articles.rendered(f"page {site}", view, lambda _v: page(None))


def html_of(parts: GatewayParts, request: Request, name: str, **context: object) -> bytes:
    context.setdefault("site_name", parts.settings.site_name)
    return parts.templates.get_template(name).render({"request": request, **context}).encode()


FIRST_ROUTES = [
    FirstRoute(
        "/",
        front_page,
        ("GET",),
        options={"response_class": HTMLResponse, "include_in_schema": False},
    ),
    FirstRoute(
        "/articles/{slug}",
        article_page,
        ("GET",),
        options={"response_class": HTMLResponse, "include_in_schema": False},
    ),
]


def wants_html(request: Request) -> bool:
    """A browser asking for a page (not the API, not a script asking for JSON)."""
    path = request.url.path
    if path.startswith(("/api/", "/static/")) or path in ("/healthz", "/readyz", "/metrics"):
        return False
    return "text/html" in request.headers.get("accept", "")


ERROR_MESSAGES = {
    404: "الصفحة غير موجودة.",
    405: "لا يمكن طلب هذه الصفحة بهذه الطريقة.",
    410: "حُذفت هذه الصفحة.",
    500: "حدث خطأ في الموقع. حاول بعد قليل.",
}


def html_errors(app: Any, parts: GatewayParts) -> None:
    """Arabic error pages for browsers; problem details (JSON) for everyone else."""
    from starlette.exceptions import HTTPException

    as_problem = app.exception_handlers[HTTPException]

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if wants_html(request) and exc.status_code in ERROR_MESSAGES:
            return error_page(parts, request, exc.status_code, ERROR_MESSAGES[exc.status_code])
        response: Response = await as_problem(request, exc)
        return response

    async def on_crash(request: Request, exc: Exception) -> Response:
        # Starlette still logs the exception and re-raises it after this answer.
        if wants_html(request):
            return error_page(parts, request, 500, ERROR_MESSAGES[500])
        return Response(
            b'{"type":"about:blank","title":"Internal Server Error","status":500}',
            status_code=500,
            media_type="application/problem+json",
        )

    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(Exception, on_crash)
