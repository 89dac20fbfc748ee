"""The console at /admin, as a browser without JavaScript uses it: login, sessions, the
moderators' queue, the editors' articles, role rules and cross-site form posts."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.support import post_comment, wait_for

pytestmark = pytest.mark.e2e
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def _csrf(html: str) -> str:
    match = re.search(r'name="csrftoken" value="([^"]+)"', html)
    assert match, "the form carries a CSRF token"
    return match.group(1)


def _login(gw: str, token: str) -> httpx.Client:
    client = httpx.Client(base_url=gw, headers={"User-Agent": FIREFOX})
    form = client.get("/admin/login")
    assert form.status_code == 200 and 'dir="rtl"' in form.text
    answer = client.post("/admin/login", data={"token": token, "csrftoken": _csrf(form.text)})
    assert answer.status_code == 303, answer.text
    return client


def test_moderators_and_editors_do_their_work_in_the_console(platform_factory: Any) -> None:
    platform = platform_factory(
        extra_env={"NEWSROOM_MODERATION_WORDS": '["casino"]', "NEWSROOM_MIN_SUBMIT_SECONDS": "0"}
    )
    gw = platform.gateway
    # Readers see none of it: the login page, not the queue.
    anonymous = httpx.get(f"{gw}/admin/comments")
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/admin/login"

    wrong = httpx.Client(base_url=gw)
    form = wrong.get("/admin/login")
    refused = wrong.post("/admin/login", data={"token": "nope", "csrftoken": _csrf(form.text)})
    assert refused.status_code == 401 and "الرمز غير صحيح" in refused.text

    moderator = _login(gw, platform.moderator_token)
    cookie = next(c for c in moderator.cookies.jar if c.name == "newsroom_console")
    assert cookie.path == "/admin" and cookie.has_nonstandard_attr("HttpOnly")
    assert cookie.expires is not None  # the session ends
    article = httpx.get(f"{gw}/api/v1/articles").json()["items"][0]
    held = post_comment(gw, article["id"], "casino tonight", headers={"User-Agent": FIREFOX})
    comment_id = held.json()["id"]
    queue = wait_for(
        lambda: (
            (p := moderator.get("/admin/comments")).status_code == 200
            and comment_id in p.text
            and p
        ),
        what="the held comment in the queue",
    )
    assert article["title"] in queue.text  # in its article's context
    assert "moderation_word" in queue.text
    done = moderator.post(
        "/admin/comments",
        data={
            "csrftoken": _csrf(queue.text),
            "ids": [comment_id],
            "action": "approve",
            "note": "لا بأس",
        },
    )
    assert done.status_code == 303
    wait_for(
        lambda: comment_id in httpx.get(f"{gw}/articles/{article['slug']}").text,
        what="the approved comment on the article page",
    )
    decided = moderator.get("/admin/comments", params={"status": "approved"}).text
    assert "مشرف" in decided and "لا بأس" in decided  # by which role, and why
    # A moderator cannot edit articles.
    assert moderator.get("/admin/articles").status_code == 403

    editor = _login(gw, platform.editor_token)
    assert editor.get("/admin/comments").status_code == 403
    listing = editor.get("/admin/articles", params={"q": article["title"][:6]})
    assert article["id"] in listing.text
    page = editor.get(f"/admin/articles/{article['id']}")
    assert page.status_code == 200
    etag = re.search(r'name="etag" value="([^"]+)"', page.text)
    assert etag
    saved = editor.post(
        "/admin/articles",
        data={
            "csrftoken": _csrf(page.text),
            "ref": article["id"],
            "etag": etag.group(1).replace("&#34;", '"'),
            "title": "عنوان من اللوحة",
            "author": "محرر",
            "body": "فقرة أولى.\n\n## عنوان فرعي\n\nفقرة ثانية.",
            "status": "published",
        },
    )
    assert saved.status_code == 303, saved.text
    history = editor.get(f"/admin/articles/{article['id']}").text
    assert "النسخة 2" in history
    diff = editor.get(f"/admin/articles/{article['id']}/diff", params={"from": 1, "to": 2})
    assert "<ins>+title: عنوان من اللوحة</ins>" in diff.text
    wait_for(
        lambda: "عنوان من اللوحة" in httpx.get(f"{gw}/articles/{article['slug']}").text,
        what="the edit on the site",
    )

    # A form posted from another site is refused, with or without the session.
    hostile = editor.post(
        f"/admin/articles/{article['id']}/unpublish",
        data={"csrftoken": _csrf(history)},
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert hostile.status_code == 403
    no_token = editor.post(f"/admin/articles/{article['id']}/unpublish", data={})
    assert no_token.status_code == 403  # no CSRF token in the form
    # … and says so on the console's page, in both languages, with the way back.
    assert "انتهت صلاحية النموذج" in no_token.text and "reload the page" in no_token.text
    assert 'href="/admin/"' in no_token.text and 'dir="rtl"' in no_token.text
    # An unknown console URL or method is the console's page too, not a JSON line.
    for missing, english in (
        (editor.get("/admin/no-such-page"), "There is no such page in the console"),
        (editor.get("/admin/logout"), "This page does not take that method"),  # POST only
    ):
        assert missing.status_code in (404, 405)
        assert missing.headers["content-type"].startswith("text/html")
        assert english in missing.text and 'href="/admin/"' in missing.text
    assert httpx.get(f"{gw}/api/v1/articles/{article['id']}").status_code == 200

    logout = editor.post("/admin/logout", data={"csrftoken": _csrf(history)})
    assert logout.status_code == 303
    assert editor.get("/admin/articles").status_code == 303
