"""Rebuild the index from ingest, the articles' owner: for a new replica's empty
database, after a restore, or when the stream no longer holds every event."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from urllib.parse import quote

import httpx
from sqlalchemy import select

from shared.contracts.api import ArticleIndex, ArticleOut
from shared.contracts.events import ArticleData

from . import indexing
from .models import SearchDocument
from .parts import Sessions


@dataclass(frozen=True)
class Rebuilt:
    indexed: int
    removed: int


async def rebuild(writes: Sessions, ingest: httpx.AsyncClient, batch: int = 50) -> Rebuilt:
    seen: set[uuid.UUID] = set()
    offset, indexed = 0, 0
    while True:
        response = await ingest.get("/sitemap", params={"offset": offset, "limit": 1000})
        response.raise_for_status()
        page = ArticleIndex.model_validate_json(response.content)
        for start in range(0, len(page.items), batch):
            slugs = [item.slug for item in page.items[start : start + batch]]
            articles = await asyncio.gather(*(_article(ingest, slug) for slug in slugs))
            async with writes() as session, session.begin():
                for article in articles:
                    if article is None or article.status != "published":
                        continue
                    seen.add(article.id)
                    await indexing.put(
                        session, indexing.document_of(_data(article), article.created_at)
                    )
                    indexed += 1
        offset += len(page.items)
        if not page.items or offset >= page.total:
            break
    async with writes() as session, session.begin():
        stale = [
            article_id
            for article_id in await session.scalars(select(SearchDocument.article_id))
            if article_id not in seen
        ]
        for article_id in stale:
            await indexing.remove(session, article_id)
    return Rebuilt(indexed=indexed, removed=len(stale))


async def _article(ingest: httpx.AsyncClient, slug: str) -> ArticleOut | None:
    response = await ingest.get(f"/articles/{quote(slug, safe='')}")
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return ArticleOut.model_validate_json(response.content)


def _data(article: ArticleOut) -> ArticleData:
    """The article as its events carry it (the same fields, under the event's names)."""
    return ArticleData.model_validate({**article.model_dump(), "article_id": article.id})
