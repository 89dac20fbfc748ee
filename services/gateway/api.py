"""Public JSON API under ``/api/v1``."""

from __future__ import annotations

import contextlib
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl
from uuid import UUID

import orjson
from fastapi import APIRouter, Query, Request, Response

from shared.contracts.api import (
    ArticlePage,
    CommentAccepted,
    CommentPage,
    CommentStatusOut,
    FeedImport,
    ModerationPage,
    SaveOutcome,
    SearchPage,
)
from shared.web.caching import READER_CACHE, cached_response
from shared.web.lean_route import FirstRoute
from shared.web.origin import cross_site, own_origin
from shared.web.params import ArticleList, Cursor, request_body
from shared.web.problems import PROBLEM_JSON, Problem, ProblemDetails

from .articles import article_view
from .catalog import require_article
from .commenting import submit_comment
from .models import ArticleView, FormToken, PopularArticle
from .parts import CatalogDep, Parts, UpstreamsDep, gateway
from .site import comment_form, searching
from .site.listing import popular
from .upstreams import Gone, NotFound, Unavailable, Upstream
from .viewing import RECEIPT_BODIES, ViewReceipt, record_view

router = APIRouter(prefix="/api/v1", tags=["articles"])

FORWARDED_HEADERS = (
    "authorization",
    "content-type",
    "accept-language",
    "traceparent",
    "if-match",
    "idempotency-key",
)
ANSWERED_HEADERS = ("www-authenticate", "etag")
PROBLEM: dict[str, Any] = {
    "model": ProblemDetails,
    "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}},
    "description": "Problem details (RFC 9457)",
}


def origin_of(request: Request) -> str:
    # The scheme as request.url has it, without building the whole URL (a hot path's cost).
    return own_origin(request.scope.get("scheme", "http"), request.headers.get("host", ""))


def client_ip(request: Request) -> str:
    # uvicorn already took X-Forwarded-For into account for trusted proxies
    # (NEWSROOM_FORWARDED_ALLOW_IPS); anyone else cannot spoof it.
    return request.client.host if request.client else "unknown"


async def post_view(id_or_slug: str, request: Request) -> Response:
    headers = request.headers
    parts = gateway(request)
    receipt = await record_view(
        parts.view_desk,
        id_or_slug,
        ip=client_ip(request),
        user_agent=headers.get("user-agent", ""),
        opted_out=headers.get("dnt") == "1" or headers.get("sec-gpc") == "1",
        cross_site=cross_site(headers, origin_of(request), parts.settings.cors_origins),
    )
    # The hottest endpoint: a prebuilt body instead of response-model serialisation.
    return Response(RECEIPT_BODIES[receipt], status_code=202, media_type="application/json")


@router.get(
    "/articles",
    response_model=ArticlePage,
    summary="Published articles, newest first",
    responses={400: PROBLEM, 503: PROBLEM},
)
async def list_articles(request: Request, upstreams: UpstreamsDep, query: ArticleList) -> Any:
    params = {k: v for k, v in query.model_dump().items() if v}  # limit is at least 1
    try:
        response = await upstreams.ingest.request("GET", "/articles", params=params)
    except Unavailable as exc:
        raise Problem(503, "Articles unavailable", str(exc), headers={"Retry-After": "5"}) from exc
    if response.status_code == 400:
        raise Problem(400, "Invalid cursor", "The cursor is not one this API handed out.")
    return cached_response(request, response.content, "application/json", "public, max-age=10")


async def search_articles(request: Request) -> Response:
    """Lean: the query is checked here, as FastAPI would, without dependency solving."""
    parts = gateway(request)
    q, cursor, limit = searching.search_params(request.query_params)
    try:
        found = await searching.ask(parts.upstreams.search, parts.lists, q, cursor, limit)
    except Unavailable as exc:
        raise Problem(503, "Search unavailable", str(exc), headers={"Retry-After": "5"}) from exc
    # The search service's JSON as it came: the same contract, not serialised again.
    return cached_response(
        request, found.body, "application/json", searching.SEARCH_CACHE, found.etag
    )


