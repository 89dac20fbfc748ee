"""What ingest's routes are given."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from shared.messaging.outbox import OutboxRelay
from shared.service.skeleton import Kit, Sessions, all_parts, requires

from .settings import IngestSettings


@dataclass(frozen=True)
class IngestParts:
    settings: IngestSettings
    #: Saving reads, then writes: these take SQLite's write lock at BEGIN, so concurrent
    #: imports of one article wait their turn instead of racing for the same revision.
    sessions: Sessions
    relay: OutboxRelay
    editor_guard: Callable[[Request], Awaitable[None]]


def make_parts(kit: Kit) -> IngestParts:
    assert kit.relay is not None
    return IngestParts(
        settings=kit.settings,
        sessions=kit.write_sessions,
        relay=kit.relay,
        editor_guard=kit.guard("editor"),
    )


editor = requires("editor")


Parts = Annotated[IngestParts, Depends(all_parts)]
