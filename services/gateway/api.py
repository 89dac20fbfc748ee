"""Public JSON API under ``/api/v1``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from shared.api import ArticlePage, SaveOutcome
from shared.http import PROBLEM_JSON, Problem

from .articles import article_view
from .models import ArticleView
from .upstreams import NotFound, Unavailable, Upstreams

router = APIRouter(prefix="/api/v1", tags=["articles"])

PROBLEM = {"content": {PROBLEM_JSON: {}}, "description": "Problem details (RFC 9457)"}


def upstreams(request: Request) -> Upstreams:
    return request.app.state.upstreams  # type: ignore[no-any-return]


@router.get(
    "/articles",
    response_model=ArticlePage,
    summary="Published articles, newest first",
    responses={400: PROBLEM, 503: PROBLEM},
)
async def list_articles(
    request: Request,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Any:
    params: dict[str, Any] = {"limit": limit}
    if cursor:
        params["cursor"] = cursor
    try:
        response = await upstreams(request).ingest.request("GET", "/articles", params=params)
    except Unavailable as exc:
        raise Problem(503, "Articles unavailable", str(exc), headers={"Retry-After": "5"}) from exc
    if response.status_code == 400:
        raise Problem(400, "Invalid cursor", "The cursor is not one this API handed out.")
    return response.json()


@router.get(
    "/articles/{id_or_slug}",
    response_model=ArticleView,
    summary="One article with its view count and approved comments",
    responses={404: PROBLEM, 503: PROBLEM},
)
async def get_article(id_or_slug: str, request: Request) -> ArticleView:
    try:
        return await article_view(upstreams(request), id_or_slug)
    except NotFound as exc:
        raise Problem(
            404, "Article not found", f"No article has the id or slug {id_or_slug!r}."
        ) from exc
    except Unavailable as exc:
        raise Problem(503, "Article unavailable", str(exc), headers={"Retry-After": "5"}) from exc


async def _forward_to_ingest(request: Request, path: str) -> Response:
    """Editor calls go to ingest as they came; ingest checks the token and the body."""
    headers = {
        k: v
        for k, v in request.headers.items()
        if k in ("authorization", "content-type", "accept-language", "traceparent")
    }
    try:
        response = await upstreams(request).ingest.request(
            "POST",
            path,
            params=dict(request.query_params),
            headers=headers,
            content=await request.body(),
        )
    except Unavailable as exc:
        raise Problem(503, "Ingest unavailable", str(exc), headers={"Retry-After": "5"}) from exc
    return Response(
        response.content,
        status_code=response.status_code,
        media_type=response.headers.get("content-type"),
        headers={k: v for k, v in response.headers.items() if k == "www-authenticate"},
    )


EDITOR_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Updated or unchanged", "model": SaveOutcome},
    401: PROBLEM,
    403: PROBLEM,
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
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ArticleIn"}}},
        }
    },
)
async def create_article(request: Request) -> Response:
    return await _forward_to_ingest(request, "/articles")


@router.post(
    "/articles/import",
    status_code=201,
    response_model=SaveOutcome,
    tags=["editors"],
    summary="Import an HTML page, a page text dump or JSON (editor token)",
    responses={**EDITOR_RESPONSES, 400: PROBLEM, 415: PROBLEM},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/html": {"schema": {"type": "string"}},
                "text/plain": {"schema": {"type": "string"}},
                "application/json": {"schema": {"$ref": "#/components/schemas/ArticleIn"}},
            },
        }
    },
)
async def import_article(request: Request) -> Response:
    return await _forward_to_ingest(request, "/articles/import")
