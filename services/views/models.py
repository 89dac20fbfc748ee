"""The views service's tables: counters, and what makes counting exactly-once.

Hot-path columns are plain strings and integers (article ids as canonical
UUID text, hours as epoch hours, days as ISO dates) so batches can be written
with driver-level SQL on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


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


class ProcessedEvent(Base):
    """Events already applied: a redelivered entry finds itself here and changes nothing."""

    __tablename__ = "processed_events"

    event_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    #: Epoch seconds, for pruning.
    processed_at: Mapped[int] = mapped_column(BigInteger, index=True)
