"""What the comments service's routes and handlers are given."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends

from shared.messaging.outbox import OutboxRelay
from shared.service.skeleton import Kit, Sessions, part, requires

from .rules import Policy
from .settings import CommentsSettings
from .words import WordList


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
    assert kit.relay is not None
    settings = kit.settings
    return CommentsParts(
        settings=settings,
        writes=kit.write_sessions,
        reads=kit.read_sessions,
        policy=Policy(
            hold_links=settings.hold_links,
            moderation_words=WordList(settings.moderation_words),
            banned_words=WordList(settings.banned_words),
            premoderate_first_time=settings.premoderate_first_time,
        ),
        relay=kit.relay,
        moderator_guard=kit.guard("moderator"),
    )


moderator = requires("moderator")
Relay = Annotated[OutboxRelay, Depends(part("relay"))]
