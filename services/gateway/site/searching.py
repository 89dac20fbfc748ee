"""Search, for readers: the search service's answers as JSON and as a page."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from shared.contracts.api import SearchPage
from shared.web.caching import cached_response, etag_for
from shared.web.problems import Problem

from ..parts import Parts
from ..upstreams import Unavailable, Upstream
from .head import Head, site_url
from .listing import ArticleLists, Found
from .pages import HTML, error_page, html_of

router = APIRouter(include_in_schema=False)
SEARCH_CACHE = "public, max-age=10"
#: The bounds of a query, also checked here so that a bad one never costs an upstream call.
QUERY_MAX = 200
PAGE_SIZE = 10


SEARCH_PARAMETERS = [
    {
        "name": "q",
        "in": "query",
        "required": True,
        "schema": {"type": "string", "minLength": 1, "maxLength": QUERY_MAX},
        "description": "What to look for",
    },
    {
        "name": "cursor",
        "in": "query",
        "schema": {"type": "string", "pattern": r"^\d{1,12}$"},
        "description": "`next_cursor` of the previous page",
    },
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 50}},
]
INVALID = {
    "q": "اكتب ما تبحث عنه: من حرف إلى 200 حرف. / Type 1 to 200 characters.",
    "cursor": "ليس مؤشر صفحة صحيحاً. / Not a cursor this API handed out.",
    "limit": "عدد من 1 إلى 50. / A number from 1 to 50.",
}


def search_params(query: Mapping[str, str]) -> tuple[str, str | None, int]:
    """``q``, ``cursor`` and ``limit`` of a search, or a 422 naming each bad one."""
    q = query.get("q", "")
    cursor = query.get("cursor") or None
    raw_limit = query.get("limit", "10")
    bad = []
    if not 1 <= len(q) <= QUERY_MAX:
        bad.append("q")
    if cursor is not None and not (cursor.isdigit() and len(cursor) <= 12):
        bad.append("cursor")
    limit = int(raw_limit) if raw_limit.isdigit() and len(raw_limit) <= 3 else 0
    if not 1 <= limit <= 50:
        bad.append("limit")
    if bad:
        raise Problem(
            422,
            "Invalid request",
            "Some fields are invalid.",
            errors=[{"field": name, "message": INVALID[name]} for name in bad],
        )
    return q, cursor, limit


async def ask(
    search: Upstream, lists: ArticleLists, q: str, cursor: str | None, limit: int
) -> Found:
    """The search service's page of results (kept briefly, dropped by article events);
    Problem (422) for a query it refuses."""
    params: dict[str, Any] = {"q": q, "limit": limit}
    if cursor:
        params["cursor"] = cursor

    async def load() -> Found:
        response = await search.request("GET", "/search", params=params)
        if response.status_code == 422:
            body = response.json()
            raise Problem(
                422,
                "Invalid query",
                body.get("detail") or "Invalid query.",
                errors=body.get("errors"),
            )
        response.raise_for_status()
        body = response.content
        return Found(SearchPage.model_validate_json(body), body, etag_for(body))

    return await lists.searches.fetch(f"{limit}|{cursor or ''}|{q}", load)


@router.get("/search", response_class=HTMLResponse)
async def search_page(
    request: Request,
    parts: Parts,
    q: Annotated[str, Query(max_length=10_000)] = "",
    cursor: Annotated[str | None, Query(max_length=12)] = None,
) -> Response:
    site = site_url(parts.settings, request)
    head = Head(
        title=f"البحث: {q} - {parts.settings.site_name}"
        if q
        else f"البحث - {parts.settings.site_name}",
        canonical=f"{site}/search?{urlencode({'q': q})}" if q else f"{site}/search",
        description=f"نتائج البحث عن «{q}» في {parts.settings.site_name}."
        if q
        else f"ابحث في مقالات {parts.settings.site_name}.",
        # Crawlable (Lighthouse's SEO audit counts noindex as a failure); only results
        # that come from articles are on it, and it names its canonical query.
    )
    results: SearchPage | None = None
    message = ""
    status = 200
    if q.strip():
        if len(q) > QUERY_MAX:
            message, status = f"اكتب {QUERY_MAX} حرفاً على الأكثر.", 422
        elif cursor is not None and not cursor.isdigit():
            message, status = "رابط الصفحة غير صحيح.", 400
        else:
            try:
                results = (
                    await ask(parts.upstreams.search, parts.lists, q, cursor, PAGE_SIZE)
                ).page
            except Problem as problem:
                first = (problem.errors or [{}])[0]
                message, status = first.get("message") or problem.detail or "", 422
            except Unavailable:
                return error_page(parts, request, 503, "البحث غير متاح مؤقتاً. حاول بعد قليل.")
    more = (
        f"/search?{urlencode({'q': q, 'cursor': results.next_cursor})}"
        if results and results.next_cursor
        else None
    )
    html = html_of(
        parts,
        request,
        "search.html",
        head=head,
        query=q,
        results=results,
        message=message,
        more=more,
    )
    if status != 200:
        return Response(
            html, status_code=status, media_type=HTML, headers={"Cache-Control": "no-store"}
        )
    return cached_response(request, html, HTML, SEARCH_CACHE)
