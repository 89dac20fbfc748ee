"""Saving articles: idempotent upserts, revisions, and the outbox, in one transaction."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, Literal

from sqlalchemy import and_, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.contracts.api import (
    ArticleIn,
    ArticleIndex,
    ArticleOut,
    ArticlePage,
    ArticleSummary,
    IndexEntry,
)
from shared.contracts.copying import copy_into, like_named
from shared.contracts.events import (
    ArticleData,
    ArticleDeleted,
    ArticlePublished,
    ArticleRef,
    ArticleUnpublished,
    ArticleUpdated,
    Event,
)
from shared.messaging.outbox import add_to_outbox
from shared.storage.pagination import encode_cursor, keyset_page
from shared.text.arabic import slugify

from .models import Article, ArticleRevision, IdempotentAnswer, OutboxEvent

Outcome = Literal["created", "updated", "unchanged", "unpublished", "restored", "deleted"]
ARTICLES_STREAM = "articles"  # logical name; the relay adds the namespace


@dataclass(frozen=True)
class SaveResult:
    outcome: Outcome
    article: Article


def identity_key(draft: ArticleIn) -> str:
    """The key an article is created under: its slug, external id or source page, in that
    order; title and date when it has none (an edit of those makes another article)."""
    if draft.slug:
        return f"slug:{slugify(draft.slug)}"
    if draft.external_id:
        return f"ext:{draft.external_id}"
    if draft.source_url:
        return f"url:{draft.source_url}"
    return f"title:{slugify(draft.title)}|{draft.published_on or ''}"


def content_hash(draft: ArticleIn) -> str:
    canonical: dict[str, object] = {
        "title": draft.title,
        "author": draft.author,
        "published_on": draft.published_on.isoformat() if draft.published_on else None,
        "body": [b.model_dump() for b in draft.body],
        "legacy_views": draft.legacy_views,
        "language": draft.language,
    }
    # Added later: in the hash only when set, so that older articles keep theirs.
    for name in ("section", "image"):
        if (value := getattr(draft, name)) is not None:
            canonical[name] = value
    if draft.modified_on is not None:
        canonical["modified_on"] = draft.modified_on.isoformat()
    if draft.tags:
        canonical["tags"] = draft.tags
    raw = json.dumps(canonical, ensure_ascii=False, sort_keys=True).encode()
    return hashlib.sha256(raw).hexdigest()


def to_data(article: Article) -> ArticleData:
    return copy_into(ArticleData, article, article_id=article.id, tags=article.tags or ())


def to_out(article: Article) -> ArticleOut:
    return copy_into(ArticleOut, article, tags=article.tags or [])


async def article_index(
    sessions: async_sessionmaker[AsyncSession],
    *,
    offset: int,
    limit: int,
    since: datetime | None = None,
) -> ArticleIndex:
    live = Article.status == "published"
    if since is not None:
        live = and_(live, Article.sort_at >= since)
    query = (
        select(Article.slug, Article.title, Article.language, Article.sort_at, Article.updated_at)
        .where(live)
        .order_by(Article.sort_at.asc(), Article.id.asc())
        .offset(offset)
        .limit(limit)
    )
    async with sessions() as session:
        total = await session.scalar(select(func.count()).select_from(Article).where(live))
        rows = (await session.execute(query)).all()
    return ArticleIndex(
        items=[copy_into(IndexEntry, r, published_at=r.sort_at) for r in rows],
        total=total or 0,
    )


def lead_of(body: list[dict[str, Any]], limit: int = 300) -> str:
    """The first paragraph, cut at a word within ``limit`` characters."""
    text = next((b["text"] for b in body if b.get("kind") == "paragraph"), "")
    if len(text) <= limit:
        return str(text)
    cut = text[:limit].rsplit(" ", 1)[0]
    return f"{cut}…"


def _sort_at(published_on: date | None, now: datetime) -> datetime:
    return datetime.combine(published_on, time(), tzinfo=UTC) if published_on else now


def stage_event(session: AsyncSession, event: Event) -> None:
    add_to_outbox(session, OutboxEvent, event, ARTICLES_STREAM)


def etag(article: Article) -> str:
    """The article's version as editors see it: its revision and its status."""
    return f'"{article.id}.{article.revision}.{article.status}"'


class NotFound(LookupError):
    pass


class PreconditionFailed(Exception):
    """``If-Match`` names another version than the current one (``412``)."""


class PreconditionRequired(Exception):
    """An edit without ``If-Match`` where the setting requires one (``428``)."""


class NotAllowed(Exception):
    """The article's state does not allow this (``409``)."""


class IdempotencyMismatch(Exception):
    """An ``Idempotency-Key`` sent again with another request (``422``)."""


@dataclass(frozen=True)
class Precondition:
    if_match: str | None = None
    required: bool = False

    def check(self, article: Article) -> None:
        if self.if_match is None:
            if self.required:
                raise PreconditionRequired
            return
        tags = {t.strip() for t in self.if_match.split(",")}
        if "*" not in tags and etag(article) not in tags and f"W/{etag(article)}" not in tags:
            raise PreconditionFailed


