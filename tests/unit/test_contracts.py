from __future__ import annotations

import json
import uuid
from datetime import date

import pytest
from pydantic import ValidationError

from shared.contracts.api import ArticleIn
from shared.contracts.events import ArticleData, ArticlePublished, BodyBlock, article_event_adapter
from shared.contracts.streams import Streams
from shared.contracts.wire import decode_envelope
from shared.messaging.broker import JsonEnvelopeFormat

pytestmark = pytest.mark.unit


def _event() -> ArticlePublished:
    return ArticlePublished(
        data=ArticleData(
            article_id=uuid.uuid4(),
            slug="عنوان",
            title="عنوان",
            body=(BodyBlock(kind="paragraph", text="نص"),),
            legacy_views=1085,
        )
    )


async def test_wire_format_is_plain_json_with_headers() -> None:
    event = _event()
    raw = await JsonEnvelopeFormat.encode(
        message=event.model_dump(mode="json"),
        reply_to=None,
        headers={"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"},
        correlation_id="c1",
    )
    envelope = json.loads(raw)  # what another system does with only a JSON parser
    assert envelope["headers"]["traceparent"].startswith("00-aaaa")
    assert envelope["data"]["type"] == "article.published"
    assert envelope["data"]["data"]["title"] == "عنوان"
    assert "عنوان" in raw.decode()  # not \u-escaped: readable in redis-cli

    body, headers = JsonEnvelopeFormat.parse(raw)
    assert headers["correlation_id"] == "c1"
    assert article_event_adapter.validate_json(body) == event
    assert decode_envelope({b"__data__": raw})[1]["event_id"] == str(event.event_id)


def test_garbage_entry_parses_to_raw_bytes_for_the_dead_letter_path() -> None:
    assert JsonEnvelopeFormat.parse(b"\x00not json") == (b"\x00not json", {})


def test_stream_names_live_under_the_namespace() -> None:
    streams = Streams("ns")
    assert streams.articles == "ns:articles"
    assert streams.comments_submitted == "ns:comments.submitted"
    assert Streams.dlq(streams.views) == "ns:views.dlq"


def test_article_in_cleans_and_splits_plain_text_body() -> None:
    article = ArticleIn(title="  عنوان \u00a0 المقال ", body="فقرة أولى\nتكملة\n\n\nفقرة ثانية  ")
    assert article.title == "عنوان المقال"
    assert [b.text for b in article.body] == ["فقرة أولى تكملة", "فقرة ثانية"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"body": "نص"}, "title"),
        ({"title": "   ", "body": "نص"}, "title"),
        ({"title": "t"}, "body"),
        ({"title": "t", "body": "  \n\n "}, "body"),
        ({"title": "t", "body": "x", "published_on": "2025-02-30"}, "published_on"),
        ({"title": "t", "body": "x", "legacy_views": -1}, "legacy_views"),
        ({"title": "t", "body": "x", "source_url": "javascript:alert(1)"}, "source_url"),
    ],
)
def test_article_in_rejects_bad_fields(payload: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        ArticleIn.model_validate(payload)
    assert field in {str(e["loc"][0]) for e in info.value.errors()}


def test_article_in_accepts_dates() -> None:
    assert ArticleIn(title="t", body="x", published_on="2025-11-01").published_on == date(
        2025, 11, 1
    )  # type: ignore[arg-type]


@pytest.mark.parametrize("url", ["http://[", "https://[::1", "http://host:port/x", "http:///path"])
def test_a_url_no_parser_can_read_is_refused(url: str) -> None:
    """``^https?://\\S+$`` let these in; stored, they broke whoever parsed them later (a
    fuzzer reading an imported article's source_url crashed on ``http://[``)."""
    from pydantic import ValidationError

    from shared.contracts.api import ArticleIn

    with pytest.raises(ValidationError) as refused:
        ArticleIn(title="t", body="نص", source_url=url)
    assert refused.value.errors()[0]["loc"] == ("source_url",)
    with pytest.raises(ValidationError):
        ArticleIn(title="t", body="نص", image=url)
    assert ArticleIn(title="t", body="نص", source_url="https://news.example:8443/a?b=1").source_url
