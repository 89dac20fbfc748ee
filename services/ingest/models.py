"""Ingest's own tables: articles, their revisions, and the event outbox."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.messaging.outbox import OutboxColumns
from shared.storage.engines import BIG_ID, UtcDateTime


class Base(DeclarativeBase):
    pass


class Article(Base):
    __tablename__ = "articles"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    #: What makes two imports "the same article": source URL, explicit slug, or title+date.
    identity_key: Mapped[str] = mapped_column(String(600), unique=True)
    slug: Mapped[str] = mapped_column(String(400), unique=True)
    title: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    #: The author as an index can hold it (a Text column cannot be indexed everywhere).
    author_key: Mapped[str | None] = mapped_column(String(245))
    published_on: Mapped[date | None] = mapped_column(Date)
    modified_on: Mapped[date | None] = mapped_column(Date)
    body: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    legacy_views: Mapped[int] = mapped_column(BigInteger, default=0)
    source_url: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(16), default="ar")
    section: Mapped[str | None] = mapped_column(String(120))
    tags: Mapped[list[str] | None] = mapped_column(JSON)
    #: The lead image's URL.
    image: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="published")
    #: The article's id where it comes from (a CMS, a feed's guid): its key when no slug is given.
    external_id: Mapped[str | None] = mapped_column(String(300))
    #: When a scheduled article goes out (status ``scheduled`` until then).
    publish_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: Newest-first order: the publication date, else the ingestion time.
    sort_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index("ix_articles_sort", "sort_at", "id"),
        Index("ix_articles_due", "status", "publish_at"),
        Index("ix_articles_section", "section", "sort_at"),
        Index("ix_articles_author", "author_key", "sort_at"),
        UniqueConstraint("external_id", name="uq_articles_external_id"),
    )


class ArticleRevision(Base):
    __tablename__ = "article_revisions"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    article_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    published_on: Mapped[date | None] = mapped_column(Date)
    body: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (UniqueConstraint("article_id", "revision"),)


class IdempotentAnswer(Base):
    """The first answer to an editor's request sent with an ``Idempotency-Key``."""

    __tablename__ = "idempotent_answers"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    #: Method, path and body of the first request: a reuse with another is refused.
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class OutboxEvent(OutboxColumns, Base):
    """Events written with the article changes they announce (see shared.messaging.outbox)."""