async def popular_articles(
    upstreams: UpstreamsDep,
    catalog: CatalogDep,
    window: Annotated[Literal["24h", "7d"], Query()] = "24h",
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> list[PopularArticle]:
    try:
        return await popular(upstreams, catalog, window, limit)
    except (Unavailable, NotFound) as exc:
        raise Problem(
            503, "Popular list unavailable", str(exc), headers={"Retry-After": "5"}
        ) from exc


async def get_article(id_or_slug: str, request: Request) -> Response:
    parts = gateway(request)
    try:
        view = await article_view(parts.catalog, parts.articles, id_or_slug)
    except Gone as exc:
        raise Problem(410, "Article deleted", f"The article {id_or_slug!r} was deleted.") from exc
    except NotFound as exc:
        raise Problem(
            404, "Article not found", f"No article has the id or slug {id_or_slug!r}."
        ) from exc
    except Unavailable as exc:
        raise Problem(503, "Article unavailable", str(exc), headers={"Retry-After": "5"}) from exc
    cache = READER_CACHE if not view.degraded else "no-store"
    body, etag = parts.articles.rendered("json", view, _json)
    return cached_response(request, body, "application/json", cache, etag)


def _json(view: ArticleView) -> bytes:
    return view.model_dump_json().encode()


async def forward(request: Request, upstream: Upstream, path: str) -> Response:
    """Editor and moderator calls go on as they came; the service checks token and body.

    Bounded by ``editor_timeout``, not the readers' ``upstream_timeout``: an import of a
    large page takes longer than a reader should wait for a view count.
    """
    headers = {k: v for k, v in request.headers.items() if k in FORWARDED_HEADERS}
    try:
        response = await upstream.request(
            request.method,
            path,
            params=dict(request.query_params),
            headers=headers,
            content=await request.body(),
            timeout=gateway(request).settings.editor_timeout,
        )
    except Unavailable as exc:
        raise Problem(
            503, f"{upstream.name.capitalize()} unavailable", str(exc), headers={"Retry-After": "5"}
        ) from exc
    media_type = response.headers.get("content-type")
    content = response.content
    if media_type == PROBLEM_JSON:
        # The problem happened at this URL, not at the service's internal one.
        with contextlib.suppress(orjson.JSONDecodeError, TypeError):
            content = orjson.dumps({**orjson.loads(content), "instance": request.url.path})
    return Response(
        content,
        status_code=response.status_code,
        media_type=media_type,
        headers={k: v for k, v in response.headers.items() if k in ANSWERED_HEADERS},
    )


EDITOR_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Updated or unchanged", "model": SaveOutcome},
    401: PROBLEM,
    403: PROBLEM,
    409: PROBLEM,
    413: PROBLEM,
    422: PROBLEM,
    503: PROBLEM,
}


@router.post(
    "/articles",
    status_code=201,
    response_model=SaveOutcome,
    tags=["editors"],
    summary="Create or update an article from JSON (editor token)",
    responses=EDITOR_RESPONSES,
    openapi_extra=request_body({"application/json": "ArticleIn"}),
)
async def create_article(request: Request, upstreams: UpstreamsDep) -> Response:
    return await forward(request, upstreams.ingest, "/articles")


@router.post(
    "/articles/import",
    status_code=201,
    response_model=SaveOutcome,
    tags=["editors"],
    summary="Import an HTML page, a page text dump or JSON (editor token)",
    responses={**EDITOR_RESPONSES, 400: PROBLEM, 415: PROBLEM},
    openapi_extra=request_body(
        {"text/html": None, "text/plain": None, "application/json": "ArticleIn"}
    ),
)
async def import_article(request: Request, upstreams: UpstreamsDep) -> Response:
    return await forward(request, upstreams.ingest, "/articles/import")


@router.post(
    "/imports",
    response_model=FeedImport,
    tags=["editors"],
    summary="Import an RSS 2.0 or Atom feed (editor token)",
    description="Each entry becomes an article keyed by its guid/id: importing the feed "
    "again changes nothing, an edited entry updates its article. Entries that cannot be "
    "imported are listed in `failed`; the others are imported.",
    responses=EDITOR_RESPONSES,
    openapi_extra=request_body(
        dict.fromkeys(("application/rss+xml", "application/atom+xml", "application/xml"))
    ),
)
async def import_feed(request: Request, upstreams: UpstreamsDep) -> Response:
    return await forward(request, upstreams.ingest, "/imports")


