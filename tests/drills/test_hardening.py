"""What an attacker found, kept as drills: input the store cannot hold is refused before
it is accepted (never 202 and then lost), "required" means visible, and bidi controls
do not turn the page around. On SQLite and on PostgreSQL."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.conftest import fresh_pg_database
from tests.drills.conftest import Report
from tests.e2e.platform import Services
from tests.support import wait_for

pytestmark = pytest.mark.drill
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


@pytest.fixture(params=["sqlite", "postgresql"])
def site(
    request: pytest.FixtureRequest, tmp_path: Path, redis_url: str, namespace: str
) -> Iterator[tuple[Services, dict[str, Any]]]:
    with contextlib.ExitStack() as stack:
        env = {"NEWSROOM_MIN_SUBMIT_SECONDS": "0"}
        if request.param == "postgresql":
            database = stack.enter_context(
                fresh_pg_database(request.getfixturevalue("pg_server_url"))
            )
            env["NEWSROOM_DATABASE_URL"] = database.url
        services = Services(tmp_path / "var", redis_url, namespace, extra_env=env)
        services.start()
        stack.callback(services.stop_all)
        yield services, services.import_seed()


def _post(services: Services, article_id: str, form: dict[str, str], **kw: Any) -> httpx.Response:
    token = httpx.get(f"{services.gateway}/api/v1/comments/form-token").json()["form_token"]
    # json.dumps escapes what cannot be UTF-8 (a lone surrogate), as a hostile client may.
    return httpx.post(
        f"{services.gateway}/api/v1/articles/{article_id}/comments",
        content=json.dumps({"form_token": token, **form}),
        headers={
            "User-Agent": FIREFOX,
            "Content-Type": "application/json",
            **kw.pop("headers", {}),
        },
        **kw,
    )


GOOD = {"name": "سارة", "email": "sara@example.com", "comment": "تعليق عادي."}
REFUSED: list[tuple[str, dict[str, str], str]] = [
    ("NUL in the name", {"name": "سا\x00رة"}, "name"),
    ("NUL in the comment", {"comment": "نص\x00مخفي"}, "comment"),
    ("a control character in the email", {"email": "sara\x1b@example.com"}, "email"),
    ("a Hangul filler name", {"name": "\u3164"}, "name"),
    ("a braille blank name", {"name": "\u2800\u2800"}, "name"),
    ("lone harakat for a name", {"name": "\u064e\u0650"}, "name"),
    ("soft hyphens for a comment", {"comment": "\u00ad\u00ad\u00ad"}, "comment"),
    ("tatweel for a comment", {"comment": "\u0640\u0640\u0640"}, "comment"),
]


def test_unstorable_and_invisible_input_is_refused_per_field(
    site: tuple[Services, dict[str, Any]], report: Report
) -> None:
    services, article = site
    refused = 0
    for what, fields, field in REFUSED:
        for language, word in (("ar", "مطلوب"), ("en", "")):
            answer = _post(
                services, article["id"], {**GOOD, **fields}, headers={"Accept-Language": language}
            )
            assert answer.status_code == 422, (what, answer.text)
            errors = {e["field"]: e["message"] for e in answer.json()["errors"]}
            assert set(errors) == {field}, (what, errors)
            if language == "ar" and "يحتوي" not in errors[field]:
                assert word in errors[field], (what, errors)
            refused += 1
    # A lone surrogate is not Unicode: the JSON is refused whole (400).
    surrogate = _post(services, article["id"], {**GOOD, "comment": "نص \ud800"})
    assert surrogate.status_code == 400 and "JSON" in surrogate.json()["title"]
    # Invalid UTF-8 in a form post: 400, not stored as mojibake.
    broken = httpx.post(
        f"{services.gateway}/api/v1/articles/{article['id']}/comments",
        content=b"name=%FF%FE&email=a%40b.co&comment=%C3%28",
        headers={"Content-Type": "application/x-www-form-urlencoded", "User-Agent": FIREFOX},
    )
    assert broken.status_code == 400
    # What was accepted before is still decided and shown: nothing lost on the way.
    fine = _post(services, article["id"], GOOD)
    assert fine.status_code == 202
    status_url = services.gateway + fine.json()["status_url"]
    wait_for(lambda: httpx.get(status_url).json()["status"] == "approved", timeout=20)
    report(sent=refused, stored=refused, note="422 per field, ar and en; bad UTF-8 form 400")


def test_bidi_overrides_are_neutralised_on_the_page(
    site: tuple[Services, dict[str, Any]], report: Report
) -> None:
    services, article = site
    answer = _post(
        services, article["id"], {**GOOD, "name": "\u202eأدمن", "comment": "رابط \u202egnp.exe"}
    )
    assert answer.status_code == 202
    status_url = services.gateway + answer.json()["status_url"]
    wait_for(lambda: httpx.get(status_url).json()["status"] == "approved", timeout=20)
    page_url = f"{services.gateway}/articles/{quote(article['slug'])}"

    def page() -> str | None:
        text = httpx.get(page_url).text
        return text if answer.json()["id"] in text else None

    html = wait_for(page, what="the comment on the page")
    assert html is not None
    assert "\u202e" not in html and "أدمن" in html and "gnp.exe" in html
    report(sent=1, stored=1, note="U+202E dropped in rendering")


def test_cross_site_posts_and_reused_form_tokens_are_refused(
    site: tuple[Services, dict[str, Any]], report: Report
) -> None:
    services, article = site
    gw = services.gateway
    evil = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
    # An auto-submitting form on another site posts a comment: refused.
    forged = _post(services, article["id"], GOOD, headers=evil)
    assert forged.status_code == 403
    sandboxed = _post(services, article["id"], GOOD, headers={"Origin": "null"})
    assert sandboxed.status_code == 403
    # One form token, one comment: the same token from five addresses is refused after one.
    token = httpx.get(f"{gw}/api/v1/comments/form-token").json()["form_token"]
    answers = [
        httpx.post(
            f"{gw}/api/v1/articles/{article['id']}/comments",
            json={**GOOD, "email": f"r{n}@example.com", "form_token": token},
            headers={"User-Agent": FIREFOX, "X-Forwarded-For": f"192.0.2.{n}"},
        )
        for n in range(1, 6)
    ]
    assert [a.status_code for a in answers] == [202, 422, 422, 422, 422]
    assert answers[1].json()["errors"][0]["field"] == "form_token"
    # A top-level cross-site post to …/views is answered but not counted.
    view = httpx.post(
        f"{gw}/api/v1/articles/{article['id']}/views", headers={"User-Agent": FIREFOX, **evil}
    )
    assert view.status_code == 202 and view.json() == {"counted": False, "reason": "cross-site"}
    same = httpx.post(
        f"{gw}/api/v1/articles/{article['id']}/views",
        headers={"User-Agent": FIREFOX, "Sec-Fetch-Site": "same-origin"},
    )
    assert same.json() == {"counted": True, "reason": "accepted"}
    report(sent=7, stored=7, note="2 cross-site comments 403, 4 token reuses 422, 1 view uncounted")


def test_one_address_cannot_inflate_views_by_rotating_user_agents(
    site: tuple[Services, dict[str, Any]], report: Report
) -> None:
    services, article = site
    url = f"{services.gateway}/api/v1/articles/{article['id']}/views"
    implausible = ["x", "Mozilla", "Mozilla/5.0", "curl/8.5.0", "python-httpx/0.28", ""]
    for agent in implausible:
        answer = httpx.post(url, headers={"User-Agent": agent})
        assert answer.json() == {"counted": False, "reason": "bot"}, agent
    counted = 0
    for n in range(100):  # 100 "readers" from one address, one article, in one minute
        agent = f"Mozilla/5.0 (X11; Linux x86_64; rv:{n}.0) Gecko/20100101 Firefox/{n}.0"
        body = httpx.post(url, headers={"User-Agent": agent, "X-Forwarded-For": "203.0.113.9"})
        counted += body.json()["counted"]
    assert counted == 50  # NEWSROOM_READERS_PER_ADDRESS
    report(
        sent=120,
        stored=120,
        note=f"{counted} of 120 rotated agents counted; 6 implausible agents: bots",
    )


async def test_personal_data_leaves_the_streams_and_salts_die_with_their_day(
    redis_url: str, namespace: str, report: Report
) -> None:
    import time
    from datetime import UTC, datetime, timedelta

    import redis.asyncio as aioredis

    from services.comments.retention import trim_personal_data
    from services.gateway.visitors import DailySalts
    from shared.contracts.streams import Streams
    from shared.settings import NewsroomSettings

    client = aioredis.Redis.from_url(redis_url)
    streams = Streams(namespace)
    stream = streams.comments_submitted
    try:
        now_ms = int(time.time() * 1000)
        old = [f"{now_ms - (8 + n) * 86_400_000}-0" for n in range(3)][::-1]
        for entry_id in old:
            await client.xadd(stream, {"__data__": b'{"email": "old@example.com"}'}, id=entry_id)
            await client.xadd(Streams.dlq(stream), {"__data__": b"{}"}, id=entry_id)
        recent = await client.xadd(stream, {"__data__": b'{"email": "new@example.com"}'})
        removed = await trim_personal_data(client, streams, NewsroomSettings())
        assert removed == 6
        assert [e[0] for e in await client.xrange(stream)] == [recent]
        assert await client.xlen(Streams.dlq(stream)) == 0

        salts = DailySalts(client, streams, grace=timedelta(minutes=30))
        today = datetime.now(UTC).date()
        await salts.salt(today)
        ttl = await client.ttl(streams.key("views", "salt", today.isoformat()))
        left = (salts.expires_at(today) - datetime.now(UTC)).total_seconds()
        assert 0 < ttl <= left + 1 and left <= 86_400 + 1800
        report(sent=4, stored=4, note="6 entries past 7 days trimmed; salt ends with its day")
    finally:
        keys = [k async for k in client.scan_iter(match=f"{namespace}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"  # exited, waiting for its new parent to reap it


def test_killing_the_supervisor_leaves_no_orphans_and_a_port_clash_names_its_owner(
    tmp_path: Path, redis_url: str, namespace: str, report: Report
) -> None:
    import signal
    import socket

    from tests.e2e.platform import Platform

    platform = Platform(tmp_path / "var", redis_url, namespace, ("--no-demo",))
    platform.start()
    assert platform.process is not None
    children = wait_for(lambda: len(c := _children(platform.process.pid)) >= 4 and c)
    platform.process.send_signal(signal.SIGKILL)
    platform.process.wait(10)
    wait_for(lambda: all(_gone(c) for c in children), timeout=20, what="children to exit")

    # The next `up` finds the port taken by someone else: it says which port and who.
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", platform.ports["ingest"]))
    squatter.listen()
    try:
        again = Platform(tmp_path / "var2", redis_url, namespace, ("--no-demo",))
        again.ports = dict(platform.ports)
        again.process = None
        import subprocess
        import sys

        done = subprocess.run(
            [sys.executable, "-m", "newsroom.cli", "up", "--no-demo"],
            env=again.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        squatter.close()
    said = done.stdout + done.stderr
    assert done.returncode != 0
    assert f"port {platform.ports['ingest']}" in said and f"pid {os.getpid()}" in said, said
    report(sent=len(children), stored=len(children), note="SIGKILL of up: every child exited")


def test_a_locked_sqlite_file_does_not_freeze_the_views_service(
    fresh_services: Services, report: Report
) -> None:
    import sqlite3

    services = fresh_services
    services.start()
    article = services.import_seed()
    views_url = f"http://127.0.0.1:{services.ports['views']}"
    counts = f"{views_url}/counts/{article['id']}"
    base = 1085
    lock = sqlite3.connect(services.data_dir / "views.db", timeout=1)
    lock.isolation_level = None
    lock.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        sent = 0
        for n in range(10):
            answer = httpx.post(
                f"{services.gateway}/api/v1/articles/{article['id']}/views",
                headers={"User-Agent": FIREFOX, "X-Forwarded-For": f"198.51.100.{n + 1}"},
            )
            sent += answer.json()["counted"]
        # The service answers while its database is locked: within a second, each time.
        for _ in range(5):
            assert httpx.get(f"{views_url}/healthz", timeout=1.0).status_code == 200
        assert httpx.get(counts, timeout=1.0).status_code in (200, 404)  # reads go on
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    wait_for(lambda: httpx.get(counts).json()["total"] == base + sent, timeout=30)
    report(sent=sent, stored=sent, note="healthz within 1 s while locked; counted after")


def test_a_locked_sqlite_file_does_not_freeze_ingest_and_the_editor_hears_the_truth(
    fresh_services: Services, report: Report
) -> None:
    import sqlite3
    import threading

    services = fresh_services
    services.start()
    ingest = f"http://127.0.0.1:{services.ports['ingest']}"
    editor = {"Authorization": f"Bearer {services.editor_token}"}
    lock = sqlite3.connect(services.data_dir / "ingest.db", timeout=1, check_same_thread=False)
    lock.isolation_level = None
    lock.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    answers: list[httpx.Response] = []
    posting = threading.Thread(
        target=lambda: answers.append(
            httpx.post(
                f"{services.gateway}/api/v1/articles",
                json={"title": "خبر كتب والقاعدة مقفلة", "body": "نص الخبر.", "slug": "locked"},
                headers=editor,
                timeout=60,
            )
        )
    )
    try:
        posting.start()
        # Ingest answers while its database is locked: within a second, each time.
        for _ in range(5):
            assert httpx.get(f"{ingest}/healthz", timeout=1.0).status_code == 200
        assert not answers  # the editor's call waits for the store, not for a timeout
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    posting.join(60)
    answer = answers[0]
    stored = httpx.get(f"{services.gateway}/api/v1/articles/locked")
    # The truth either way: created and there, or refused and not there.
    if answer.status_code in (200, 201):
        assert stored.status_code == 200
    else:
        assert answer.status_code == 503 and stored.status_code == 404
    report(
        sent=1,
        stored=1 if stored.status_code == 200 else 0,
        note=f"healthz within 1 s while locked; the editor got {answer.status_code}",
    )
