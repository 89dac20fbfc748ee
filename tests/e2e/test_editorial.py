"""Editors' daily work through the gateway, on SQLite and on PostgreSQL: correct an
article without copying it, withdraw and restore it, delete it, drafts, scheduled
publication, revisions, If-Match and Idempotency-Key."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import fresh_pg_database
from tests.e2e.platform import Services
from tests.support import wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(params=["sqlite", "postgresql"])
def editorial(
    request: pytest.FixtureRequest, tmp_path: Path, redis_url: str, namespace: str
) -> Iterator[Services]:
    env: dict[str, str] = {"NEWSROOM_SCHEDULE_POLL_SECONDS": "0.2"}
    with contextlib_database(request) as url:
        if url:
            env["NEWSROOM_INGEST_DATABASE_URL"] = url
        running = Services(tmp_path / "var", redis_url, namespace, extra_env=env)
        running.start("ingest", "gateway")
        try:
            yield running
        finally:
            running.stop_all()


def contextlib_database(request: pytest.FixtureRequest) -> Any:
    import contextlib

    if request.param == "sqlite":
        return contextlib.nullcontext(None)

    @contextlib.contextmanager
    def pg() -> Iterator[str]:
        with fresh_pg_database(request.getfixturevalue("pg_server_url")) as database:
            yield database.url

    return pg()


def _editor(services: Services, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {services.editor_token}", **extra}


def _events(services: Services, article_id: str, arrived: int = 0) -> list[dict[str, Any]]:
    """The article's events once ``arrived`` of them are on the stream: the gateway reads
    the article from ingest's database, and the outbox relay publishes just after the
    commit, so a change can be visible a moment before its event is."""
    wait_for(
        lambda: len(services.article_events(article_id)) >= arrived,
        what=f"{arrived} events of {article_id}",
    )
    return services.article_events(article_id)


ARTICLE = {"title": "عنوان أول", "body": "الفقرة الأولى.\n\nالفقرة الثانية.", "author": "فريق"}


def test_an_editor_corrects_an_article_in_place(editorial: Services) -> None:
    gw, api = editorial.gateway, f"{editorial.gateway}/api/v1"
    first = httpx.post(
        f"{api}/articles", json={**ARTICLE, "external_id": "cms-17"}, headers=_editor(editorial)
    )
    assert first.status_code == 201, first.text
    article = first.json()["article"]
    slug = article["slug"]
    # The same key again with a corrected title: an update of that article, never a copy.
    again = httpx.post(
        f"{api}/articles",
        json={**ARTICLE, "external_id": "cms-17", "title": "عنوان مصحح"},
        headers=_editor(editorial),
    )
    assert again.status_code == 200 and again.json()["outcome"] == "updated"
    assert again.json()["article"]["id"] == article["id"]
    assert again.json()["article"]["slug"] == slug  # a title change keeps the slug
    listed = httpx.get(f"{api}/editor/articles", headers=_editor(editorial)).json()["items"]
    assert [a["id"] for a in listed] == [article["id"]]

    current = httpx.get(f"{api}/editor/articles/{slug}", headers=_editor(editorial))
    etag = current.headers["etag"]
    stale = httpx.put(
        f"{api}/articles/{slug}",
        json={**ARTICLE, "title": "تعديل على نسخة قديمة"},
        headers=_editor(editorial, **{"If-Match": '"not-the-etag"'}),
    )
    assert stale.status_code == 412 and "ETag" in stale.json()["detail"]
    put = httpx.put(
        f"{api}/articles/{slug}",
        json={**ARTICLE, "title": "عنوان ثالث"},
        headers=_editor(editorial, **{"If-Match": etag}),
    )
    assert put.status_code == 200, put.text
    assert put.headers["etag"] != etag
    patched = httpx.patch(
        f"{api}/articles/{slug}",
        json={"author": "محرر"},
        headers=_editor(editorial, **{"If-Match": put.headers["etag"]}),
    )
    assert patched.status_code == 200 and patched.json()["article"]["title"] == "عنوان ثالث"
    assert patched.json()["article"]["author"] == "محرر"
    assert patched.json()["article"]["revision"] == 4
    unknown = httpx.put(f"{api}/articles/no-such-key", json=ARTICLE, headers=_editor(editorial))
    assert unknown.status_code == 404

    history = httpx.get(f"{api}/articles/{slug}/revisions", headers=_editor(editorial)).json()
    assert [r["revision"] for r in history] == [4, 3, 2, 1]
    one = httpx.get(f"{api}/articles/{slug}/revisions/1", headers=_editor(editorial)).json()
    assert one["title"] == "عنوان أول"
    diff = httpx.get(
        f"{api}/articles/{slug}/diff", params={"from": 1, "to": 2}, headers=_editor(editorial)
    ).json()["diff"]
    assert "-title: عنوان أول" in diff and "+title: عنوان مصحح" in diff
    wait_for(
        lambda: httpx.get(f"{api}/articles/{slug}").json()["article"]["author"] == "محرر",
        what="the correction through the gateway",
    )
    assert "عنوان ثالث" in httpx.get(f"{gw}/articles/{slug}").text
    events = _events(editorial, article["id"], arrived=4)
    assert [e["type"] for e in events] == ["article.published"] + ["article.updated"] * 3
    assert [e["data"]["revision"] for e in events] == [1, 2, 3, 4]

    # Readers and moderators cannot edit.
    moderator = {"Authorization": f"Bearer {editorial.moderator_token}"}
    assert httpx.patch(f"{api}/articles/{slug}", json={}, headers=moderator).status_code == 403
    assert httpx.delete(f"{api}/articles/{slug}").status_code == 401
    assert httpx.get(f"{api}/articles/{slug}/revisions").status_code == 401


def test_withdrawn_articles_leave_the_site_and_come_back(editorial: Services) -> None:
    gw, api = editorial.gateway, f"{editorial.gateway}/api/v1"
    article = httpx.post(
        f"{api}/articles", json={**ARTICLE, "slug": "withdrawn"}, headers=_editor(editorial)
    ).json()["article"]
    assert httpx.get(f"{gw}/articles/withdrawn").status_code == 200
    assert httpx.post(f"{api}/articles/withdrawn/unpublish", headers=_editor(editorial)).json()[
        "outcome"
    ] == ("unpublished")
    wait_for(lambda: httpx.get(f"{api}/articles/withdrawn").status_code == 404, what="unlisted")
    assert httpx.get(f"{gw}/articles/withdrawn").status_code == 404
    assert "withdrawn" not in httpx.get(f"{gw}/").text
    assert httpx.get(f"{api}/articles").json()["items"] == []

    assert httpx.post(f"{api}/articles/withdrawn/restore", headers=_editor(editorial)).json()[
        "outcome"
    ] == ("restored")
    wait_for(lambda: httpx.get(f"{api}/articles/withdrawn").status_code == 200, what="back")

    deleted = httpx.delete(f"{api}/articles/withdrawn", headers=_editor(editorial))
    assert deleted.status_code == 200 and deleted.json()["outcome"] == "deleted"
    wait_for(lambda: httpx.get(f"{api}/articles/withdrawn").status_code == 410, what="gone")
    page = httpx.get(f"{gw}/articles/withdrawn", headers={"Accept": "text/html"})
    assert page.status_code == 410 and 'lang="ar"' in page.text
    assert httpx.get(f"{api}/articles/{article['id']}").status_code == 410
    types = [e["type"] for e in _events(editorial, article["id"], arrived=4)]
    assert types == [
        "article.published",
        "article.unpublished",
        "article.published",
        "article.deleted",
    ]
    # A deleted article is not edited by accident: restore it first.
    again = httpx.post(
        f"{api}/articles", json={**ARTICLE, "slug": "withdrawn"}, headers=_editor(editorial)
    )
    assert again.status_code == 409


def test_drafts_stay_unseen_and_scheduled_articles_appear_at_their_time(
    editorial: Services,
) -> None:
    api = f"{editorial.gateway}/api/v1"
    draft = httpx.post(
        f"{api}/articles",
        json={**ARTICLE, "slug": "a-draft", "status": "draft"},
        headers=_editor(editorial),
    )
    assert draft.status_code == 201 and draft.json()["article"]["status"] == "draft"
    assert httpx.get(f"{api}/articles/a-draft").status_code == 404
    assert httpx.get(f"{editorial.gateway}/articles/a-draft").status_code == 404
    assert _events(editorial, draft.json()["article"]["id"]) == []

    at = datetime.now(UTC) + timedelta(seconds=3)
    scheduled = httpx.post(
        f"{api}/articles",
        json={**ARTICLE, "slug": "later", "publish_at": at.isoformat()},
        headers=_editor(editorial),
    ).json()["article"]
    assert scheduled["status"] == "scheduled"
    assert httpx.get(f"{api}/articles/later").status_code == 404  # before its time
    wait_for(lambda: httpx.get(f"{api}/articles/later").status_code == 200, what="published")
    assert datetime.now(UTC) >= at
    events = _events(editorial, scheduled["id"], arrived=1)
    assert [e["type"] for e in events] == ["article.published"]
    # Publishing the draft is an edit like any other.
    published = httpx.patch(
        f"{api}/articles/a-draft", json={"status": "published"}, headers=_editor(editorial)
    )
    assert published.json()["article"]["status"] == "published"
    wait_for(lambda: httpx.get(f"{api}/articles/a-draft").status_code == 200, what="draft out")


def test_a_retried_post_with_an_idempotency_key_changes_nothing(editorial: Services) -> None:
    api = f"{editorial.gateway}/api/v1"
    key = str(uuid.uuid4())
    body = {**ARTICLE, "slug": "once"}
    first = httpx.post(
        f"{api}/articles", json=body, headers=_editor(editorial, **{"Idempotency-Key": key})
    )
    again = httpx.post(
        f"{api}/articles", json=body, headers=_editor(editorial, **{"Idempotency-Key": key})
    )
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    other = httpx.post(
        f"{api}/articles",
        json={**body, "title": "غير ذلك"},
        headers=_editor(editorial, **{"Idempotency-Key": key}),
    )
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    assert len(_events(editorial, first.json()["article"]["id"], arrived=1)) == 1
    unpublish = _editor(editorial, **{"Idempotency-Key": str(uuid.uuid4())})
    assert httpx.post(f"{api}/articles/once/unpublish", headers=unpublish).status_code == 200
    assert httpx.post(f"{api}/articles/once/unpublish", headers=unpublish).json()["outcome"] == (
        "unpublished"
    )


def test_an_invalid_article_names_each_field_in_arabic_and_english(editorial: Services) -> None:
    api = f"{editorial.gateway}/api/v1"
    refused = httpx.post(
        f"{api}/articles",
        json={"title": "", "body": "نص", "tags": "وسم", "lead_image": "x"},
        headers=_editor(editorial),
    )
    assert refused.status_code == 422
    assert refused.json()["instance"] == "/api/v1/articles"  # the URL the editor called
    messages = {e["field"]: e["message"] for e in refused.json()["errors"]}
    assert messages == {
        "title": "عدد الأحرف 1 على الأقل. / At least 1 character.",
        "tags": "يجب أن يكون قائمة. / Must be a list.",
        "lead_image": "حقل غير معروف. / Unknown field.",
    }
    listed = httpx.get(f"{api}/articles", params={"limit": 1000})
    assert listed.status_code == 422
    assert listed.json()["errors"] == [
        {"field": "limit", "message": "القيمة 100 على الأكثر. / At most 100."}
    ]


def test_edits_without_if_match_are_refused_when_the_setting_requires_it(
    tmp_path: Path, redis_url: str, namespace: str
) -> None:
    services = Services(
        tmp_path / "var", redis_url, namespace, extra_env={"NEWSROOM_REQUIRE_IF_MATCH": "true"}
    )
    services.start("ingest", "gateway")
    try:
        api = f"{services.gateway}/api/v1"
        httpx.post(f"{api}/articles", json={**ARTICLE, "slug": "strict"}, headers=_editor(services))
        refused = httpx.put(f"{api}/articles/strict", json=ARTICLE, headers=_editor(services))
        assert refused.status_code == 428
        etag = httpx.get(f"{api}/editor/articles/strict", headers=_editor(services)).headers["etag"]
        allowed = httpx.put(
            f"{api}/articles/strict", json=ARTICLE, headers=_editor(services, **{"If-Match": etag})
        )
        assert allowed.status_code == 200
    finally:
        services.stop_all()


def test_an_english_page_is_stored_english_and_served_left_to_right(editorial: Services) -> None:
    from tests.conftest import REPO

    page = (REPO / "tests" / "fixtures" / "pages" / "article-en.html").read_bytes()
    imported = httpx.post(
        f"{editorial.gateway}/api/v1/articles/import",
        content=page,
        headers=_editor(editorial, **{"Content-Type": "text/html"}),
    )
    assert imported.status_code == 201, imported.text
    article = imported.json()["article"]
    assert article["language"] == "en"
    html = httpx.get(f"{editorial.gateway}/articles/{article['slug']}").text
    assert 'lang="en" dir="ltr"' in html
    # An explicit language in a JSON import wins over the text's.
    explicit = httpx.post(
        f"{editorial.gateway}/api/v1/articles",
        json={"title": "Short note", "body": "A few English words here.", "language": "ar"},
        headers=_editor(editorial),
    ).json()["article"]
    assert explicit["language"] == "ar"
    seed = editorial.import_seed()
    assert seed["language"] == "ar"
