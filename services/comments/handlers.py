"""The comments service's stream handlers: plain functions of their inputs."""

from __future__ import annotations

from collections.abc import Sequence

from shared.contracts.events import ArticleEvent, CommentSubmitted
from shared.messaging.consuming import Entry
from shared.messaging.outbox import OutboxRelay
from shared.service.skeleton import StreamHandler

from . import store
from .parts import Sessions
from .rules import Policy
from .settings import CommentsSettings


async def decide_submissions(
    entries: Sequence[Entry[CommentSubmitted]],
    writes: Sessions,
    settings: CommentsSettings,
    policy: Policy,
    relay: OutboxRelay,
) -> set[str]:
    """Decide and store a batch; comments on articles not heard of yet wait (stay pending)."""
    _decided, later = await store.decide_submissions(
        writes, settings, policy, [e.event for e in entries]
    )
    relay.wake()
    return {e.entry_id for e in entries if e.event.data.comment_id in later}


async def record_articles(entries: Sequence[Entry[ArticleEvent]], writes: Sessions) -> None:
    for entry in entries:
        await store.record_article(writes, entry.event.data)


#: The streams the service's group reads, and what handles each.
HANDLERS = (
    StreamHandler("comments.submitted", decide_submissions, batch_size=500),
    StreamHandler("articles", record_articles),
)
