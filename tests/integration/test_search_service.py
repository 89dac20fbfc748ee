"""The search service against real Redis and real databases (SQLite FTS5, PostgreSQL):
what readers type finds what they mean, updates and withdrawals show, bad queries are
answered, and the index is rebuilt from ingest."""

from __future__ import annotations

import dataclasses
import uuid
from contextlib import AbstractAsyncContextManager
from datetime import date
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from services.search.app import create_app
from services.search.settings import SearchSettings
from shared.contracts.events import (
    ArticleData,
    ArticleDeleted,
    ArticlePublished,
    ArticleRef,
    ArticleUnpublished,
    ArticleUpdated,
    BodyBlock,
)
from tests.integration.ingest_helpers import EDITOR, TOKEN, ingest_settings, running_ingest
from tests.support import Running, await_for, publish, serving

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("reset_pg_schema")]

SEED_TITLE = "روسيا: نحافظ على اتصالات مكثفة مع سوريا ونناقش تحسين العلاقات على كافة الأصعدة"
SEED_BODY = (
    "أكد نائب وزير الخارجية الروسي، سيرغي فيرشينين، اليوم السبت، أن بلاده تحافظ على "
    "اتصالات مكثفة مع سوريا.",
    "اجتماع سوري - روسي في موسكو",
    "التقى الأمين العام للرئاسة السورية نائب وزير الخارجية الروسي يوم الأربعاء الماضي.",
)


def running(settings: SearchSettings) -> AbstractAsyncContextManager[Running]:
    return serving(create_app(settings), "search")


def data(article_id: uuid.UUID, title: str, *paragraphs: str, revision: int = 1) -> ArticleData:
    return ArticleData(
        article_id=article_id,
        slug=f"a-{article_id.hex[:8]}",
        title=title,
        author="فريق ماسة",
        published_on=date(2025, 11, 1),
        body=tuple(BodyBlock(kind="paragraph", text=p) for p in paragraphs),
        revision=revision,
        language="ar",
    )


async def found(client: httpx.AsyncClient, q: str, **params: Any) -> list[str]:
    response = await client.get("/search", params={"q": q, **params})
    assert response.status_code == 200, response.text
    return [hit["id"] for hit in response.json()["items"]]


@pytest.fixture
def settings(place: dict[str, str]) -> SearchSettings:
    return SearchSettings(**place)


async def test_arabic_as_readers_write_it_finds_the_article(
    settings: SearchSettings, redis_url: str, namespace: str
) -> None:
    seed, other = uuid.uuid4(), uuid.uuid4()
    english = uuid.uuid4()
    async with running(settings) as (_app, client):
        await publish(
            redis_url,
            f"{namespace}:articles",
            [
                ArticlePublished(data=data(seed, SEED_TITLE, *SEED_BODY)),
                ArticlePublished(
                    data=data(other, "أسعار النفط ترتفع", "ارتفعت أسعار النفط اليوم.")
                ),
                ArticlePublished(
                    data=data(english, "Café culture in Zürich", "The CAFÉS of Zurich are full.")
                ),
            ],
        )
        await await_for(lambda: found(client, "النفط"), what="the articles indexed")
        for spelling in ("الأصعدة", "الاصعدة", "أصعدة", "موسكو", "بموسكو", "فيرشينين"):
            assert await found(client, spelling) == [str(seed)], spelling
        # Harakat and tatweel do not count; every word must match.
        assert await found(client, "مُكَثّـفة سوريا") == [str(seed)]
        assert await found(client, "مكثفة النفط") == []
        # Latin: case and accents do not count.
        assert await found(client, "cafe zurich") == [str(english)]
        assert await found(client, "CAFÉS") == [str(english)]

        hit = (await client.get("/search", params={"q": "موسكو"})).json()["items"][0]
        assert "<mark>موسكو</mark>" in hit["snippet_html"]
        assert hit["title"] == SEED_TITLE and hit["slug"] == f"a-{seed.hex[:8]}"


async def test_updates_and_withdrawals_show_in_results(
    settings: SearchSettings, redis_url: str, namespace: str
) -> None:
    one, two = uuid.uuid4(), uuid.uuid4()
    stream = f"{namespace}:articles"
    async with running(settings) as (_app, client):
        await publish(
            redis_url,
            stream,
            [
                ArticlePublished(data=data(one, "زلزال في الشمال", "ضرب زلزال المنطقة.")),
                ArticlePublished(data=data(two, "زلزال ثان", "هزة ارتدادية.")),
            ],
        )
        await await_for(lambda: _has(client, "زلزال", 2), what="both indexed")
        await publish(
            redis_url,
            stream,
            [ArticleUpdated(data=data(one, "فيضان في الشمال", "غمرت المياه القرى.", revision=2))],
        )
        await await_for(lambda: _has(client, "فيضان", 1), what="the update")
        assert await found(client, "زلزال") == [str(two)]
        # An older revision arriving late does not bring the old text back.
        await publish(redis_url, stream, [ArticleUpdated(data=data(one, "زلزال قديم", "نص قديم."))])
        await publish(
            redis_url,
            stream,
            [ArticleUnpublished(data=ArticleRef(article_id=two, slug=f"a-{two.hex[:8]}"))],
        )
        await await_for(lambda: _has(client, "زلزال", 0), what="the unpublication")
        assert await found(client, "فيضان") == [str(one)]
        await publish(
            redis_url,
            stream,
            [ArticleDeleted(data=ArticleRef(article_id=one, slug=f"a-{one.hex[:8]}"))],
        )
        await await_for(lambda: _has(client, "فيضان", 0), what="the deletion")


