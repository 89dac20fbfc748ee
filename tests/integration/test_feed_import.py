"""A partner's feed imported through ingest (SQLite and PostgreSQL): each entry an
article, again without duplicates, a broken entry reported and the others kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.ingest_helpers import EDITOR, ingest_settings, running_ingest

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("reset_pg_schema")]
FEEDS = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"


async def test_a_feed_imports_once_and_reports_its_broken_entry(
    place: dict[str, str], redis_url: str, namespace: str
) -> None:
    settings = ingest_settings(**place)
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


async def test_an_entry_without_its_text_gets_its_linked_page_given_as_a_file(
    place: dict[str, str], redis_url: str, namespace: str
) -> None:
    settings = ingest_settings(**place)
    wire = FEEDS / "wire"
    page = (FEEDS.parent / "pages" / "article-en.html").read_bytes()  # the entry's linked page
    async with running_ingest(settings) as (_app, client):
        answer = await client.post(
            "/imports",
            files=[
                ("feed", ("wire.rss", (wire / "wire.rss").read_bytes(), "application/rss+xml")),
                ("page", ("harbour-reopens.html", page, "text/html")),
            ],
            headers=EDITOR,
        )
        assert answer.status_code == 200, answer.text
        assert (answer.json()["created"], answer.json()["failed"]) == (2, [])
        listed = (await client.get("/articles")).json()["items"]
        by_title = {a["title"]: a for a in listed}
        harbour = (
            await client.get(f"/articles/{by_title['Harbour reopens after storm repairs']['slug']}")
        ).json()
        text = " ".join(b["text"] for b in harbour["body"])
        # The page's whole text, not the one-line summary; the feed's title and date.
        assert "Harbour master Ann Lee" in text and "open again" not in text
        assert harbour["published_on"] == "2025-11-09" and harbour["external_id"] == "wire-501"
        assert harbour["source_url"] == "https://wire.example/news/harbour-reopens.html"
        keeper = (
            await client.get(
                f"/articles/{by_title['Lighthouse keeper retires after forty years']['slug']}"
            )
        ).json()
        assert [b["text"] for b in keeper["body"]] == [  # no page given: the summary
            "The keeper of the north lighthouse retired on Monday after forty years of service "
            "on the island."
        ]
        # A linked page that is not an article is reported with its entry; the rest go on.
        broken = await client.post(
            "/imports",
            files=[
                ("feed", ("wire.rss", (wire / "wire.rss").read_bytes(), "application/rss+xml")),
                (
                    "page",
                    (
                        "harbour-reopens.html",
                        b"<html><body><form></form></body></html>",
                        "text/html",
                    ),
                ),
            ],
            headers=EDITOR,
        )
        assert broken.json()["failed"][0]["entry"] == "wire-501"
        assert "harbour-reopens.html" in broken.json()["failed"][0]["reason"]
        assert broken.json()["unchanged"] == 1
        no_feed = await client.post(
            "/imports", files=[("page", ("a.html", page, "text/html"))], headers=EDITOR
        )
        assert no_feed.status_code == 422 and no_feed.json()["errors"][0]["field"] == "feed"
