"""What the search service's routes and handlers are given."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import httpx
from fastapi import Depends

from shared.service.skeleton import Kit, Sessions, part, requires

from .settings import SearchSettings


@dataclass(frozen=True)
class SearchParts:
    settings: SearchSettings
    writes: Sessions
    reads: Sessions
    #: Ingest's internal API: a rebuild reads every published article from it.
    ingest: httpx.AsyncClient
    editor_guard: Any


def make_parts(kit: Kit) -> SearchParts:
    settings: SearchSettings = kit.settings
    return SearchParts(
        settings=settings,
        writes=kit.write_sessions,
        reads=kit.read_sessions,
        ingest=httpx.AsyncClient(base_url=settings.service_url("ingest"), timeout=30.0),
        editor_guard=kit.guard("editor"),
    )


editor = requires("editor")
Ingest = Annotated[httpx.AsyncClient, Depends(part("ingest"))]
