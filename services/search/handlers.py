"""The search service's stream handler: the index follows the ``articles`` stream."""

from __future__ import annotations

from collections.abc import Sequence

from shared.contracts.events import (
    ArticleDeleted,
    ArticleEvent,
    ArticleUnpublished,
)
from shared.messaging.consuming import Entry

from . import indexing
from .parts import Sessions


async def index_articles(entries: Sequence[Entry[ArticleEvent]], writes: Sessions) -> None:
    """Published and updated articles are (re)indexed; withdrawn ones leave the index.
    Each step is idempotent: a redelivered entry changes nothing."""
    async with writes() as session, session.begin():
        for entry in entries:
            event = entry.event
            if isinstance(event, ArticleUnpublished | ArticleDeleted):
                await indexing.remove(session, event.data.article_id)
            else:
                await indexing.put(session, indexing.document_of(event.data, event.occurred_at))