@router.get(
    "/articles/{id_or_slug}/comments",
    response_model=CommentPage,
    tags=["comments"],
    summary="An article's approved comments, oldest first, a page at a time",
    responses={400: PROBLEM, 404: PROBLEM, 410: PROBLEM, 503: PROBLEM},
)
async def list_comments(
    id_or_slug: str,
    request: Request,
    upstreams: UpstreamsDep,
    catalog: CatalogDep,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    article = await require_article(catalog, id_or_slug)
    params: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
    try:
        response = await upstreams.comments.request(
            "GET", f"/articles/{article.id}/comments", params=params
        )
    except Unavailable as exc:
        raise Problem(503, "Comments unavailable", str(exc), headers={"Retry-After": "5"}) from exc
    if response.status_code == 400:
        raise Problem(400, "Invalid cursor", "The cursor is not one this API handed out.")
    response.raise_for_status()
    # The comments service's page as it came: the same contract, not serialised again.
    return cached_response(request, response.content, "application/json", READER_CACHE)


@router.post(
    "/articles/{id_or_slug}/comments",
    status_code=202,
    response_model=CommentAccepted,
    tags=["comments"],
    summary="Submit a comment (JSON or a form post)",
    description="`422` lists one message per field, in Arabic or English by `Accept-Language`. "
    "The comment's fate is then at `status_url`.",
    responses={400: PROBLEM, 404: PROBLEM, 415: PROBLEM, 422: PROBLEM, 429: PROBLEM, 503: PROBLEM},
    openapi_extra=request_body(
        dict.fromkeys(("application/json", "application/x-www-form-urlencoded"), "CommentIn")
    ),
)
async def post_comment(id_or_slug: str, request: Request, parts: Parts) -> Any:
    if cross_site(request.headers, origin_of(request), parts.settings.cors_origins):
        raise Problem(
            403,
            "Cross-site form refused",
            "Comments are sent from this site's own article page.",
        )
    form = await _form(request)
    try:
        accepted = await submit_comment(
            parts.comment_desk,
            id_or_slug,
            form,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent", ""),
            accept_language=request.headers.get("accept-language"),
        )
    except Problem as problem:
        if comment_form.is_page_form(request) and problem.status not in (404, 410):
            return await comment_form.refused(parts, request, id_or_slug, form, problem)
        raise
    if comment_form.is_page_form(request):
        return await comment_form.taken(parts, id_or_slug, accepted)
    return accepted


async def _form(request: Request) -> dict[str, Any]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        try:
            pairs = parse_qsl(
                (await request.body()).decode("ascii"),
                keep_blank_values=True,
                encoding="utf-8",
                errors="strict",
            )
        except UnicodeDecodeError as exc:
            raise Problem(
                400, "Not UTF-8", "The form is not valid UTF-8: nothing was stored."
            ) from exc
        return dict(pairs)
    if kind == "multipart/form-data":
        form = await request.form()
        return {k: v for k, v in form.items() if isinstance(v, str)}
    if kind not in ("application/json", ""):
        raise Problem(
            415,
            "Unsupported media type",
            "أرسل التعليق بصيغة JSON أو نموذج. / Send the comment as application/json, "
            f"application/x-www-form-urlencoded or multipart/form-data, not {kind}.",
        )
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise Problem(
            400, "Invalid JSON", f"النص ليس JSON صحيحاً. / The body is not valid JSON: {exc}."
        ) from exc
    if not isinstance(body, dict):
        raise Problem(
            422,
            "Invalid comment",
            "أرسل كائن JSON بحقول النموذج. / Send a JSON object with the form's fields.",
        )
    return body


@router.get(
    "/comments/{comment_id}",
    response_model=CommentStatusOut,
    tags=["comments"],
    summary="A comment's status: pending, approved, held, rejected or removed",
    responses={404: PROBLEM, 503: PROBLEM},
)
async def comment_status(comment_id: UUID, parts: Parts) -> Any:
    desk = parts.comment_desk
    try:
        return await parts.upstreams.comments.get_json(f"/comments/{comment_id}")
    except NotFound:
        down = None
    except Unavailable as exc:
        down = exc
    marker = await parts.redis.get(desk.pending_key(str(comment_id)))
    if marker is None:
        if down is not None:
            raise Problem(503, "Comments unavailable", str(down), headers={"Retry-After": "5"})
        raise Problem(404, "Comment not found", f"No comment has the id {comment_id}.")
    # Accepted, not decided yet: the comments service has not caught up with it.
    return {"id": str(comment_id), "article_id": None, "status": "pending", "reasons": []}


@router.get(
    "/moderation/comments",
    response_model=ModerationPage,
    tags=["moderators"],
    summary="Comments awaiting moderation (moderator token)",
    responses={401: PROBLEM, 403: PROBLEM, 503: PROBLEM},
)
async def moderation_queue(
    request: Request,
    upstreams: UpstreamsDep,
    status: Annotated[
        Literal["held", "approved", "rejected", "removed"],
        Query(description="Which decisions to list; the held queue by default"),
    ] = "held",
    article_id: Annotated[UUID | None, Query(description="Only this article's comments")] = None,
    reason: Annotated[
        str | None,
        Query(max_length=64, description="Only comments given this reason, e.g. `links`"),
    ] = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    return await forward(request, upstreams.comments, "/moderation/comments")


@router.post(
    "/moderation/comments/{comment_id}/{action}",
    response_model=CommentStatusOut,
    tags=["moderators"],
    summary="Approve, reject or remove a comment (moderator token)",
    description="The decision goes out on the `comments` stream with `decided_by: moderator` "
    "and the reason given here as `note`.",
    responses={401: PROBLEM, 403: PROBLEM, 404: PROBLEM, 409: PROBLEM, 503: PROBLEM},
    openapi_extra=request_body({"application/json": "ModerationNote"}, required=False),
)
async def moderation_action(
    comment_id: UUID,
    action: Literal["approve", "reject", "remove"],
    request: Request,
    upstreams: UpstreamsDep,
) -> Response:
    return await forward(request, upstreams.comments, f"/moderation/comments/{comment_id}/{action}")


FORM_TOKEN_FORMATS = ("json", "text")


async def form_token(request: Request) -> Response:
    """Lean: every page view asks for one (the page's script, or the front cache for readers
    without it), and a token is good for one comment, so it is never cached."""
    tokens = gateway(request).comment_desk.tokens
    wanted = request.query_params.get("format", "json")
    if wanted not in FORM_TOKEN_FORMATS:
        raise Problem(
            422,
            "Invalid query",
            "format: json أو text. / format is json or text.",
            errors=[{"field": "format", "message": "json أو text / json or text"}],
        )
    token = tokens.issue()
    if wanted == "text":
        return Response(token, media_type="text/plain", headers={"Cache-Control": "no-store"})
    body = orjson.dumps({"form_token": token, "min_seconds": tokens.min_seconds})
    return Response(body, media_type="application/json", headers={"Cache-Control": "no-store"})


#: Tried first by the app's own router, in this order (shared/web/lean_route.py): the
#: hottest routes, and the literal sibling of the article route before it.
FIRST_ROUTES = [
    FirstRoute(
        "/api/v1/articles/{id_or_slug}/views",
        post_view,
        ("POST",),
        options=dict(
            status_code=202,
            response_model=ViewReceipt,
            tags=["views"],
            summary="Record a reader's view (the article page calls this from the browser)",
            description="Bots and opted-out readers get 202 with `counted: false`. "
            "No IP address is stored.",
            responses={404: PROBLEM, 429: PROBLEM, 503: PROBLEM},
        ),
    ),
    FirstRoute(
        "/api/v1/articles/popular",
        popular_articles,
        ("GET",),
        lean=False,
        options=dict(
            tags=["articles"],
            response_model=list[PopularArticle],
            summary="Most viewed articles over the last 24 hours or 7 days",
            responses={503: PROBLEM},
        ),
    ),
    FirstRoute(
        "/api/v1/articles/{id_or_slug}",
        get_article,
        ("GET",),
        options=dict(
            tags=["articles"],
            response_model=ArticleView,
            summary="One article with its view count and approved comments",
            responses={404: PROBLEM, 503: PROBLEM},
        ),
    ),
    FirstRoute(
        "/api/v1/comments/form-token",
        form_token,
        ("GET",),
        options=dict(
            tags=["comments"],
            response_model=FormToken,
            summary="A form token for clients that do not use the article page",
            description="Send it back as `form_token`; it is good for one comment. Comments "
            "sent without one, or sooner than a person could write them, are held for a "
            "moderator as likely spam. `format=text`: the token alone.",
            responses={422: PROBLEM},
            openapi_extra={
                "parameters": [
                    {
                        "name": "format",
                        "in": "query",
                        "schema": {"enum": list(FORM_TOKEN_FORMATS), "default": "json"},
                    }
                ]
            },
        ),
    ),
    FirstRoute(
        "/api/v1/search",
        search_articles,
        ("GET",),
        options=dict(
            tags=["articles"],
            response_model=SearchPage,
            summary="Search published articles (title and body, ranked, highlighted snippets)",
            description="Arabic is matched as readers write it: alef forms, ى/ي, ة/ه, harakat, "
            "tatweel and attached prefixes (ال، و، ب…) do not count; Latin is case- and "
            "accent-insensitive. `title_html` and `snippet_html` are escaped HTML with the "
            "matches in `<mark>`.",
            responses={422: PROBLEM, 503: PROBLEM},
            openapi_extra={"parameters": searching.SEARCH_PARAMETERS},
        ),
    ),
]
