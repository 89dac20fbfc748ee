"""What ingest's routes are given."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.messaging.outbox import OutboxRelay
from shared.service.skeleton import Kit, all_parts, parts_of
from shared.web.auth import bearer_guard

from .settings import IngestSettings


@dataclass(frozen=True)
class IngestParts:
    settings: IngestSettings
    #: Saving reads, then writes: these take SQLite's write lock at BEGIN, so concurrent
    #: imports of one article wait their turn instead of racing for the same revision.
    sessions: async_sessionmaker[AsyncSession]
    relay: OutboxRelay
    editor_guard: Callable[[Request], Awaitable[None]]


def make_parts(kit: Kit) -> IngestParts:
    assert kit.writes is not None and kit.relay is not None
    return IngestParts(
        settings=kit.settings,
        sessions=kit.writes,
        relay=kit.relay,
        editor_guard=bearer_guard(kit.settings.editor_token, "editor"),
    )


async def editor(request: Request) -> None:
    await parts_of(request).editor_guard(request)


Parts = Annotated[IngestParts, Depends(all_parts)]
