"""The views service's internal HTTP API."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from shared.web.problems import Problem

from .parts import ReadEngine, Visitors
from .queries import counts, popular

router = APIRouter()
WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7)}


class Counts(BaseModel):
    article_id: uuid.UUID
    total: int
    today: int
    unique_today: int


class PopularItem(BaseModel):
    article_id: uuid.UUID
    views: int


@router.get("/counts/{article_id}", response_model=Counts, summary="Counts of one article")
async def one(article_id: uuid.UUID, engine: ReadEngine, visitors: Visitors) -> Counts:
    found = await counts(engine, visitors, [str(article_id)])
    if str(article_id) not in found:
        raise Problem(404, "No counts", f"No views are known for article {article_id}.")
    return Counts(article_id=article_id, **found[str(article_id)])


@router.get("/counts", response_model=list[Counts], summary="Counts of many articles at once")
async def many(
    ids: Annotated[str, Query(description="Comma-separated article ids", max_length=4000)],
    engine: ReadEngine,
    visitors: Visitors,
) -> list[Counts]:
    try:
        wanted = [uuid.UUID(i) for i in ids.split(",") if i.strip()]
    except ValueError as exc:
        raise Problem(422, "Invalid ids", "ids must be comma-separated UUIDs.") from exc
    found = await counts(engine, visitors, [str(a) for a in wanted[:100]])
    return [Counts(article_id=uuid.UUID(a), **c) for a, c in found.items()]


@router.get("/popular", response_model=list[PopularItem], summary="Most viewed articles")
async def most_viewed(
    engine: ReadEngine,
    window: Literal["24h", "7d"] = "24h",
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> list[PopularItem]:
    ranked = await popular(engine, WINDOWS[window], limit)
    return [PopularItem(article_id=uuid.UUID(a), views=n) for a, n in ranked]
