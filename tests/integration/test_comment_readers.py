"""One reader however their address is spelled: flood control and the first-time rule
compare folded addresses (comments.email_key), on SQLite and PostgreSQL, also against
rows the version before the column wrote (no key until the contract step fills it)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from services.comments.models import Comment, KnownArticle
from services.comments.rules import Policy
from services.comments.schema import SCHEMA
from services.comments.settings import CommentsSettings
from services.comments.store import decide_submissions
from services.comments.words import WordList
from shared.contracts.events import CommentSubmission, CommentSubmitted
from shared.storage.engines import make_engine, session_factory

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("reset_pg_schema")]

POLICY = Policy(
    hold_links=2,
    moderation_words=WordList([]),
    banned_words=WordList([]),
    premoderate_first_time=True,
)


def submission(article_id: uuid.UUID, email: str, client: str, at: datetime) -> CommentSubmitted:
    return CommentSubmitted(
        occurred_at=at,
        data=CommentSubmission(
            comment_id=uuid.uuid4(),
            article_id=article_id,
            name="سارة",
            email=email,
            text=f"تعليق {uuid.uuid4().hex[:6]}",
            client_key=client,
        ),
    )


async def _approved(
    sessions: Any, settings: CommentsSettings, event: CommentSubmitted, keyed: bool
) -> None:
    """An approved comment as this version (keyed) or the one before 0004 wrote it."""
    await decide_submissions(
        sessions, settings, replace(POLICY, premoderate_first_time=False), [event]
    )
    if not keyed:
        async with sessions() as session, session.begin():
            await session.execute(update(Comment).values(email_key=None))


@pytest.mark.parametrize(
    ("keyed", "spelling"),
    [(True, "Sara@Example.com"), (False, "sara@example.com")],
    # Unkeyed rows (the schema expanded, the previous version still writing) are
    # matched as written until the contract step folds them.
    ids=["this-version-row", "previous-version-row"],
)
async def test_one_reader_however_the_address_is_spelled(
    database_url: str, keyed: bool, spelling: str
) -> None:
    SCHEMA.upgrade(database_url, "head" if keyed else "0004")
    engine = make_engine(database_url)
    sessions = session_factory(engine)
    settings = CommentsSettings(database_url=database_url, flood_seconds=15)
    article_id = uuid.uuid4()
    start = datetime.now(UTC) - timedelta(minutes=5)
    try:
        async with sessions() as session, session.begin():
            session.add(KnownArticle(article_id=article_id, status="published", first_seen=start))
        first = submission(article_id, "sara@example.com", "c1", start)
        await _approved(sessions, settings, first, keyed)

        later = submission(article_id, spelling, "c2", start + timedelta(minutes=1))
        flood = submission(
            article_id, "SARA@example.com", "c3", later.occurred_at + timedelta(seconds=3)
        )
        other = submission(article_id, "someone@example.com", "c4", flood.occurred_at)
        await decide_submissions(sessions, settings, POLICY, [later, flood, other])

        async with sessions() as session:
            decided = {
                row.id: (row.status, list(row.reasons))
                for row in await session.execute(
                    select(Comment.id, Comment.status, Comment.reasons)
                )
            }
        assert decided[later.data.comment_id] == ("approved", [])  # approved before: not new
        assert decided[flood.data.comment_id] == ("rejected", ["flood"])  # the same reader, 3 s on
        assert decided[other.data.comment_id] == ("held", ["first_time"])
    finally:
        await engine.dispose()
