"""The views service's tables: counters, and what makes counting exactly-once.

Hot-path columns are plain strings and integers (article ids as canonical
UUID text, hours as epoch hours, days as ISO dates) so batches can be written
with driver-level SQL on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.storage.engines import BIG_ID


class Base(DeclarativeBase):
    pass


class ArticleViews(Base):
    """Running total per article: ``legacy_views`` (from ingest) + ``counted`` (by us)."""

    __tablename__ = "article_views"

    article_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    legacy_views: Mapped[int] = mapped_column(BigInteger, default=0)
    counted: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(16), default="published")


class HourlyViews(Base):
    __tablename__ = "hourly_views"

    article_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    #: Hours since the Unix epoch (UTC).
    hour: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    views: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (Index("ix_hourly_views_hour", "hour"),)


class DailyViews(Base):
    __tablename__ = "daily_views"

    article_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    #: ISO date (UTC), e.g. ``2025-11-01``.
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    views: Mapped[int] = mapped_column(BigInteger, default=0)


class AppliedBatch(Base):
    """The ledger: which stream entries are already counted, one row per committed batch.

    A redelivered entry finds itself here and changes nothing. Entry ids are
    stored in a sortable form (``ms-seq``, zero-padded) so the rows a batch can
    overlap are found by range.
    """

    __tablename__ = "applied_batches"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    # Only last_entry is indexed: a new batch lies past nearly every row, so
    # "last_entry >= batch start" finds the few rows it can overlap.
    first_entry: Mapped[str] = mapped_column(String(32))
    last_entry: Mapped[str] = mapped_column(String(32), index=True)
    #: Space-separated sortable entry ids of the batch.
    entries: Mapped[str] = mapped_column(Text)
    #: Epoch seconds, for pruning.
    applied_at: Mapped[int] = mapped_column(BigInteger, index=True)
