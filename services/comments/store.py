"""Deciding and storing comments; moderation; reading them back. One transaction each."""

from __future__ import annotations

import hashlib
import json
import unicodedata
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import String, Table, and_, cast, insert, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.contracts.events import (
    DECISION_EVENTS,
    ArticleData,
    ArticleRef,
    CommentDecision,
    CommentSubmitted,
    Event,
)
from shared.messaging.outbox import add_to_outbox, outbox_row
from shared.storage.pagination import encode_cursor, keyset_page
from shared.text.seen import as_seen

from .models import Base, Comment, KnownArticle, OutboxEvent
from .render import count_links, plain_text, render_comment
from .rules import Context, Policy, decide
from .schema import SCHEMA
from .settings import CommentsSettings

COMMENTS_STREAM = "comments"
Action = Literal["approve", "reject", "remove"]
ACTION_STATUS = {"approve": "approved", "reject": "rejected", "remove": "removed"}


def fingerprint(text: str) -> str:
    """The same comment as a reader sees it: one zero-width space does not make it new."""
    return hashlib.sha256(" ".join(as_seen(text).split()).encode()).hexdigest()


def email_key(email: str) -> str:
    """One reader's address however it is spelled (``Sara@`` and ``sara@`` are one)."""
    return unicodedata.normalize("NFKC", email).strip().casefold()


def _row_key(email: str, key: str | None) -> str:
    # Rows written by the version before 0004 have no key until 0005 fills it.
    return key if key is not None else email_key(email)


def _same_reader(keys: set[str], emails: set[str], unkeyed: bool) -> Any:
    if not unkeyed:
        return Comment.email_key.in_(keys)
    return or_(
        Comment.email_key.in_(keys), and_(Comment.email_key.is_(None), Comment.email.in_(emails))
    )


async def _unkeyed_rows_possible(session: AsyncSession) -> bool:
    """Until the contract step 0005 the previous version may write rows without a key.

    After it the column is NOT NULL, and asking for NULL keys anyway makes SQLite walk
    the whole table (it uses no index for ``IS NULL`` on a NOT NULL column)."""
    current = await session.scalar(text(f"SELECT version_num FROM {SCHEMA.version_table}"))
    return current is not None and current < KEYS_REQUIRED


def _filtered(column: Any) -> Any:
    """``column`` as an expression no index serves: SQLite, without statistics, would
    otherwise walk an index on the status (every approved comment of the site, or of
    the article) rather than the selective one on the reader or the text."""
    return column.concat("")


def decision_event(values: Mapping[str, Any]) -> Event:
    """The event announcing a comment's status, from its column values."""
    decision = CommentDecision(
        comment_id=values["id"],
        article_id=values["article_id"],
        author_name=values["name"],
        author_url=values["website"],
        html=values["html"],
        status=values["status"],
        reasons=tuple(values["reasons"]),
        submitted_at=values["submitted_at"],
        decided_by=values["decided_by"],
        note=values.get("note"),
        parent_id=values.get("parent_id"),
    )
    return DECISION_EVENTS[values["status"]](data=decision)  # type: ignore[call-arg]


def _table(model: type[Base]) -> Table:
    """A model's table (its ``__table__`` is typed as any ``FromClause``)."""
    return model.metadata.tables[model.__tablename__]


def _columns(comment: Comment) -> dict[str, Any]:
    return {c.key: getattr(comment, c.key) for c in Comment.__table__.columns}


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


KEPT = ("approved", "held")
#: The contract step after which every row has its ``email_key``.
KEYS_REQUIRED = "0005"