async def _unique_slug(session: AsyncSession, wanted: str) -> str:
    slug, n = wanted, 1
    while await session.scalar(select(Article.id).where(Article.slug == slug)) is not None:
        n += 1
        slug = f"{wanted}-{n}"
    return slug


async def find(session: AsyncSession, ref: str, *, lock: bool = False) -> Article | None:
    """The article with this id or slug (any status)."""
    try:
        query = select(Article).where(Article.id == uuid.UUID(ref))
    except ValueError:
        query = select(Article).where(Article.slug == ref)
    return await session.scalar(query.with_for_update() if lock else query)


async def _by_key(session: AsyncSession, draft: ArticleIn) -> Article | None:
    """The article ``draft`` is a version of: by its slug, else its external id, else its
    source page, else (no key at all) its title and date."""
    candidates = []
    if draft.slug:
        candidates.append(Article.slug == slugify(draft.slug))
    elif draft.external_id:
        candidates.append(Article.external_id == draft.external_id)
    elif draft.source_url:
        candidates += [Article.source_url == draft.source_url]
    candidates.append(Article.identity_key == identity_key(draft))
    for condition in candidates:
        # FOR UPDATE: on PostgreSQL concurrent saves of one article take turns (SQLite's
        # engine already begins with the write lock).
        found = await session.scalar(select(Article).where(condition).limit(1).with_for_update())
        if found is not None:
            return found
    return None


def _target_status(draft: ArticleIn, now: datetime) -> str:
    if draft.status == "draft":
        return "draft"
    if draft.publish_at is not None and draft.publish_at > now:
        return "scheduled"
    return "published"


async def save_article(
    sessions: async_sessionmaker[AsyncSession],
    draft: ArticleIn,
    *,
    ref: str | None = None,
    precondition: Precondition = Precondition(),
) -> SaveResult:
    """Create or update the article ``draft`` describes (or ``ref`` names); unchanged
    input changes nothing."""
    for attempt in range(3):
        try:
            async with sessions() as session, session.begin():
                return await save_in(session, draft, ref=ref, precondition=precondition)
        except IntegrityError:
            # A concurrent import of the same article won the insert: we are now an update.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


async def save_in(
    session: AsyncSession,
    draft: ArticleIn,
    *,
    ref: str | None = None,
    precondition: Precondition = Precondition(),
) -> SaveResult:
    """:func:`save_article` inside the caller's transaction."""
    digest, now = content_hash(draft), datetime.now(UTC)
    body = [b.model_dump() for b in draft.body]
    if ref is not None:
        article = await find(session, ref, lock=True)
        if article is None:
            raise NotFound(ref)
    else:
        article = await _by_key(session, draft)
    status = _target_status(draft, now)
    if article is not None:
        precondition.check(article)
        if article.status == "deleted":
            raise NotAllowed("The article was deleted: restore it before editing it.")
        if (
            article.content_hash == digest
            and article.status == status
            and article.publish_at == draft.publish_at
            and (draft.external_id is None or article.external_id == draft.external_id)
        ):
            return SaveResult("unchanged", article)
    elif precondition.if_match is not None and precondition.if_match != "*":
        raise NotFound(ref or draft.slug or draft.title)

    if article is None:
        article = Article(
            id=uuid.uuid4(),
            identity_key=identity_key(draft),
            slug=await _unique_slug(session, slugify(draft.slug or draft.title)),
            revision=1,
            status=status,
            created_at=now,
            external_id=draft.external_id,
        )
        session.add(article)
        outcome: Outcome = "created"
        was_live = False
        content_changed = True
    else:
        content_changed = article.content_hash != digest
        if content_changed:
            article.revision += 1
        outcome = "updated"
        was_live = article.status == "published"
    article.title = draft.title
    article.author = draft.author
    article.author_key = draft.author[:245] if draft.author else None
    article.section = draft.section
    article.tags = draft.tags or None
    article.image = draft.image
    article.modified_on = draft.modified_on
    article.published_on = draft.published_on
    article.body = body
    article.legacy_views = draft.legacy_views
    article.source_url = draft.source_url
    article.language = draft.language
    if draft.external_id is not None:
        article.external_id = draft.external_id
    article.content_hash = digest
    article.status = status
    article.publish_at = draft.publish_at
    article.sort_at = _sort_at(draft.published_on, article.created_at)
    article.updated_at = now
    await session.flush()
    if content_changed:
        session.add(
            ArticleRevision(
                **like_named(article, ("revision", "title", "author", "published_on", "body")),
                article_id=article.id,
                content_hash=digest,
                created_at=now,
            )
        )
    live = status == "published"
    if live:
        stage_event(
            session,
            ArticleUpdated(data=to_data(article))
            if was_live
            else ArticlePublished(data=to_data(article)),
        )
    elif was_live:  # back to draft, or rescheduled: readers no longer see it
        stage_event(session, ArticleUnpublished(data=_ref(article)))
    return SaveResult(outcome, article)


