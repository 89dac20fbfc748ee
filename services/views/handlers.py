"""The views service's stream handlers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine

from shared.contracts.events import ArticleEvent
from shared.messaging.consuming import Entry

from . import counting
from .window import VisitorWindow


async def count_views(
    entries: Sequence[Entry[Any]], writer: Engine, visitors: VisitorWindow, partition: int
) -> None:
    await counting.count_views(writer, visitors, entries, partition)


async def record_articles(entries: Sequence[Entry[ArticleEvent]], writer: Engine) -> None:
    for entry in entries:
        await counting.run_write(writer, counting.record_article, entry.event.data)
