"""The views service's tables: counters, and what makes counting exactly-once."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Index, String, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UtcDateTime


class Base(DeclarativeBase):
    pass


class ArticleViews(Base):
    """Running total per article: ``legacy_views`` (from ingest) + ``counted`` (by us)."""

    __tablename__ = "article_views"

    article_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    legacy_views: Mapped[int] = mapped_column(BigInteger, default=0)
    counted: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(16), default="published")


class HourlyViews(Base):
    __tablename__ = "hourly_views"

    article_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    hour: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    views: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (Index("ix_hourly_views_hour", "hour"),)


class DailyViews(Base):
    __tablename__ = "daily_views"

    article_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    views: Mapped[int] = mapped_column(BigInteger, default=0)


class ProcessedEvent(Base):
    """Event ids already counted: a redelivered entry finds itself here and changes nothing."""

    __tablename__ = "processed_events"

    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class VisitorLastView(Base):
    """When a visitor's view of an article last counted (for the dedupe window)."""

    __tablename__ = "visitor_last_view"

    article_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    visitor_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    counted_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
