"""The search service's own table: one document per published article.

The full-text index beside it is the engine's own (SQLite FTS5, PostgreSQL
``tsvector``), made by the migrations: see :mod:`.index`.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Integer, String, Text, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.storage.engines import BIG_ID, UtcDateTime


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