def _ref(article: Article) -> ArticleRef:
    return ArticleRef(article_id=article.id, slug=article.slug, revision=article.revision)


Transition = Literal["unpublish", "restore", "delete"]


async def transition(
    session: AsyncSession, ref: str, action: Transition, precondition: Precondition
) -> SaveResult:
    """Unpublish, restore or delete, announcing it; doing it twice changes nothing."""
    article = await find(session, ref, lock=True)
    if article is None:
        raise NotFound(ref)
    precondition.check(article)
    now = datetime.now(UTC)
    target = {"unpublish": "unpublished", "delete": "deleted", "restore": "published"}[action]
    if action == "unpublish" and article.status == "deleted":
        raise NotAllowed("The article was deleted: restore it first.")
    if article.status == target:
        return SaveResult("unchanged", article)
    was_live = article.status == "published"
    if action == "restore" and article.publish_at is not None and article.publish_at > now:
        target = "scheduled"  # restoring a scheduled article keeps its time
    article.status = target
    article.updated_at = now
    if target == "published":
        stage_event(session, ArticlePublished(data=to_data(article)))
    elif target == "deleted":
        stage_event(session, ArticleDeleted(data=_ref(article)))
    elif was_live:
        stage_event(session, ArticleUnpublished(data=_ref(article)))
    outcomes: dict[str, Outcome] = {
        "unpublish": "unpublished",
        "restore": "restored",
        "delete": "deleted",
    }
    return SaveResult(outcomes[action], article)


async def publish_due(sessions: async_sessionmaker[AsyncSession], now: datetime) -> int:
    """Publish the scheduled articles whose time has come; each once, whatever the replicas."""
    async with sessions() as session, session.begin():
        query = (
            select(Article)
            .where(Article.status == "scheduled", Article.publish_at <= now)
            .order_by(Article.publish_at)
            .limit(100)
        )
        if session.bind.dialect.name == "postgresql":
            # Another replica publishing the same article holds its row: skip it.
            query = query.with_for_update(skip_locked=True)
        due = list(await session.scalars(query))
        for article in due:
            article.status = "published"
            article.updated_at = now
            stage_event(session, ArticlePublished(data=to_data(article)))
    return len(due)


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: dict[str, Any]


async def idempotent(
    sessions: async_sessionmaker[AsyncSession],
    key: str | None,
    request_hash: str,
    work: Callable[[AsyncSession], Awaitable[Answer]],
) -> Answer:
    """``work`` in one transaction with its answer kept under ``key``: the same request
    again gets the first answer and changes nothing."""
    for attempt in range(3):
        try:
            async with sessions() as session, session.begin():
                if key is not None:
                    kept = await session.get(IdempotentAnswer, key, with_for_update=True)
                    if kept is not None:
                        if kept.request_hash != request_hash:
                            raise IdempotencyMismatch
                        return Answer(kept.status_code, kept.body)
                answer = await work(session)
                if key is not None:
                    session.add(
                        IdempotentAnswer(
                            key=key,
                            request_hash=request_hash,
                            status_code=answer.status_code,
                            body=answer.body,
                            created_at=datetime.now(UTC),
                        )
                    )
                return answer
        except IntegrityError:
            # The same key (or article) committed meanwhile: look again.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


async def forget_answers(sessions: async_sessionmaker[AsyncSession], before: datetime) -> None:
    async with sessions() as session, session.begin():
        await session.execute(delete(IdempotentAnswer).where(IdempotentAnswer.created_at < before))


async def get_article(
    sessions: async_sessionmaker[AsyncSession], id_or_slug: str
) -> Article | None:
    async with sessions() as session:
        return await find(session, id_or_slug)


async def list_articles(
    sessions: async_sessionmaker[AsyncSession],
    *,
    limit: int,
    cursor: str | None,
    before: str | None = None,
    section: str | None = None,
    author: str | None = None,
) -> ArticlePage:
    """Published articles newest first, a page older than ``cursor`` or newer than ``before``.

    Keyset pages on (sort_at, id): a new publication never shifts a page already handed out.
    """
    query = select(Article).where(Article.status == "published")
    if section is not None:
        query = query.where(Article.section == section)
    if author is not None:
        query = query.where(Article.author_key == author[:245])
    newest_first = before is None
    query = keyset_page(
        query,
        cursor if newest_first else before,
        Article.sort_at,
        Article.id,
        limit=limit,
        descending=newest_first,
    )
    async with sessions() as session:
        rows = list(await session.scalars(query))
    page, more = rows[:limit], len(rows) > limit
    if not newest_first:
        page.reverse()
    older = more if newest_first else True
    newer = bool(cursor) if newest_first else more
    return ArticlePage(
        items=[copy_into(ArticleSummary, a, lead=lead_of(a.body)) for a in page],
        next_cursor=encode_cursor(page[-1].sort_at, page[-1].id) if page and older else None,
        prev_cursor=encode_cursor(page[0].sort_at, page[0].id) if page and newer else None,
    )
