"""A partner's feed imported through ingest (SQLite and PostgreSQL): each entry an
article, again without duplicates, a broken entry reported and the others kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.ingest_helpers import EDITOR, ingest_settings, running_ingest

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("reset_pg_schema")]
FEEDS = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"


async def test_a_feed_imports_once_and_reports_its_broken_entry(
    database_url: str, redis_url: str, namespace: str
) -> None:
    settings = ingest_settings(namespace=namespace, redis_url=redis_url, database_url=database_url)
    rss = (FEEDS / "partner.rss").read_bytes()
    async with running_ingest(settings) as (_app, client):
        headers = {**EDITOR, "Content-Type": "application/rss+xml"}
        assert (await client.post("/imports", content=rss)).status_code == 401
        first = await client.post("/imports", content=rss, headers=headers)
        assert first.status_code == 200, first.text
        assert first.json() == {
            "feed": "وكالة شريكة",
            "created": 2,
            "updated": 0,
            "unchanged": 0,
            "failed": [{"entry": "partner-1002", "reason": "the entry has no title"}],
        }
        again = (await client.post("/imports", content=rss, headers=headers)).json()
        assert (again["created"], again["unchanged"]) == (0, 2)
        listed = (await client.get("/articles")).json()["items"]
        assert sorted(a["title"] for a in listed) == [
            "Ferry service resumes between the islands",
            "افتتاح معرض الكتاب في دمشق",
        ]
        ferry = next(a for a in listed if a["title"].startswith("Ferry"))
        article = (await client.get(f"/articles/{ferry['slug']}")).json()
        # An English item in an Arabic wire: its language is its own, detected.
        assert article["external_id"] == "partner-1003" and article["language"] == "en"
        # An edited entry updates its article.
        edited = rss.replace(b"resumed its full timetable", b"resumed half its timetable")
        update = (await client.post("/imports", content=edited, headers=headers)).json()
        assert (update["updated"], update["unchanged"]) == (1, 1)
        atom = await client.post(
            "/imports",
            content=(FEEDS / "partner.atom").read_bytes(),
            headers={**EDITOR, "Content-Type": "application/atom+xml"},
        )
        assert atom.json()["created"] == 1
        refused = await client.post("/imports", content=b"<html>a page</html>", headers=headers)
        assert refused.status_code == 422 and refused.json()["title"] == "Not a feed"
