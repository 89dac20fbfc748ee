from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request
from faststream.redis import RedisBroker
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.messaging.outbox import OutboxRelay

from .settings import IngestSettings


@dataclass
class IngestState:
    """Everything the routes need, built once by :func:`services.ingest.app.create_app`."""

    settings: IngestSettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    broker: RedisBroker
    relay: OutboxRelay
    editor_guard: Callable[[Request], Awaitable[None]]