async def decide_submissions(
    sessions: async_sessionmaker[AsyncSession],
    settings: CommentsSettings,
    policy: Policy,
    events: Sequence[CommentSubmitted],
) -> tuple[list[uuid.UUID], set[uuid.UUID]]:
    """Decide submitted comments, oldest first, in one transaction; stage each decision event.

    What a decision depends on (earlier comments from the same client or email,
    earlier copies of the same text) is read once for the whole batch and kept
    up to date as the batch is decided, so comment N sees comments 1..N-1.
    A redelivered submission finds its comment already there and changes nothing.
    Returns the ids of the decided comments and of those left for later: young
    comments on articles not announced yet.
    """
    async with sessions() as session, session.begin():
        unique = {e.data.comment_id: e for e in events}
        done = set(await session.scalars(select(Comment.id).where(Comment.id.in_(list(unique)))))
        fresh = sorted((e for i, e in unique.items() if i not in done), key=lambda e: e.occurred_at)
        if not fresh:
            return [], set()
        articles = {
            a.article_id: a
            for a in await session.scalars(
                select(KnownArticle).where(
                    KnownArticle.article_id.in_({e.data.article_id for e in fresh})
                )
            )
        }
        now = datetime.now(UTC)
        grace = timedelta(seconds=settings.unknown_article_grace_seconds)
        later = {
            e.data.comment_id
            for e in fresh
            if e.data.article_id not in articles and now - e.occurred_at < grace
        }
        fresh = [e for e in fresh if e.data.comment_id not in later]
        if not fresh:
            return [], later
        data = [e.data for e in fresh]
        digests = [fingerprint(d.text) for d in data]
        readers = [email_key(d.email) for d in data]
        keys, emails = {d.client_key for d in data}, {d.email for d in data}
        same_reader = _same_reader(set(readers), emails, await _unkeyed_rows_possible(session))
        earliest = fresh[0].occurred_at - timedelta(seconds=settings.flood_seconds)
        seen = _Seen()
        for row in await session.execute(
            select(
                Comment.client_key, Comment.email, Comment.email_key, Comment.submitted_at
            ).where(or_(Comment.client_key.in_(keys), same_reader), Comment.submitted_at > earliest)
        ):
            seen.submitted(row.client_key, _row_key(row.email, row.email_key), row.submitted_at)
        for kept in await session.execute(
            select(
                Comment.article_id,
                Comment.fingerprint,
                Comment.email,
                Comment.email_key,
                Comment.name,
            ).where(
                Comment.article_id.in_({d.article_id for d in data}),
                Comment.fingerprint.in_(set(digests)),
                _filtered(Comment.status).in_(KEPT),
            )
        ):
            seen.kept(
                kept.article_id, kept.fingerprint, _row_key(kept.email, kept.email_key), kept.name
            )
        parent_ids = {d.parent_id for d in data if d.parent_id is not None}
        parents = {
            row.id: row
            for row in await session.execute(
                select(Comment.id, Comment.article_id, Comment.status, Comment.parent_id).where(
                    Comment.id.in_(parent_ids)
                )
            )
        }
        approved_readers = {
            _row_key(row.email, row.email_key)
            for row in await session.execute(
                select(Comment.email, Comment.email_key)
                .where(same_reader, _filtered(Comment.status) == "approved")
                .distinct()
            )
        }

        rows: list[dict[str, Any]] = []
        announcements: list[dict[str, Any]] = []
        for event, d, digest, reader in zip(fresh, data, digests, readers, strict=True):
            at = event.occurred_at
            since = at - timedelta(seconds=settings.flood_seconds)
            html = render_comment(d.text)
            article = articles.get(d.article_id)
            context = Context(
                article_known=article is not None,
                article_open=article is not None
                and _is_open(article, settings.close_after_days, at.date()),
                flood=seen.flood(d.client_key, reader, since, at),
                duplicate=seen.duplicate(d.article_id, digest, reader, d.name),
                first_time=reader not in approved_readers,
                links=count_links(html),
                empty=not plain_text(html),
                reply_to_hidden=d.parent_id is not None
                and not _visible_parent(parents.get(d.parent_id), d.article_id),
            )
            status, reasons = decide(
                policy,
                context,
                name=d.name,
                email=d.email,
                website=d.website,
                text=d.text,
                spam_signals=d.spam_signals,
            )
            values = dict(
                id=d.comment_id,
                article_id=d.article_id,
                name=d.name,
                email=d.email,
                email_key=reader,
                website=d.website,
                text=d.text,
                html=html,
                status=status,
                reasons=reasons,
                spam_signals=list(d.spam_signals),
                client_key=d.client_key,
                user_agent=d.user_agent[:1000],
                fingerprint=digest,
                submitted_at=at,
                decided_at=datetime.now(UTC),
                decided_by="rules",
                parent_id=d.parent_id,
            )
            rows.append(values)
            announcements.append(outbox_row(decision_event(values), COMMENTS_STREAM))
            seen.submitted(d.client_key, reader, at)
            if status in KEPT:
                seen.kept(d.article_id, digest, reader, d.name)
            if status == "approved":
                approved_readers.add(reader)
        # The tables' own inserts: the ORM's bulk insert costs more a row
        # (bench/comments_insert.py), its unit of work more than deciding.
        await session.execute(insert(_table(Comment)), rows)
        await session.execute(insert(_table(OutboxEvent)), announcements)
    return [r["id"] for r in rows], later


