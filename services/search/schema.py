"""The search service's schema: its table and their migration history."""

from __future__ import annotations

from shared.storage.migrations import Schema

from .models import Base

SCHEMA = Schema(
    service="search",
    metadata=Base.metadata,
    marker_table="search_documents",
)
