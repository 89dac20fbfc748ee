"""The search service's internal HTTP API: thin routes over :mod:`.indexing`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from shared.contracts.api import SearchPage
from shared.service.skeleton import Reads, Writes
from shared.web.problems import Problem

from . import indexing
from .parts import Ingest, editor
from .rebuild import Rebuilt, rebuild
from .terms import query_terms

router = APIRouter()
NO_WORDS = {
    "ar": "اكتب كلمة واحدة على الأقل للبحث.",
    "en": "Type at least one word to search for.",
}


@router.get("/search", response_model=SearchPage, summary="Published articles matching a query")
async def search(
    reads: Reads,
    q: Annotated[str, Query(min_length=1, max_length=200)],
    cursor: Annotated[str | None, Query(max_length=12, pattern=r"^\d+$")] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> SearchPage:
    if not query_terms(q):
        raise Problem(
            422,
            "Query has no words",
            f"{NO_WORDS['ar']} {NO_WORDS['en']}",
            errors=[{"field": "q", "message": NO_WORDS["ar"]}],
        )
    offset = int(cursor) if cursor else 0
    if offset > 10_000:
        raise Problem(422, "Too deep", "Results are paged up to the 10,000th only.")
    async with reads() as session:
        return await indexing.search(session, q, offset=offset, limit=limit)


@router.post(
    "/index/rebuild",
    dependencies=[Depends(editor)],
    summary="Rebuild the index from ingest (editor token)",
)
async def rebuild_index(writes: Writes, ingest: Ingest) -> Rebuilt:
    return await rebuild(writes, ingest)
