"""The search service's own table: one document per published article.

The full-text index beside it is the engine's own (SQLite FTS5, PostgreSQL
``tsvector``), made by the migrations: see :mod:`.index`.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, Integer, String, Text, Uuid, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.storage.engines import BIG_ID, UtcDateTime

#: What PostgreSQL searches: title terms weigh more (A) than body terms (B).
PG_VECTOR = (
    "(setweight(to_tsvector('simple', title_terms), 'A') || "
    "setweight(to_tsvector('simple', body_terms), 'B'))"
)


class Base(DeclarativeBase):
    pass


class SearchDocument(Base):
    __tablename__ = "search_documents"

    #: The full-text index's row id.
    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    article_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    revision: Mapped[int] = mapped_column(Integer)
    slug: Mapped[str] = mapped_column(String(400))
    title: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    section: Mapped[str | None] = mapped_column(String(120))
    language: Mapped[str] = mapped_column(String(16))
    published_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: The body as plain text, paragraphs on lines: snippets are cut from it.
    body: Mapped[str] = mapped_column(Text)
    #: Title and body as the index holds them (terms.index_terms).
    title_terms: Mapped[str] = mapped_column(Text)
    body_terms: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        # PostgreSQL's full-text index; SQLite's is the FTS5 table the migration makes.
        Index("ix_search_vector", text(PG_VECTOR), postgresql_using="gin").ddl_if(
            dialect="postgresql"
        ),
    )
