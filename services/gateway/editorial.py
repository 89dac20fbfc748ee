"""The editors' API: correct, withdraw, schedule and trace articles (editor token).

Each call goes on to ingest as it came (token, If-Match, Idempotency-Key);
ingest checks them and owns the articles. Documented here, in the public API.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Header, Path, Query, Request, Response

from shared.contracts.api import (
    ArticleOut,
    EditorArticlePage,
    RevisionDiff,
    RevisionOut,
    RevisionSummary,
    SaveOutcome,
)

from .api import EDITOR_RESPONSES, PROBLEM, forward
from .parts import UpstreamsDep

router = APIRouter(prefix="/api/v1", tags=["editors"])
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=400,
        description="The article's ETag as last read: 412 when it changed since.",
    ),
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        description="The same key again gets the first answer and changes nothing; with "
        "another request, 422.",
    ),
]
EDITS: dict[int | str, dict[str, Any]] = {
    **EDITOR_RESPONSES,
    404: PROBLEM,
    409: PROBLEM,
    412: PROBLEM,
    428: PROBLEM,
}
READS: dict[int | str, dict[str, Any]] = {
    400: PROBLEM,
    401: PROBLEM,
    403: PROBLEM,
    404: PROBLEM,
    422: PROBLEM,
    503: PROBLEM,
}


def _body(schema: str) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{schema}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}


@router.put(
    "/articles/{id_or_slug}",
    response_model=SaveOutcome,
    summary="Replace an article (If-Match with its ETag)",
    responses=EDITS,
    openapi_extra=_body("ArticleIn"),
)
async def replace_article(
    id_or_slug: str,
    request: Request,
    upstreams: UpstreamsDep,
    if_match: IfMatch = None,
    key: IdempotencyKey = None,
) -> Response:
    return await forward(request, upstreams.ingest, f"/articles/{quote(id_or_slug, safe='')}")


@router.patch(
    "/articles/{id_or_slug}",
    response_model=SaveOutcome,
    summary="Change some fields of an article (If-Match with its ETag)",
    responses=EDITS,
    openapi_extra=_body("ArticlePatch"),
)
async def patch_article(
    id_or_slug: str,
    request: Request,
    upstreams: UpstreamsDep,
    if_match: IfMatch = None,
    key: IdempotencyKey = None,
) -> Response:
    return await forward(request, upstreams.ingest, f"/articles/{quote(id_or_slug, safe='')}")


@router.post(
    "/articles/{id_or_slug}/{action}",
    response_model=SaveOutcome,
    summary="Unpublish an article, or restore an unpublished or deleted one",
    description="Unpublished articles leave the front page, lists and popular lists within "
    "seconds (the `article.unpublished` event); `restore` publishes them again.",
    responses=EDITS,
)
async def change_status(
    id_or_slug: str,
    action: Literal["unpublish", "restore"],
    request: Request,
    upstreams: UpstreamsDep,
    if_match: IfMatch = None,
    key: IdempotencyKey = None,
) -> Response:
    return await forward(
        request, upstreams.ingest, f"/articles/{quote(id_or_slug, safe='')}/{action}"
    )


@router.delete(
    "/articles/{id_or_slug}",
    response_model=SaveOutcome,
    summary="Delete an article: readers get 410 (`article.deleted`); restore undoes it",
    responses=EDITS,
)
async def delete_article(
    id_or_slug: str,
    request: Request,
    upstreams: UpstreamsDep,
    if_match: IfMatch = None,
    key: IdempotencyKey = None,
) -> Response:
    return await forward(request, upstreams.ingest, f"/articles/{quote(id_or_slug, safe='')}")


@router.get(
    "/editor/articles",
    response_model=EditorArticlePage,
    summary="Every article whatever its status, last changed first; search by title",
    responses=READS,
)
async def editor_articles(
    request: Request,
    upstreams: UpstreamsDep,
    q: Annotated[str | None, Query(max_length=200, description="Part of the title")] = None,
    status: Annotated[
        Literal["published", "draft", "scheduled", "unpublished", "deleted"] | None, Query()
    ] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> Response:
    return await forward(request, upstreams.ingest, "/editor/articles")


@router.get(
    "/editor/articles/{id_or_slug}",
    response_model=ArticleOut,
    summary="One article whatever its status, with its ETag (for If-Match)",
    responses=READS,
)
async def editor_article(id_or_slug: str, request: Request, upstreams: UpstreamsDep) -> Response:
    return await forward(
        request, upstreams.ingest, f"/editor/articles/{quote(id_or_slug, safe='')}"
    )


@router.get(
    "/articles/{id_or_slug}/revisions",
    response_model=list[RevisionSummary],
    summary="The article's revisions, newest first",
    responses=READS,
)
async def revisions(id_or_slug: str, request: Request, upstreams: UpstreamsDep) -> Response:
    return await forward(
        request, upstreams.ingest, f"/articles/{quote(id_or_slug, safe='')}/revisions"
    )


@router.get(
    "/articles/{id_or_slug}/revisions/{n}",
    response_model=RevisionOut,
    summary="One revision",
    responses=READS,
)
async def revision(
    id_or_slug: str,
    n: Annotated[int, Path(ge=1, le=2**31 - 1)],
    request: Request,
    upstreams: UpstreamsDep,
) -> Response:
    return await forward(
        request, upstreams.ingest, f"/articles/{quote(id_or_slug, safe='')}/revisions/{n}"
    )


@router.get(
    "/articles/{id_or_slug}/diff",
    response_model=RevisionDiff,
    summary="What changed between two revisions, as a unified diff",
    responses=READS,
)
async def diff(
    id_or_slug: str,
    request: Request,
    upstreams: UpstreamsDep,
    from_: Annotated[int, Query(alias="from", ge=1, le=2**31 - 1)],
    to: Annotated[int, Query(ge=1, le=2**31 - 1)],
) -> Response:
    return await forward(request, upstreams.ingest, f"/articles/{quote(id_or_slug, safe='')}/diff")
