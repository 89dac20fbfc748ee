"""What an attacker found, kept as drills: input the store cannot hold is refused before
it is accepted (never 202 and then lost), "required" means visible, and bidi controls
do not turn the page around. On SQLite and on PostgreSQL."""

from __future__ import annotations

import contextlib
import json
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
    html = wait_for(
        lambda: (t := httpx.get(page_url).text) and answer.json()["id"] in t and t,
        what="the comment on the page",
    )
    assert "\u202e" not in html and "أدمن" in html and "gnp.exe" in html
    report(sent=1, stored=1, note="U+202E dropped in rendering")