class _Seen:
    """What a batch's decisions look back on, indexed by what they ask (a batch of 500
    compared each comment with every earlier one)."""

    def __init__(self) -> None:
        self._by_client: defaultdict[str, list[datetime]] = defaultdict(list)
        self._by_reader: defaultdict[str, list[datetime]] = defaultdict(list)
        self._kept: defaultdict[tuple[uuid.UUID, str], list[tuple[str, str]]] = defaultdict(list)

    def submitted(self, client_key: str, reader: str, at: datetime) -> None:
        self._by_client[client_key].append(at)
        self._by_reader[reader].append(at)

    def kept(self, article_id: uuid.UUID, digest: str, reader: str, name: str) -> None:
        self._kept[article_id, digest].append((reader, name))

    def flood(self, client_key: str, reader: str, since: datetime, at: datetime) -> bool:
        """Did this client or this reader submit a comment in (since, at]?"""
        return any(since < t <= at for t in self._by_client.get(client_key, ())) or any(
            since < t <= at for t in self._by_reader.get(reader, ())
        )

    def duplicate(self, article_id: uuid.UUID, digest: str, reader: str, name: str) -> bool:
        """Is the same text kept on this article from this reader or under this name?"""
        return any(m == reader or n == name for m, n in self._kept.get((article_id, digest), ()))


def _visible_parent(parent: Any, article_id: uuid.UUID) -> bool:
    return (
        parent is not None
        and parent.status == "approved"
        and parent.article_id == article_id
        and parent.parent_id is None
    )


class NotAllowed(ValueError):
    pass


async def moderate(
    sessions: async_sessionmaker[AsyncSession],
    comment_id: uuid.UUID,
    action: Action,
    note: str | None = None,
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
        comment.note = note
        comment.decided_at = datetime.now(UTC)
        add_to_outbox(session, OutboxEvent, decision_event(_columns(comment)), COMMENTS_STREAM)
    return comment


async def get_comment(
    sessions: async_sessionmaker[AsyncSession], comment_id: uuid.UUID
) -> Comment | None:
    async with sessions() as session:
        return await session.get(Comment, comment_id)


async def list_comments(
    sessions: async_sessionmaker[AsyncSession],
    *,
    status: str,
    article_id: uuid.UUID | None,
    limit: int,
    cursor: str | None,
    reason: str | None = None,
) -> tuple[list[Comment], str | None]:
    """Comments with ``status``, oldest first (newest last), cursor-paginated; with
    ``reason``, only those the rules or a moderator gave that reason."""
    query = select(Comment).where(Comment.status == status)
    if article_id is not None:
        query = query.where(Comment.article_id == article_id)
    if reason is not None:
        # The reasons are a JSON list of words: match one as a quoted JSON string.
        quoted = json.dumps(reason).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(cast(Comment.reasons, String).like(f"%{quoted}%", escape="\\"))
    query = keyset_page(query, cursor, Comment.submitted_at, Comment.id, limit=limit)
    async with sessions() as session:
        rows = list(await session.scalars(query))
    page = rows[:limit]
    return page, (encode_cursor(page[-1].submitted_at, page[-1].id) if len(rows) > limit else None)
