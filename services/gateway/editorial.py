"""The editors' API: correct, withdraw, schedule and trace articles (editor token).

Each call goes on to ingest as it came (token, If-Match, Idempotency-Key);
ingest checks them and owns the articles. Documented here, in the public API.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response

from shared.contracts.api import (
    ArticleOut,
    EditorArticlePage,
    RevisionDiff,
    RevisionOut,
    RevisionSummary,
    SaveOutcome,
)
from shared.web.params import Cursor, FromRevision, RevisionNo, ToRevision, request_body

from .api import EDITOR_RESPONSES, PROBLEM, forward
from .parts import UpstreamsDep
from .upstreams import Upstreams

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


async def to_ingest(request: Request, upstreams: Upstreams) -> Response:
    """The same call on ingest's API: the gateway's path without ``/api/v1``, still
    percent-encoded as the client sent it."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    return await forward(request, upstreams.ingest, raw.decode("latin-1").removeprefix("/api/v1"))


def _change() -> Callable[..., Awaitable[Response]]:
    async def change(
        id_or_slug: str,
        request: Request,
        upstreams: UpstreamsDep,
        if_match: IfMatch = None,
        key: IdempotencyKey = None,
    ) -> Response:
        return await to_ingest(request, upstreams)

    return change


# (method, path, name, summary, request body schema)
CHANGES = [
    (
        "PUT",
        "/articles/{id_or_slug}",
        "replace_article",
        "Replace an article (If-Match)",
        "ArticleIn",
    ),
    (
        "PATCH",
        "/articles/{id_or_slug}",
        "patch_article",
        "Change some fields of an article (If-Match)",
        "ArticlePatch",
    ),
    (
        "POST",
        "/articles/{id_or_slug}/unpublish",
        "unpublish_article",
        "Unpublish: the article leaves the front page, lists and popular lists within seconds",
        None,
    ),
    (
        "POST",
        "/articles/{id_or_slug}/restore",
        "restore_article",
        "Restore an unpublished or deleted article",
        None,
    ),
    (
        "DELETE",
        "/articles/{id_or_slug}",
        "delete_article",
        "Delete an article: readers get 410 (`article.deleted`); restore undoes it",
        None,
    ),
]
for method, path, name, summary, schema in CHANGES:
    router.add_api_route(
        path,
        _change(),
        methods=[method],
        name=name,
        response_model=SaveOutcome,
        summary=summary,
        responses=EDITS,
        openapi_extra=request_body({"application/json": schema}) if schema else None,
    )


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
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> Response:
    return await to_ingest(request, upstreams)


def _read() -> Callable[..., Awaitable[Response]]:
    async def read(id_or_slug: str, request: Request, upstreams: UpstreamsDep) -> Response:
        return await to_ingest(request, upstreams)

    return read


router.add_api_route(
    "/editor/articles/{id_or_slug}",
    _read(),
    name="editor_article",
    response_model=ArticleOut,
    summary="One article whatever its status, with its ETag (for If-Match)",
    responses=READS,
)
router.add_api_route(
    "/articles/{id_or_slug}/revisions",
    _read(),
    name="revisions",
    response_model=list[RevisionSummary],
    summary="The article's revisions, newest first",
    responses=READS,
)


@router.get(
    "/articles/{id_or_slug}/revisions/{n}",
    response_model=RevisionOut,
    summary="One revision",
    responses=READS,
)
async def revision(
    id_or_slug: str,
    n: RevisionNo,
    request: Request,
    upstreams: UpstreamsDep,
) -> Response:
    return await to_ingest(request, upstreams)


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
    from_: FromRevision,
    to: ToRevision,
) -> Response:
    return await to_ingest(request, upstreams)
