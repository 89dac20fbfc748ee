"""Saving articles: idempotent upserts, revisions, and the outbox, in one transaction."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Literal

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.contracts.api import ArticleIn, ArticleOut, ArticlePage, ArticleSummary
from shared.contracts.events import (
    ArticleData,
    ArticlePublished,
    ArticleRef,
    ArticleUnpublished,
    ArticleUpdated,
    BodyBlock,
    Event,
)
from shared.messaging.outbox import add_to_outbox
from shared.storage.pagination import decode_cursor, encode_cursor
from shared.text.arabic import slugify

from .models import Article, ArticleRevision, OutboxEvent

Outcome = Literal["created", "updated", "unchanged"]
ARTICLES_STREAM = "articles"  # logical name; the relay adds the namespace


@dataclass(frozen=True)
class SaveResult:
    outcome: Outcome
    article: Article


def identity_key(draft: ArticleIn) -> str:
    if draft.source_url:
        return f"url:{draft.source_url}"
    if draft.slug:
        return f"slug:{slugify(draft.slug)}"
    return f"title:{slugify(draft.title)}|{draft.published_on or ''}"


def content_hash(draft: ArticleIn) -> str:
    canonical = {
        "title": draft.title,
        "author": draft.author,
        "published_on": draft.published_on.isoformat() if draft.published_on else None,
        "body": [b.model_dump() for b in draft.body],
        "legacy_views": draft.legacy_views,
        "language": draft.language,
    }
    raw = json.dumps(canonical, ensure_ascii=False, sort_keys=True).encode()
    return hashlib.sha256(raw).hexdigest()


def to_data(article: Article) -> ArticleData:
    return ArticleData(
        article_id=article.id,
        slug=article.slug,
        title=article.title,
        author=article.author,
        published_on=article.published_on,
        body=tuple(BodyBlock(**b) for b in article.body),
        legacy_views=article.legacy_views,
        revision=article.revision,
        source_url=article.source_url,
        language=article.language,
    )


def to_out(article: Article) -> ArticleOut:
    return ArticleOut(
        id=article.id,
        slug=article.slug,
        title=article.title,
        author=article.author,
        published_on=article.published_on,
        body=[BodyBlock(**b) for b in article.body],
        legacy_views=article.legacy_views,
        revision=article.revision,
        status=article.status,  # type: ignore[arg-type]
        source_url=article.source_url,
        language=article.language,
        created_at=article.created_at,
        updated_at=article.updated_at,
    )


def _sort_at(published_on: date | None, now: datetime) -> datetime:
    return datetime.combine(published_on, time(), tzinfo=UTC) if published_on else now


def stage_event(session: AsyncSession, event: Event) -> None:
    add_to_outbox(session, OutboxEvent, event, ARTICLES_STREAM)


async def _unique_slug(session: AsyncSession, wanted: str) -> str:
    slug, n = wanted, 1
    while await session.scalar(select(Article.id).where(Article.slug == slug)) is not None:
        n += 1
        slug = f"{wanted}-{n}"
    return slug


async def save_article(sessions: async_sessionmaker[AsyncSession], draft: ArticleIn) -> SaveResult:
    """Create or update the article ``draft`` describes; unchanged input changes nothing."""
    for attempt in range(3):
        try:
            return await _save_once(sessions, draft)
        except IntegrityError:
            # A concurrent import of the same article won the insert: we are now an update.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


async def _save_once(sessions: async_sessionmaker[AsyncSession], draft: ArticleIn) -> SaveResult:
    key, digest, now = identity_key(draft), content_hash(draft), datetime.now(UTC)
    body = [b.model_dump() for b in draft.body]
    async with sessions() as session, session.begin():
        # FOR UPDATE: on PostgreSQL concurrent saves of one article take turns (SQLite's
        # engine already begins with the write lock).
        article = await session.scalar(
            select(Article).where(Article.identity_key == key).with_for_update()
        )
        if article is not None and article.content_hash == digest and article.status == "published":
            return SaveResult("unchanged", article)

        if article is None:
            article = Article(
                id=uuid.uuid4(),
                identity_key=key,
                slug=await _unique_slug(session, slugify(draft.slug or draft.title)),
                revision=1,
                status="published",
                created_at=now,
            )
            session.add(article)
            outcome: Outcome = "created"
        else:
            article.revision += 1
            outcome = "updated"
        republished = article.status != "published"
        article.title = draft.title
        article.author = draft.author
        article.published_on = draft.published_on
        article.body = body
        article.legacy_views = draft.legacy_views
        article.source_url = draft.source_url
        article.language = draft.language
        article.content_hash = digest
        article.status = "published"
        article.sort_at = _sort_at(draft.published_on, article.created_at)
        article.updated_at = now
        await session.flush()
        session.add(
            ArticleRevision(
                article_id=article.id,
                revision=article.revision,
                title=article.title,
                author=article.author,
                published_on=article.published_on,
                body=body,
                content_hash=digest,
                created_at=now,
            )
        )
        data = to_data(article)
        event: Event = (
            ArticlePublished(data=data)
            if outcome == "created" or republished
            else ArticleUpdated(data=data)
        )
        stage_event(session, event)
    return SaveResult(outcome, article)


async def unpublish_article(
    sessions: async_sessionmaker[AsyncSession], article_id: uuid.UUID
) -> Article | None:
    async with sessions() as session, session.begin():
        article = await session.get(Article, article_id)
        if article is None or article.status == "unpublished":
            return article
        article.status = "unpublished"
        article.updated_at = datetime.now(UTC)
        stage_event(
            session, ArticleUnpublished(data=ArticleRef(article_id=article.id, slug=article.slug))
        )
    return article


async def get_article(
    sessions: async_sessionmaker[AsyncSession], id_or_slug: str
) -> Article | None:
    async with sessions() as session:
        try:
            return await session.get(Article, uuid.UUID(id_or_slug))
        except ValueError:
            return await session.scalar(select(Article).where(Article.slug == id_or_slug))


async def list_articles(
    sessions: async_sessionmaker[AsyncSession], *, limit: int, cursor: str | None
) -> ArticlePage:
    query = select(Article).where(Article.status == "published")
    if cursor:
        sort_at, article_id = decode_cursor(cursor)
        query = query.where(
            or_(
                Article.sort_at < sort_at, and_(Article.sort_at == sort_at, Article.id < article_id)
            )
        )
    query = query.order_by(Article.sort_at.desc(), Article.id.desc()).limit(limit + 1)
    async with sessions() as session:
        rows = list(await session.scalars(query))
    page, more = rows[:limit], len(rows) > limit
    return ArticlePage(
        items=[
            ArticleSummary(
                id=a.id,
                slug=a.slug,
                title=a.title,
                author=a.author,
                published_on=a.published_on,
                legacy_views=a.legacy_views,
            )
            for a in page
        ],
        next_cursor=encode_cursor(page[-1].sort_at, page[-1].id) if more else None,
    )
