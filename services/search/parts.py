"""What the search service's routes and handlers are given."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import httpx
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.service.skeleton import Kit, part, parts_of
from shared.storage.engines import session_factory
from shared.web.auth import bearer_guard

from .settings import SearchSettings

Sessions = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class SearchParts:
    settings: SearchSettings
    writes: Sessions
    reads: Sessions
    #: Ingest's internal API: a rebuild reads every published article from it.
    ingest: httpx.AsyncClient
    editor_guard: Any


def make_parts(kit: Kit) -> SearchParts:
    assert kit.writes is not None and kit.reads is not None
    settings: SearchSettings = kit.settings
    return SearchParts(
        settings=settings,
        writes=kit.writes,
        reads=session_factory(kit.reads),
        ingest=httpx.AsyncClient(base_url=settings.service_url("ingest"), timeout=30.0),
        editor_guard=bearer_guard(settings.editor_token, "editor"),
    )


async def editor(request: Request) -> None:
    await parts_of(request).editor_guard(request)


Reads = Annotated[Sessions, Depends(part("reads"))]
Writes = Annotated[Sessions, Depends(part("writes"))]
Ingest = Annotated[httpx.AsyncClient, Depends(part("ingest"))]
