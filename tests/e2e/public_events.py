"""Public events as their producers write them, for the tests of the ways other systems
read them (Server-Sent Events, webhooks)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from shared.contracts.events import (
    ArticleData,
    ArticlePublished,
    BodyBlock,
    CommentApproved,
    CommentDecision,
    Event,
)
from tests.support import publish


def article(n: int, size: int = 0) -> ArticlePublished:
    text = f"نص الخبر رقم {n}." + " كلمة" * size
    return ArticlePublished(
        data=ArticleData(
            article_id=uuid.uuid4(),
            slug=f"khabar-{n}",
            title=f"خبر {n}",
            body=(BodyBlock(kind="paragraph", text=text),),
        )
    )


def comment(n: int) -> CommentApproved:
    return CommentApproved(
        data=CommentDecision(
            comment_id=uuid.uuid4(),
            article_id=uuid.uuid4(),
            author_name=f"قارئ {n}",
            html=f"<p>تعليق {n}</p>",
            status="approved",
            submitted_at=datetime.now(UTC),
        )
    )


def send(redis_url: str, stream: str, events: list[Event]) -> list[str]:
    return asyncio.run(publish(redis_url, stream, list(events)))