async def _has(client: httpx.AsyncClient, q: str, n: int) -> bool:
    return len(await found(client, q)) == n


async def _applied(redis_url: str, stream: str, entries: int) -> bool:
    """The stream holds ``entries`` and the search group has read and acked them all."""
    client = aioredis.Redis.from_url(redis_url)
    try:
        if await client.xlen(stream) != entries:
            return False
        groups = {g["name"].decode(): g for g in await client.xinfo_groups(stream)}
        group = groups.get("search")
        return group is not None and group["lag"] == 0 and group["pending"] == 0
    finally:
        await client.aclose()


async def test_results_are_ranked_and_paged(
    settings: SearchSettings, redis_url: str, namespace: str
) -> None:
    ids = [uuid.uuid4() for _ in range(25)]
    events = [
        ArticlePublished(data=data(i, f"خبر رقم {n}", f"نص عن الاقتصاد {n}."))
        for n, i in enumerate(ids)
    ]
    titled = uuid.uuid4()
    events.append(ArticlePublished(data=data(titled, "الاقتصاد العالمي", "تقرير.")))
    async with running(settings) as (_app, client):
        await publish(redis_url, f"{namespace}:articles", events)
        await await_for(lambda: _total(client, "اقتصاد", 26), what="all indexed")
        first = (await client.get("/search", params={"q": "اقتصاد", "limit": 10})).json()
        assert first["items"][0]["id"] == str(titled)  # a title match ranks first
        seen, cursor = [h["id"] for h in first["items"]], first["next_cursor"]
        while cursor:
            page = (
                await client.get("/search", params={"q": "اقتصاد", "limit": 10, "cursor": cursor})
            ).json()
            seen += [h["id"] for h in page["items"]]
            cursor = page["next_cursor"]
        assert sorted(seen) == sorted(str(i) for i in [*ids, titled])


async def _total(client: httpx.AsyncClient, q: str, n: int) -> bool:
    response = await client.get("/search", params={"q": q})
    return bool(response.status_code == 200 and response.json()["total"] == n)


@pytest.mark.parametrize(
    ("q", "status"),
    [
        ("", 422),
        ("x" * 10_000, 422),
        ("!!! ؟؟ ...", 422),
        ('"a" OR NEAR(', 200),
        ("title:* AND -body ^ NOT", 200),
        ("'; DROP TABLE search_documents; --", 200),
        ("\u200b\u200c", 422),
    ],
)
async def test_bad_queries_get_results_or_a_clear_422(
    settings: SearchSettings, q: str, status: int
) -> None:
    async with running(settings) as (_app, client):
        response = await client.get("/search", params={"q": q})
        assert response.status_code == status, response.text
        if status == 422:
            assert response.json()["errors"][0]["field"] == "q"
        else:
            assert response.json()["items"] == []
        assert (await client.get("/search", params={"q": "سوريا"})).status_code == 200


async def test_rebuild_from_ingest_indexes_what_is_published_and_drops_the_rest(
    settings: SearchSettings, place: dict[str, str], redis_url: str, namespace: str
) -> None:
    """A real ingest (same database, its own tables) is what the rebuild reads."""
    stale = uuid.uuid4()
    ingest = ingest_settings(**place)
    app = create_app(settings.model_copy(update={"editor_token": TOKEN}))
    async with (
        running_ingest(ingest) as (_ingest_app, ingest_client),
        serving(app, "search") as (_app, client),
    ):
        # The rebuild's reads go to the ingest app in this process.
        app.state.parts = dataclasses.replace(app.state.parts, ingest=ingest_client)
        for n in range(3):
            created = await ingest_client.post(
                "/articles",
                json={"title": f"موسم الزراعة {n}", "body": f"نص عن الزراعة والحصاد {n}."},
                headers=EDITOR,
            )
            assert created.status_code in (200, 201), created.text
        await ingest_client.post(
            f"/articles/{created.json()['article']['slug']}/unpublish", headers=EDITOR
        )
        # An article ingest does not have (say, from a restored older index).
        await publish(
            redis_url,
            f"{namespace}:articles",
            [ArticlePublished(data=data(stale, "مقال زراعي قديم", "الزراعة قديماً."))],
        )

        # Ingest's events come through its outbox, ours directly: in any order on the
        # stream. Wait until all five (three publications, the unpublication, the stale
        # article) are on it and applied, not only until the results look so.
        async def settled() -> bool:
            return await _applied(redis_url, f"{namespace}:articles", 5) and (
                await _has(client, "موسم", 2) and await _has(client, "قديما", 1)
            )

        await await_for(settled, what="the stream indexed")
        assert (await client.post("/index/rebuild")).status_code == 401
        answer = await client.post("/index/rebuild", headers=EDITOR)
        assert answer.status_code == 200 and answer.json() == {"indexed": 2, "removed": 1}
        assert len(await found(client, "الزراعة")) == 2
        assert await found(client, "قديما") == []
