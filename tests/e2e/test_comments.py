"""The comment path against running services: form checks, decisions, moderation.

A table of submissions (Arabic, English, mixed, emoji, RTL marks, injections,
limits, links, word lists with near-miss Arabic spellings), each with the HTTP
status the reader gets and the decision the comments service makes.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import redis

from tests.e2e.platform import Platform
from tests.support import forget_namespace, wait_for

pytestmark = pytest.mark.e2e

MIN_SUBMIT = 0.5
ENV = {
    "NEWSROOM_BANNED_WORDS": '["كلب", "لص", "buy now"]',
    "NEWSROOM_MODERATION_WORDS": '["مراهنة", "casino"]',
    "NEWSROOM_MIN_SUBMIT_SECONDS": str(MIN_SUBMIT),
    "NEWSROOM_CLOSE_AFTER_DAYS": "3650",
    "NEWSROOM_COMMENTS_PER_MINUTE": "5",
}


@dataclass
class Site:
    platform: Platform
    article_id: str
    slug: str
    old_article_id: str
    token: str = ""
    tokens: Iterator[str] = field(default_factory=lambda: iter(()))
    clients: Iterator[int] = field(default_factory=lambda: iter(range(1, 100_000)))

    @property
    def gw(self) -> str:
        return self.platform.gateway

    def post(
        self,
        form: dict[str, Any],
        *,
        client: str | None = None,
        language: str = "ar",
        article: str | None = None,
        json_body: bool = True,
    ) -> httpx.Response:
        n = next(self.clients)
        headers = {
            "X-Forwarded-For": client or f"10.{n // 65536}.{n // 256 % 256}.{n % 256}",
            "Accept-Language": language,
            "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        }
        url = f"{self.gw}/api/v1/articles/{article or self.article_id}/comments"
        if json_body:
            return httpx.post(url, json=form, headers=headers)
        return httpx.post(url, data=form, headers=headers)

    def decision(self, response: httpx.Response) -> dict[str, Any]:
        url = self.gw + response.json()["status_url"]
        return wait_for(
            lambda: (body := httpx.get(url).json())["status"] != "pending" and body,
            timeout=15,
            what="a decision",
        )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Site]:
    namespace = f"test-{uuid.uuid4().hex[:10]}"
    platform = Platform(
        tmp_path_factory.mktemp("comments") / "var", redis_url, namespace, extra_env=ENV
    )
    platform.start()
    try:
        article = httpx.get(f"{platform.gateway}/api/v1/articles").json()["items"][0]
        old = httpx.post(
            f"{platform.gateway}/api/v1/articles",
            json={"title": "خبر قديم", "body": "نص قديم.", "published_on": "2000-01-01"},
            headers={"Authorization": f"Bearer {platform.editor_token}"},
        ).json()["article"]
        site = Site(platform, article["id"], article["slug"], old["id"])
        # A token is good for one comment: a pool of them, aged once like a person's.
        pool = [
            httpx.get(f"{platform.gateway}/api/v1/comments/form-token").json()["form_token"]
            for _ in range(400)
        ]
        site.tokens = iter(pool)
        site.token = pool[-1]  # the youngest: once it is old enough, all are
        issued = int(site.token.split(".")[0]) / 1000
        wait_for(
            lambda: time.time() - issued > MIN_SUBMIT + 0.2,
            what="the form token to age like a person's",
        )
        yield site
    finally:
        platform.stop()
        forget_namespace(redis_url, namespace)


def form(site: Site, n: int, **fields: Any) -> dict[str, Any]:
    base = {
        "name": f"قارئ {n}",
        "email": f"reader{n}@example.com",
        "comment": f"تعليق رقم {n}",
        "form_token": next(site.tokens),
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


# (id, fields, language, HTTP status, decision, reasons or error fields)
CASES: list[tuple[str, dict[str, Any], str, int, str | None, list[str]]] = [
    ("arabic", {"comment": "مقال ممتاز، شكراً للكاتب."}, "ar", 202, "approved", []),
    ("english", {"name": "John", "comment": "Great article, thanks."}, "en", 202, "approved", []),
    ("mixed", {"comment": "أتفق مع Putin في نقطة واحدة فقط."}, "ar", 202, "approved", []),
    ("emoji", {"comment": "👏👏 رائع 🇸🇾"}, "ar", 202, "approved", []),
    (
        "rtl marks inside",
        {"comment": "\u200fنص\u200e مع علامات اتجاه\u200f"},
        "ar",
        202,
        "approved",
        [],
    ),
    ("website https", {"website": "https://example.org/مدونة"}, "ar", 202, "approved", []),
    ("sql-looking text", {"comment": "'; DROP TABLE comments; --"}, "en", 202, "approved", []),
    ("one link", {"comment": "المصدر: https://example.org/news"}, "ar", 202, "approved", []),
    (
        "near-miss plural of a banned word",
        {"comment": "الكلاب في الحديقة"},
        "ar",
        202,
        "approved",
        [],
    ),
    (
        "word containing a banned word",
        {"comment": "ملصق جديد على الجدار وتقلص الفرق"},
        "ar",
        202,
        "approved",
        [],
    ),
    ("comment at the byte limit", {"comment": "ب" * 32_762 + "x"}, "ar", 202, "approved", []),
    ("inline html kept", {"comment": "<b>مهم</b> و <em>جداً</em>"}, "ar", 202, "approved", []),
    (
        "script around text",
        {"comment": "قبل <script>alert(1)</script> بعد"},
        "ar",
        202,
        "approved",
        [],
    ),
    ("img onerror", {"comment": 'صورة <img src=x onerror="alert(1)">'}, "ar", 202, "approved", []),
    (
        "javascript link",
        {"comment": '<a href="javascript:alert(1)">اضغط</a>'},
        "ar",
        202,
        "approved",
        [],
    ),
    ("only a script", {"comment": "<script>alert(1)</script>"}, "ar", 202, "rejected", ["empty"]),
    (
        "two plain links",
        {"comment": "http://a.example و http://b.example"},
        "ar",
        202,
        "held",
        ["links"],
    ),
    (
        "three anchors",
        {
            "comment": '<a href="https://a.example">1</a><a href="https://b.example">2</a> www.c.example'
        },
        "en",
        202,
        "held",
        ["links"],
    ),
    ("banned word", {"comment": "أنت كلب"}, "ar", 202, "rejected", ["banned_word"]),
    ("banned word with tashkeel", {"comment": "أنت كَلْبٌ"}, "ar", 202, "rejected", ["banned_word"]),
    ("banned word with tatweel", {"comment": "أنت كـــلب"}, "ar", 202, "rejected", ["banned_word"]),
    ("banned word with clitics", {"comment": "هذا والكلب"}, "ar", 202, "rejected", ["banned_word"]),
    ("banned word in the name", {"name": "اللص الظريف"}, "ar", 202, "rejected", ["banned_word"]),
    (
        "banned english phrase",
        {"comment": "BUY   NOW cheap"},
        "en",
        202,
        "rejected",
        ["banned_word"],
    ),
    ("moderation word", {"comment": "أفضل موقع مراهنة"}, "ar", 202, "held", ["moderation_word"]),
    (
        "moderation word, other spelling",
        {"comment": "أفضل موقع مُراهنه"},
        "ar",
        202,
        "held",
        ["moderation_word"],
    ),
    (
        "moderation word in website",
        {"website": "https://casino.example"},
        "en",
        202,
        "held",
        ["moderation_word"],
    ),
    ("honeypot filled", {"hp": "http://spam.example"}, "ar", 202, "held", ["likely_spam"]),
    ("no form token", {"form_token": None}, "ar", 202, "held", ["likely_spam"]),
    ("forged form token", {"form_token": "1000.deadbeef"}, "ar", 202, "held", ["likely_spam"]),
    ("missing name", {"name": None}, "ar", 422, None, ["name"]),
    ("missing email", {"email": ""}, "ar", 422, None, ["email"]),
    ("missing comment", {"comment": None}, "ar", 422, None, ["comment"]),
    ("whitespace comment", {"comment": "   \n\t "}, "ar", 422, None, ["comment"]),
    ("rtl marks only", {"comment": "\u200f\u200e\u200f"}, "ar", 422, None, ["comment"]),
    (
        "everything missing",
        {"name": "", "email": "", "comment": ""},
        "en",
        422,
        None,
        ["name", "email", "comment"],
    ),
    ("bad email", {"email": "not-an-email"}, "ar", 422, None, ["email"]),
    ("javascript website", {"website": "javascript:alert(1)"}, "ar", 422, None, ["website"]),
    ("ftp website", {"website": "ftp://example.org"}, "en", 422, None, ["website"]),
    ("name over 245 bytes", {"name": "ب" * 123}, "ar", 422, None, ["name"]),
    ("email over 100 bytes", {"email": "a" * 95 + "@example.com"}, "ar", 422, None, ["email"]),
    ("comment of 65,526 bytes", {"comment": "x" * 65_526}, "ar", 422, None, ["comment"]),
    (
        "website over 200 bytes",
        {"website": "https://e.org/" + "a" * 190},
        "en",
        422,
        None,
        ["website"],
    ),
]


@pytest.mark.parametrize(
    ("case", "fields", "language", "status", "decision", "expected"),
    CASES,
    ids=[c[0] for c in CASES],
)
def test_submission_table(
    site: Site,
    case: str,
    fields: dict[str, Any],
    language: str,
    status: int,
    decision: str | None,
    expected: list[str],
) -> None:
    n = CASES.index(next(c for c in CASES if c[0] == case))
    response = site.post(form(site, n, **fields), language=language)
    assert response.status_code == status, response.text
    if status == 422:
        body = response.json()
        assert response.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in body["errors"]] == expected
        arabic = any("\u0600" <= ch <= "\u06ff" for e in body["errors"] for ch in e["message"])
        assert arabic is (language == "ar")
        return
    result = site.decision(response)
    assert (result["status"], result["reasons"]) == (decision, expected)


def test_approved_comments_show_on_the_article_sanitised(site: Site) -> None:
    response = site.post(
        form(
            site,
            900,
            comment='مرحبا <script>window.pwned=1</script><b onclick="x()">بالجميع</b> http://example.org',
        )
    )
    assert site.decision(response)["status"] == "approved"
    comment_id = response.json()["id"]
    view = httpx.get(f"{site.gw}/api/v1/articles/{site.article_id}").json()
    shown = next(c for c in view["comments"] if c["id"] == comment_id)
    assert "<script" not in shown["html"] and "onclick" not in shown["html"]
    assert '<a href="http://example.org" rel="nofollow ugc">' in shown["html"]
    assert "email" not in shown  # never published
    page = httpx.get(f"{site.gw}/articles/{quote(site.slug)}").text
    assert f'id="comment-{comment_id}"' in page and "window.pwned" not in page


def test_flood_duplicate_and_rate_limit(site: Site) -> None:
    first = site.post(form(site, 1001, comment="رأيي في الموضوع"), client="10.9.9.1")
    again = site.post(form(site, 1002, comment="تعليق آخر سريع"), client="10.9.9.1")
    assert (site.decision(first)["status"], site.decision(again)["reasons"]) == (
        "approved",
        ["flood"],
    )

    # Same article, same author name, same text (other spelling of it), from elsewhere: a duplicate.
    copy = site.post(
        form(site, 1003, name="قارئ 1001", comment="رأيُي في الموضوع"), client="10.9.9.2"
    )
    assert site.decision(copy)["reasons"] == ["duplicate"]

    statuses = [site.post(form(site, 1100 + i), client="10.9.9.3").status_code for i in range(7)]
    assert statuses[:5] == [202] * 5 and statuses[5:] == [429, 429]


def test_closed_unknown_and_malformed(site: Site) -> None:
    closed = site.post(form(site, 1200), article=site.old_article_id)
    assert site.decision(closed)["reasons"] == ["comments_closed"]
    assert site.post(form(site, 1201), article=str(uuid.uuid4())).status_code == 404
    raw = httpx.post(
        f"{site.gw}/api/v1/articles/{site.article_id}/comments",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert raw.status_code == 400 and "ليس JSON صحيحاً" in raw.json()["detail"]
    xml = httpx.post(
        f"{site.gw}/api/v1/articles/{site.article_id}/comments",
        content=b"<comment/>",
        headers={"Content-Type": "text/xml"},
    )
    assert xml.status_code == 415 and "application/json" in xml.json()["detail"]
    posted = site.post(form(site, 1202), json_body=False)  # a plain HTML form post
    assert posted.status_code == 202 and site.decision(posted)["status"] == "approved"
    assert httpx.get(f"{site.gw}/api/v1/comments/{uuid.uuid4()}").status_code == 404


def test_moderators_approve_reject_and_remove(site: Site) -> None:
    held = site.post(form(site, 1300, comment="زوروا موقع مراهنة"))
    comment_id = held.json()["id"]
    assert site.decision(held)["status"] == "held"
    queue_url = f"{site.gw}/api/v1/moderation/comments"
    assert httpx.get(queue_url).status_code == 401
    assert httpx.get(queue_url, headers={"Authorization": "Bearer wrong"}).status_code == 403
    auth = {"Authorization": f"Bearer {site.platform.moderator_token}"}
    queue = httpx.get(queue_url, headers=auth).json()["items"]
    assert comment_id in [c["id"] for c in queue]
    assert next(c for c in queue if c["id"] == comment_id)["email"] == "reader1300@example.com"

    approved = httpx.post(f"{queue_url}/{comment_id}/approve", headers=auth)
    assert approved.status_code == 200 and approved.json()["status"] == "approved"

    def shown() -> list[str]:
        return [
            c["id"]
            for c in httpx.get(f"{site.gw}/api/v1/articles/{site.article_id}").json()["comments"]
        ]

    wait_for(lambda: comment_id in shown(), timeout=1.0, what="the approved comment on the article")
    removed = httpx.post(f"{queue_url}/{comment_id}/remove", headers=auth)
    assert removed.json()["status"] == "removed"
    assert comment_id not in shown()
    assert httpx.post(f"{queue_url}/{comment_id}/approve", headers=auth).status_code == 409


def test_replies_show_under_their_parent_and_a_hidden_parent_is_refused(site: Site) -> None:
    parent = site.post(form(site, 1400, comment="تعليق أول يمكن الرد عليه"))
    assert site.decision(parent)["status"] == "approved"
    parent_id = parent.json()["id"]
    reply = site.post(form(site, 1401, comment="رد على التعليق الأول", parent_id=parent_id))
    assert reply.status_code == 202, reply.text
    decided = site.decision(reply)
    assert decided["status"] == "approved" and decided["parent_id"] == parent_id

    def page() -> str:
        return httpx.get(f"{site.gw}/articles/{site.slug}").text

    wait_for(lambda: f'id="comment-{reply.json()["id"]}"' in page(), what="the reply")
    html = page()
    parent_at = html.index(f'id="comment-{parent_id}"')
    replies_at = html.index('class="comment-replies"', parent_at)
    assert parent_at < replies_at < html.index(f'id="comment-{reply.json()["id"]}"')

    # No reply to a reply (one level), to a held comment, or to nothing at all.
    held = site.post(form(site, 1402, comment="زوروا موقع مراهنة"))
    assert site.decision(held)["status"] == "held"
    for bad, language in [
        (reply.json()["id"], "ar"),
        (held.json()["id"], "en"),
        (str(uuid.uuid4()), "ar"),
        ("not-an-id", "ar"),
    ]:
        refused = site.post(form(site, 1403, parent_id=bad), language=language)
        assert refused.status_code == 422, refused.text
        error = refused.json()["errors"][0]
        assert error["field"] == "parent_id"
        assert ("cannot be answered" in error["message"]) == (language == "en")


def test_moderators_filter_the_queue_and_their_reason_goes_on_the_event(site: Site) -> None:
    linked = site.post(
        form(site, 1500, comment="انظر https://a.example و https://b.example و https://c.example")
    )
    worded = site.post(form(site, 1501, comment="casino tonight"))
    assert site.decision(linked)["reasons"] == ["links"]
    assert "moderation_word" in site.decision(worded)["reasons"]
    auth = {"Authorization": f"Bearer {site.platform.moderator_token}"}
    queue_url = f"{site.gw}/api/v1/moderation/comments"
    by_links = httpx.get(queue_url, params={"reason": "links"}, headers=auth).json()["items"]
    assert linked.json()["id"] in [c["id"] for c in by_links]
    assert worded.json()["id"] not in [c["id"] for c in by_links]
    by_article = httpx.get(
        queue_url, params={"article_id": site.old_article_id}, headers=auth
    ).json()["items"]
    assert linked.json()["id"] not in [c["id"] for c in by_article]

    rejected = httpx.post(
        f"{queue_url}/{worded.json()['id']}/reject",
        json={"reason": "إعلان تجاري"},
        headers=auth,
    )
    assert rejected.status_code == 200
    listed = httpx.get(queue_url, params={"status": "rejected"}, headers=auth).json()["items"]
    mine = next(c for c in listed if c["id"] == worded.json()["id"])
    assert (mine["decided_by"], mine["note"]) == ("moderator", "إعلان تجاري")
    client = redis.Redis.from_url(site.platform.redis_url)

    def rejection() -> dict[str, Any] | None:
        # The decision is stored first; the outbox relay puts its event on the stream after.
        events = [
            json.loads(fields[b"__data__"])["data"]
            for _i, fields in client.xrange(f"{site.platform.namespace}:comments")
        ]
        return next(
            (
                e
                for e in events
                if e["data"]["comment_id"] == worded.json()["id"]
                and e["type"] == "comment.rejected"
            ),
            None,
        )

    try:
        event = wait_for(rejection, what="the comment.rejected event")
    finally:
        client.close()
    assert event["data"]["decided_by"] == "moderator" and event["data"]["note"] == "إعلان تجاري"
    schema = httpx.get(f"{site.gw}/openapi.json").json()
    params = {
        p["name"] for p in schema["paths"]["/api/v1/moderation/comments"]["get"]["parameters"]
    }
    assert {"status", "article_id", "reason", "cursor", "limit"} <= params


def test_an_articles_comments_are_listed_a_page_at_a_time(site: Site) -> None:
    # Its own article: the other tests' comments do not land on it.
    article = httpx.post(
        f"{site.gw}/api/v1/articles",
        json={"title": "خبر للتعليقات", "body": "نص الخبر."},
        headers={"Authorization": f"Bearer {site.platform.editor_token}"},
    ).json()["article"]
    # The comments service takes comments on an article it has heard of (the articles stream).
    streams = redis.Redis.from_url(site.platform.redis_url)

    def heard_of() -> bool:
        groups = streams.xinfo_groups(f"{site.platform.namespace}:articles")
        return any(g["name"] == b"comments" and not g["lag"] and not g["pending"] for g in groups)

    wait_for(heard_of, what="the comments service to read the article's event")
    streams.close()
    for n in range(3):
        posted = site.post(form(site, 1600 + n), article=article["id"])
        decided = site.decision(posted)
        assert decided["status"] == "approved", decided["reasons"]
    url = f"{site.gw}/api/v1/articles/{article['slug']}/comments"  # by slug, as readers link
    first = httpx.get(url, params={"limit": 2})
    assert first.status_code == 200, first.text
    assert [c["name"] for c in first.json()["items"]] == ["قارئ 1600", "قارئ 1601"]
    assert "email" not in first.json()["items"][0]  # what readers may see, nothing more
    rest = httpx.get(url, params={"limit": 2, "cursor": first.json()["next_cursor"]}).json()
    assert [c["name"] for c in rest["items"]] == ["قارئ 1602"] and rest["next_cursor"] is None
    assert httpx.get(url, params={"cursor": "garbage"}).status_code == 400
    assert httpx.get(url, params={"limit": 0}).status_code == 422
    unknown = httpx.get(f"{site.gw}/api/v1/articles/{uuid.uuid4()}/comments")
    assert unknown.status_code == 404
