"""The comments service's tables."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, Date, Index, String, Text, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.messaging.outbox import OutboxColumns
from shared.storage.engines import UtcDateTime


class Base(DeclarativeBase):
    pass


class Comment(Base):
    __tablename__ = "comments"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    article_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    name: Mapped[str] = mapped_column(Text)
    email: Mapped[str] = mapped_column(String(320))
    #: The address folded (store.email_key): what flood control and the first-time
    #: rule compare.
    email_key: Mapped[str] = mapped_column(String(320))
    website: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    spam_signals: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Keyed hash of the client address: flood control without storing the address.
    client_key: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str] = mapped_column(Text, default="")
    #: Folded text hash: the same comment spelled with other diacritics is a duplicate.
    fingerprint: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime)
    decided_by: Mapped[str] = mapped_column(String(16), default="rules")
    #: The moderator's reason, in their words.
    note: Mapped[str | None] = mapped_column(Text)
    #: The comment this one answers (one level deep).
    parent_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)

    __table_args__ = (
        Index("ix_comments_article_status", "article_id", "status", "submitted_at"),
        Index("ix_comments_status", "status", "submitted_at"),
        Index("ix_comments_fingerprint", "article_id", "fingerprint"),
        # Flood control asks "this client or this reader since T": a range scan each.
        Index("ix_comments_client_recent", "client_key", "submitted_at"),
        Index("ix_comments_email_key_recent", "email_key", "submitted_at"),
        Index("ix_comments_parent", "parent_id"),
    )


class KnownArticle(Base):
    """Articles as the ``articles`` stream announced them: can they take comments?"""

    __tablename__ = "known_articles"

    article_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    published_on: Mapped[date | None] = mapped_column(Date)
    first_seen: Mapped[datetime] = mapped_column(UtcDateTime)


class OutboxEvent(OutboxColumns, Base):
    """Decisions written with the comments they announce (see shared.messaging.outbox)."""

    # Not "outbox": ingest's outbox may live in the same database.
    __tablename__ = "comment_outbox"
