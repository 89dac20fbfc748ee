"""Ingest against real SQLite and PostgreSQL, publishing to real Redis."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis.asyncio as aioredis

from services.ingest.settings import IngestSettings
from shared.contracts.wire import decode_envelope
from tests.conftest import REPO, SEED
from tests.integration.ingest_helpers import EDITOR, ingest_settings, running_ingest
from tests.support import await_for

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("reset_pg_schema")]

DUMP = {"Content-Type": "text/plain; charset=utf-8", **EDITOR}


async def import_dump(client: Any, text: bytes = b"") -> Any:
    """The page text dump (the seed unless ``text``) imported as an editor would."""
    return await client.post("/articles/import", content=text or SEED.read_bytes(), headers=DUMP)


async def _events(redis_url: str, namespace: str) -> list[dict[str, Any]]:
    client = aioredis.Redis.from_url(redis_url)
    try:
        return [decode_envelope(f)[1] for _id, f in await client.xrange(f"{namespace}:articles")]
    finally:
        await client.aclose()


@pytest.fixture
def settings(place: dict[str, str]) -> IngestSettings:
    return ingest_settings(**place)


async def test_seed_import_stores_the_article_and_publishes_one_event(
    settings: IngestSettings, redis_url: str, namespace: str
) -> None:
    async with running_ingest(settings) as (_app, client):
        response = await import_dump(client)
        assert response.status_code == 201, response.text
        saved = response.json()
        assert saved["outcome"] == "created"
        article = saved["article"]
        assert article["author"] == "فريق ماسة"
        assert article["published_on"] == "2025-11-01"
        assert article["legacy_views"] == 1085

        by_slug = await client.get(f"/articles/{article['slug']}")
        assert by_slug.status_code == 200 and by_slug.json()["id"] == article["id"]

        events = await await_for(lambda: _events(redis_url, namespace), what="article.published")
        assert [e["type"] for e in events] == ["article.published"]
        assert events[0]["data"]["legacy_views"] == 1085
        assert events[0]["data"]["title"] == article["title"]

        # Re-importing the same page changes nothing and publishes nothing.
        again = await import_dump(client)
        assert again.status_code == 200 and again.json()["outcome"] == "unchanged"
        assert again.json()["article"]["revision"] == 1
        assert await settings_outbox_pending(_app) == 0
        assert len(await _events(redis_url, namespace)) == 1


async def settings_outbox_pending(app: Any) -> int:
    return int(await app.state.parts.relay.pending())


async def test_changed_body_makes_a_revision_and_an_update_event_with_a_stable_slug(
    settings: IngestSettings, redis_url: str, namespace: str
) -> None:
    async with running_ingest(settings) as (_app, client):
        first = (await import_dump(client)).json()
        changed = SEED.read_text().replace("فلاديمير بوتين", "فلاديمير بوتين (تحديث)")
        second = await import_dump(client, changed.encode())
        assert second.status_code == 200
        body = second.json()
        assert body["outcome"] == "updated"
        assert body["article"]["revision"] == 2
        assert body["article"]["slug"] == first["article"]["slug"]
        assert body["article"]["id"] == first["article"]["id"]

        events = await await_for(
            lambda: _two(redis_url, namespace), what="published + updated events"
        )
        assert [e["type"] for e in events] == ["article.published", "article.updated"]
        assert events[1]["data"]["revision"] == 2
        assert any("(تحديث)" in b["text"] for b in events[1]["data"]["body"])


async def _two(redis_url: str, namespace: str) -> list[dict[str, Any]] | None:
    events = await _events(redis_url, namespace)
    return events if len(events) >= 2 else None


async def test_unpublish_hides_the_article_and_announces_it(
    settings: IngestSettings, redis_url: str, namespace: str
) -> None:
    async with running_ingest(settings) as (_app, client):
        article = (await import_dump(client)).json()["article"]
        gone = await client.post(f"/articles/{article['id']}/unpublish", headers=EDITOR)
        assert gone.status_code == 200 and gone.json()["article"]["status"] == "unpublished"
        assert (await client.get("/articles")).json()["items"] == []
        events = await await_for(lambda: _two(redis_url, namespace), what="unpublished event")
        assert events[-1]["type"] == "article.unpublished"
        assert events[-1]["data"] == {
            "article_id": article["id"],
            "slug": article["slug"],
            "revision": 1,
        }


async def test_list_is_newest_first_with_cursor_pagination(
    settings: IngestSettings, redis_url: str, namespace: str
) -> None:
    async with running_ingest(settings) as (_app, client):
        for day in range(1, 8):
            article = {
                "title": f"خبر رقم {day}",
                "body": "نص الخبر.",
                "published_on": f"2025-01-0{day}",
            }
            assert (await client.post("/articles", json=article, headers=EDITOR)).status_code == 201

        titles: list[str] = []
        cursor = None
        pages = 0
        while True:
            params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/articles", params=params)).json()
            titles += [item["title"] for item in page["items"]]
            pages += 1
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert pages == 3
        assert titles == [f"خبر رقم {d}" for d in range(7, 0, -1)]
        assert (await client.get("/articles", params={"cursor": "garbage!"})).status_code == 400


async def test_a_page_in_a_legacy_arabic_encoding_is_read_in_it(settings: IngestSettings) -> None:
    utf8 = (REPO / "tests" / "fixtures" / "pages" / "article-ar.html").read_text(encoding="utf-8")
    # An older Arabic site's page: windows-1256, as its <meta> says (or, without one, as
    # the request's Content-Type says).
    declared = utf8.replace('<meta charset="utf-8">', '<meta charset="windows-1256">')
    undeclared = utf8.replace('<meta charset="utf-8">', "")
    async with running_ingest(settings) as (_app, client):
        expected = (
            await client.post(
                "/articles/import",
                content=utf8.encode(),
                headers={**EDITOR, "Content-Type": "text/html"},
            )
        ).json()["article"]
        for body, media_type in (
            (declared.encode("cp1256"), "text/html"),
            (undeclared.encode("cp1256"), "text/html; charset=windows-1256"),
        ):
            response = await client.post(
                "/articles/import", content=body, headers={**EDITOR, "Content-Type": media_type}
            )
            assert response.status_code == 200, response.text
            # The very article the UTF-8 page made: same title, same body, nothing new.
            assert response.json()["outcome"] == "unchanged"
            assert response.json()["article"]["title"] == expected["title"]


async def test_bad_input_gets_a_clear_4xx_and_changes_nothing(
    database_url: str, redis_url: str, namespace: str
) -> None:
    settings = ingest_settings(
        namespace=namespace,
        redis_url=redis_url,
        database_url=database_url,
        max_upload_bytes=1_000_000,
    )
    async with running_ingest(settings) as (_app, client):

        def upload(body: bytes, media_type: str) -> Any:
            headers = {**EDITOR, "Content-Type": media_type}
            return client.post("/articles/import", content=body, headers=headers)

        bad_date = {"title": "t", "body": "b", "published_on": "2025-13-01"}
        cases = [
            (client.post("/articles", json={"body": "نص"}, headers=EDITOR), 422, "title"),
            (client.post("/articles", json={"title": "عنوان"}, headers=EDITOR), 422, "body"),
            (client.post("/articles", json=bad_date, headers=EDITOR), 422, "published_on"),
            (upload(b"\xff\xfe title \xc3(", "text/plain"), 400, "UTF-8"),
            (upload(b"<html><body><nav>menu</nav></body></html>", "text/html"), 422, "no article"),
            (upload(b"x" * (20 * 1024 * 1024), "text/plain"), 413, "at most"),
            (upload(b"{not json", "application/json"), 400, "JSON"),
            (upload(b"%PDF", "application/pdf"), 415, "text/html"),
            (client.post("/articles", json={"title": "t", "body": "b"}), 401, "bearer"),
            (
                client.post(
                    "/articles",
                    json={"title": "t", "body": "b"},
                    headers={"Authorization": "Bearer nope"},
                ),
                403,
                "not a valid",
            ),
        ]
        for request, status, words in cases:
            response = await request
            assert response.status_code == status, response.text
            assert response.headers["content-type"].startswith("application/problem+json")
            assert words.lower() in json.dumps(response.json(), ensure_ascii=False).lower(), (
                response.text
            )
        listing = (await client.get("/articles")).json()
        assert listing["items"] == []
        assert await _events(redis_url, namespace) == []


async def test_concurrent_saves_of_one_article_make_consecutive_revisions(
    database_url: str,
) -> None:
    import asyncio

    from services.ingest.schema import SCHEMA
    from services.ingest.store import save_article
    from shared.contracts.api import ArticleIn
    from shared.storage.engines import make_engine, session_factory

    engine = make_engine(database_url, immediate=True)  # as the ingest app builds it
    await asyncio.to_thread(SCHEMA.upgrade, database_url)
    sessions = session_factory(engine)
    try:
        drafts = [ArticleIn(title="خبر", body=f"نسخة {n}", slug="same-article") for n in range(8)]
        results = await asyncio.wait_for(
            asyncio.gather(*(save_article(sessions, d) for d in drafts)), 30
        )
        assert sorted(r.outcome for r in results) == ["created"] + ["updated"] * 7
        assert sorted(r.article.revision for r in results) == list(range(1, 9))
    finally:
        await engine.dispose()
