"""What editors read: every article whatever its status, and its revision history."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts.api import (
    EditorArticlePage,
    EditorArticleSummary,
    RevisionDiff,
    RevisionOut,
    RevisionSummary,
)
from shared.contracts.copying import copy_into
from shared.storage.engines import Sessions
from shared.storage.pagination import encode_cursor, keyset_page

from .models import Article, ArticleRevision
from .store import find


async def list_for_editors(
    sessions: Sessions, *, q: str | None, status: str | None, limit: int, cursor: str | None
) -> EditorArticlePage:
    query = select(Article)
    if q:
        # A title search for the console: LIKE, case-insensitive for Latin text.
        escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(func.lower(Article.title).like(f"%{escaped.lower()}%", escape="\\"))
    if status:
        query = query.where(Article.status == status)
    query = keyset_page(query, cursor, Article.updated_at, Article.id, limit=limit, descending=True)
    async with sessions() as session:
        rows = list(await session.scalars(query))
    page, more = rows[:limit], len(rows) > limit
    return EditorArticlePage(
        items=[copy_into(EditorArticleSummary, a) for a in page],
        next_cursor=encode_cursor(page[-1].updated_at, page[-1].id) if more else None,
    )


async def history(sessions: Sessions, ref: str) -> list[RevisionSummary] | None:
    async with sessions() as session:
        article = await find(session, ref)
        if article is None:
            return None
        rows = await session.scalars(
            select(ArticleRevision)
            .where(ArticleRevision.article_id == article.id)
            .order_by(ArticleRevision.revision.desc())
        )
        return [
            RevisionSummary(revision=r.revision, title=r.title, created_at=r.created_at)
            for r in rows
        ]


async def _revision(session: AsyncSession, ref: str, n: int) -> ArticleRevision | None:
    article = await find(session, ref)
    if article is None:
        return None
    return await session.scalar(
        select(ArticleRevision).where(
            ArticleRevision.article_id == article.id, ArticleRevision.revision == n
        )
    )


def _out(row: ArticleRevision) -> RevisionOut:
    return copy_into(RevisionOut, row)


async def revision(sessions: Sessions, ref: str, n: int) -> RevisionOut | None:
    async with sessions() as session:
        row = await _revision(session, ref, n)
        return _out(row) if row is not None else None


def _lines(row: ArticleRevision) -> Iterator[str]:
    yield f"title: {row.title}"
    yield f"author: {row.author or ''}"
    yield f"date: {row.published_on or ''}"
    for block in row.body:
        yield _block_line(block)


def _block_line(block: dict[str, Any]) -> str:
    return f"## {block['text']}" if block.get("kind") == "heading" else str(block["text"])


async def diff(sessions: Sessions, ref: str, a: int, b: int) -> RevisionDiff | None:
    async with sessions() as session:
        old, new = await _revision(session, ref, a), await _revision(session, ref, b)
        if old is None or new is None:
            return None
        lines = difflib.unified_diff(
            list(_lines(old)),
            list(_lines(new)),
            fromfile=f"revision {a}",
            tofile=f"revision {b}",
            lineterm="",
        )
        return RevisionDiff(
            article_id=old.article_id, from_revision=a, to_revision=b, diff="\n".join(lines)
        )
