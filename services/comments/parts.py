"""What the comments service's routes and handlers are given."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.messaging.outbox import OutboxRelay
from shared.service.skeleton import Kit, part, parts_of
from shared.storage.engines import session_factory
from shared.web.auth import bearer_guard

from .rules import Policy
from .settings import CommentsSettings
from .words import WordList

Sessions = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class CommentsParts:
    settings: CommentsSettings
    #: Decisions read, then write (flood, duplicates): these take SQLite's write lock at BEGIN.
    writes: Sessions
    reads: Sessions
    policy: Policy
    relay: OutboxRelay
    moderator_guard: Any


def make_parts(kit: Kit) -> CommentsParts:
    assert kit.writes is not None and kit.reads is not None and kit.relay is not None
    settings = kit.settings
    return CommentsParts(
        settings=settings,
        writes=kit.writes,
        reads=session_factory(kit.reads),
        policy=Policy(
            hold_links=settings.hold_links,
            moderation_words=WordList(settings.moderation_words),
            banned_words=WordList(settings.banned_words),
            premoderate_first_time=settings.premoderate_first_time,
        ),
        relay=kit.relay,
        moderator_guard=bearer_guard(settings.moderator_token, "moderator"),
    )


async def moderator(request: Request) -> None:
    await parts_of(request).moderator_guard(request)


Reads = Annotated[Sessions, Depends(part("reads"))]
Writes = Annotated[Sessions, Depends(part("writes"))]
Relay = Annotated[OutboxRelay, Depends(part("relay"))]
