"""Deciding and storing comments; moderation; reading them back. One transaction each."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.events import (
    DECISION_EVENTS,
    ArticleData,
    ArticleRef,
    CommentDecision,
    CommentSubmitted,
)
from shared.outbox import add_to_outbox
from shared.text import fold_arabic

from .models import Comment, KnownArticle, OutboxEvent
from .render import count_links, plain_text, render_comment
from .rules import Context, Policy, decide
from .settings import CommentsSettings

COMMENTS_STREAM = "comments"
Action = Literal["approve", "reject", "remove"]
ACTION_STATUS = {"approve": "approved", "reject": "rejected", "remove": "removed"}


def fingerprint(text: str) -> str:
    return hashlib.sha256(" ".join(fold_arabic(text).split()).encode()).hexdigest()


def decision_of(comment: Comment) -> CommentDecision:
    return CommentDecision(
        comment_id=comment.id,
        article_id=comment.article_id,
        author_name=comment.name,
        author_url=comment.website,
        html=comment.html,
        status=comment.status,  # type: ignore[arg-type]
        reasons=tuple(comment.reasons),
        submitted_at=comment.submitted_at,
        decided_by=comment.decided_by,  # type: ignore[arg-type]
    )


def _announce(session: AsyncSession, comment: Comment) -> None:
    event = DECISION_EVENTS[comment.status](data=decision_of(comment))  # type: ignore[call-arg]
    add_to_outbox(session, OutboxEvent, event, COMMENTS_STREAM)


async def record_article(
    sessions: async_sessionmaker[AsyncSession], data: ArticleData | ArticleRef
) -> None:
    async with sessions() as session, session.begin():
        known = await session.get(KnownArticle, data.article_id)
        if known is None:
            known = KnownArticle(
                article_id=data.article_id, first_seen=datetime.now(UTC), status="published"
            )
            session.add(known)
        if isinstance(data, ArticleData):
            known.status = "published"
            known.published_on = data.published_on
        else:
            known.status = "unpublished"


def _is_open(article: KnownArticle, close_after_days: int, today: date) -> bool:
    if article.status != "published":
        return False
    if close_after_days <= 0:
        return True
    opened = article.published_on or article.first_seen.date()
    return today <= opened + timedelta(days=close_after_days)


async def decide_submission(
    sessions: async_sessionmaker[AsyncSession],
    settings: CommentsSettings,
    policy: Policy,
    event: CommentSubmitted,
) -> Comment:
    """Decide a submitted comment and stage the decision event; a redelivery changes nothing."""
    data = event.data
    at = event.occurred_at
    async with sessions() as session, session.begin():
        existing = await session.get(Comment, data.comment_id)
        if existing is not None:
            return existing
        html = render_comment(data.text)
        digest = fingerprint(data.text)
        article = await session.get(KnownArticle, data.article_id)
        flood_since = at - timedelta(seconds=settings.flood_seconds)
        flood = await session.scalar(
            select(
                exists().where(
                    or_(Comment.client_key == data.client_key, Comment.email == data.email),
                    Comment.submitted_at > flood_since,
                    Comment.submitted_at <= at,
                )
            )
        )
        duplicate = await session.scalar(
            select(
                exists().where(
                    Comment.article_id == data.article_id,
                    Comment.fingerprint == digest,
                    or_(Comment.email == data.email, Comment.name == data.name),
                    Comment.status.in_(("approved", "held")),
                )
            )
        )
        approved_before = await session.scalar(
            select(exists().where(Comment.email == data.email, Comment.status == "approved"))
        )
        context = Context(
            article_known=article is not None,
            article_open=article is not None
            and _is_open(article, settings.close_after_days, at.date()),
            flood=bool(flood),
            duplicate=bool(duplicate),
            first_time=not approved_before,
            links=count_links(html),
            empty=not plain_text(html),
        )
        status, reasons = decide(
            policy,
            context,
            name=data.name,
            email=data.email,
            website=data.website,
            text=data.text,
            spam_signals=data.spam_signals,
        )
        comment = Comment(
            id=data.comment_id,
            article_id=data.article_id,
            name=data.name,
            email=data.email,
            website=data.website,
            text=data.text,
            html=html,
            status=status,
            reasons=reasons,
            spam_signals=list(data.spam_signals),
            client_key=data.client_key,
            user_agent=data.user_agent[:1000],
            fingerprint=digest,
            submitted_at=at,
            decided_at=datetime.now(UTC),
            decided_by="rules",
        )
        session.add(comment)
        await session.flush()
        _announce(session, comment)
    return comment


class NotAllowed(ValueError):
    pass


async def moderate(
    sessions: async_sessionmaker[AsyncSession], comment_id: uuid.UUID, action: Action
) -> Comment | None:
    """A moderator's decision; repeating it changes nothing and announces nothing."""
    target = ACTION_STATUS[action]
    async with sessions() as session, session.begin():
        comment = await session.get(Comment, comment_id)
        if comment is None or comment.status == target:
            return comment
        if target == "approved" and comment.status == "removed":
            raise NotAllowed("a removed comment cannot be approved again")
        comment.status = target
        comment.reasons = [f"moderator_{action}"]
        comment.decided_by = "moderator"
        comment.decided_at = datetime.now(UTC)
        _announce(session, comment)
    return comment


async def get_comment(
    sessions: async_sessionmaker[AsyncSession], comment_id: uuid.UUID
) -> Comment | None:
    async with sessions() as session:
        return await session.get(Comment, comment_id)


class BadCursor(ValueError):
    pass


def _cursor(comment: Comment) -> str:
    raw = json.dumps([comment.submitted_at.isoformat(), str(comment.id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _after(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        at, comment_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return datetime.fromisoformat(at), uuid.UUID(comment_id)
    except (ValueError, TypeError) as exc:
        raise BadCursor("cursor is not one this API handed out") from exc


async def list_comments(
    sessions: async_sessionmaker[AsyncSession],
    *,
    status: str,
    article_id: uuid.UUID | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Comment], str | None]:
    """Comments with ``status``, oldest first (newest last), cursor-paginated."""
    query = select(Comment).where(Comment.status == status)
    if article_id is not None:
        query = query.where(Comment.article_id == article_id)
    if cursor:
        at, after_id = _after(cursor)
        query = query.where(
            or_(Comment.submitted_at > at, and_(Comment.submitted_at == at, Comment.id > after_id))
        )
    query = query.order_by(Comment.submitted_at, Comment.id).limit(limit + 1)
    async with sessions() as session:
        rows = list(await session.scalars(query))
    page = rows[:limit]
    return page, (_cursor(page[-1]) if len(rows) > limit else None)
