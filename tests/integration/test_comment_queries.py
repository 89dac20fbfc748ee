"""Deciding a batch of comments reads through indexes, never the whole table: on a
site with a million comments a scan per batch would make every decision slower
as the site grows (SQLite, which plans without statistics, is where it went wrong)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from services.comments.models import KnownArticle
from services.comments.rules import Policy
from services.comments.schema import SCHEMA
from services.comments.settings import CommentsSettings
from services.comments.store import decide_submissions
from services.comments.words import WordList
from shared.contracts.events import CommentSubmitted
from shared.storage.engines import make_engine, session_factory
from tests.support import comment_submission

pytestmark = pytest.mark.integration

POLICY = Policy(
    hold_links=2,
    moderation_words=WordList([]),
    banned_words=WordList([]),
    premoderate_first_time=True,
)


def _batch(article_id: uuid.UUID, start: datetime, n: int) -> list[CommentSubmitted]:
    return [comment_submission(article_id, i, at=start + timedelta(seconds=i)) for i in range(n)]


@pytest.mark.parametrize("revision", ["head", "0004"], ids=["contracted", "expanded"])
async def test_a_batch_is_decided_through_indexes(tmp_path: Path, revision: str) -> None:
    url = f"sqlite:///{tmp_path / 'comments.db'}"
    SCHEMA.upgrade(url, revision)
    engine = make_engine(url)
    sessions = session_factory(engine)
    settings = CommentsSettings(database_url=url)
    article_id = uuid.uuid4()
    start = datetime.now(UTC) - timedelta(hours=1)
    selects: list[tuple[str, Any]] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _seen(
        conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM comments" in statement:
            selects.append((statement, params))

    try:
        async with sessions() as session, session.begin():
            session.add(KnownArticle(article_id=article_id, status="published", first_seen=start))
        await decide_submissions(sessions, settings, POLICY, _batch(article_id, start, 50))
        selects.clear()
        # The second batch: same readers, so flood, first-time and duplicate checks all
        # find rows, and the planner has a table to choose a scan of.
        await decide_submissions(
            sessions, settings, POLICY, _batch(article_id, start + timedelta(minutes=5), 50)
        )
        assert len(selects) >= 4, selects
        async with engine.connect() as conn:
            for statement, params in selects:
                plan = [
                    row[-1]
                    for row in await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
                ]
                # A scan, or a walk of every approved comment of the site or the article.
                scans = [
                    step
                    for step in plan
                    if step.startswith("SCAN comments")
                    or "INDEX ix_comments_status " in step
                    or "INDEX ix_comments_article_status " in step
                ]
                assert not scans, f"{statement}\n→ {plan}"
        async with sessions() as session:
            statuses = dict(
                (await session.execute(text("SELECT status, count(*) FROM comments GROUP BY 1")))
                .tuples()
                .all()
            )
        # The first batch held (first-time readers), the second rejected: the same
        # readers sending the same texts again.
        assert statuses == {"held": 50, "rejected": 50}
    finally:
        await engine.dispose()
