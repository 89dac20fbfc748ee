"""The webhooks service's schema: its tables and their migration history."""

from __future__ import annotations

from pathlib import Path

from shared.storage.migrations import Schema

from .models import Base

SCHEMA = Schema(
    service="webhooks",
    location=Path(__file__).parent / "migrations",
    metadata=Base.metadata,
    marker_table="webhook_subscriptions",
)
