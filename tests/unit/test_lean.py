"""A lean reader accepts exactly what its contract model accepts, with the same values."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from shared.contracts.events import (
    ArticleData,
    ArticlePublished,
    BodyBlock,
    CommentSubmission,
    CommentSubmitted,
    ViewData,
    ViewRecorded,
)
from shared.contracts.lean import lean

pytestmark = pytest.mark.unit

ARTICLE = uuid.UUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8")


def _view() -> dict[str, Any]:
    event = ViewRecorded(
        data=ViewData(article_id=ARTICLE, visitor_id="v1a2b3c4d5", previous_visitor_id="p9x8y7w6")
    )
    return event.model_dump(mode="json")


def _article() -> dict[str, Any]:
    event = ArticlePublished(
        data=ArticleData(
            article_id=ARTICLE,
            slug="عنوان",
            title="عنوان المقال",
            body=(
                BodyBlock(kind="heading", text="عنوان فرعي"),
                BodyBlock(kind="paragraph", text="نص"),
            ),
            legacy_views=1085,
        )
    )
    return event.model_dump(mode="json")


def _comment() -> dict[str, Any]:
    event = CommentSubmitted(
        data=CommentSubmission(
            comment_id=uuid.uuid4(),
            article_id=ARTICLE,
            name="سارة",
            email="sara@example.com",
            text="تعليق",
            client_key="k" * 16,
            spam_signals=("too_fast",),
        )
    )
    return event.model_dump(mode="json")


def _set(path: tuple[str, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(payload: dict[str, Any]) -> None:
        target = payload
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def _drop(path: tuple[str, ...]) -> Callable[[dict[str, Any]], None]:
    def change(payload: dict[str, Any]) -> None:
        target = payload
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return change


# Each change turns a valid payload into one the model accepts or refuses.
UUID_SPELLINGS = [
    str(ARTICLE).upper(),
    ARTICLE.hex,
    "{" + str(ARTICLE) + "}",
    "urn:uuid:" + str(ARTICLE),
    "not-a-uuid",
    "",
    42,
    None,
    "6ba7b810-9dad-11d1-80b4-00c04fd430c",  # one digit short
    "6ba7b810-9dad-11d1-80b4-00c04fd430c8 ",
]
COMMON_CHANGES: list[tuple[str, Callable[[dict[str, Any]], None]]] = [
    ("unchanged", lambda p: None),
    ("extra field", _set(("surprise",), 1)),
    ("extra nested field", _set(("data", "surprise"), "x")),
    ("no event_id", _drop(("event_id",))),
    ("no occurred_at", _drop(("occurred_at",))),
    ("no schema_version", _drop(("schema_version",))),
    ("no data", _drop(("data",))),
    ("data is a list", _set(("data",), [])),
    ("naive time", _set(("occurred_at",), "2026-11-29T08:00:00")),
    ("offset time", _set(("occurred_at",), "2026-11-29T10:00:00+02:00")),
    ("epoch time", _set(("occurred_at",), 1764403200)),
    ("bad time", _set(("occurred_at",), "yesterday")),
    ("version as text", _set(("schema_version",), "2")),
    ("version as float", _set(("schema_version",), 1.5)),
    ("wrong type", _set(("type",), "something.else")),
    ("no type", _drop(("type",))),
    *[(f"event_id {s!r}", _set(("event_id",), s)) for s in UUID_SPELLINGS],
    *[(f"article_id {s!r}", _set(("data", "article_id"), s)) for s in UUID_SPELLINGS],
]
VIEW_CHANGES = [
    ("no previous visitor", _drop(("data", "previous_visitor_id"))),
    ("null previous visitor", _set(("data", "previous_visitor_id"), None)),
    ("short visitor", _set(("data", "visitor_id"), "abc")),
    ("long visitor", _set(("data", "visitor_id"), "a" * 129)),
    ("visitor with a space", _set(("data", "visitor_id"), "abc defgh")),
    ("visitor arabic", _set(("data", "visitor_id"), "زائرزائرزائر")),
    ("visitor number", _set(("data", "visitor_id"), 12345678)),
    ("no visitor", _drop(("data", "visitor_id"))),
    ("no article", _drop(("data", "article_id"))),
    ("bad previous", _set(("data", "previous_visitor_id"), "x y")),
]
ARTICLE_CHANGES = [
    ("no body", _drop(("data", "body"))),
    ("empty body", _set(("data", "body"), [])),
    ("bad block kind", _set(("data", "body"), [{"kind": "video", "text": "x"}])),
    ("date", _set(("data", "published_on"), "2024-05-01")),
    ("bad date", _set(("data", "published_on"), "01/05/2024")),
    ("views as text", _set(("data", "legacy_views"), "1085")),
    ("views negative", _set(("data", "legacy_views"), -1)),
    ("author null", _set(("data", "author"), None)),
]
COMMENT_CHANGES = [
    ("language en", _set(("data", "language"), "en")),
    ("language fr", _set(("data", "language"), "fr")),
    ("signals list", _set(("data", "spam_signals"), ["honeypot", "too_fast"])),
    ("signals text", _set(("data", "spam_signals"), "honeypot")),
    ("comment id upper", _set(("data", "comment_id"), str(ARTICLE).upper())),
]
CASES: list[tuple[type[BaseModel], Callable[[], dict[str, Any]], list[Any]]] = [
    (ViewRecorded, _view, COMMON_CHANGES + VIEW_CHANGES),
    (ArticlePublished, _article, COMMON_CHANGES + ARTICLE_CHANGES),
    (CommentSubmitted, _comment, COMMON_CHANGES + COMMENT_CHANGES),
]


def _cases() -> Iterator[Any]:
    for model, make, changes in CASES:
        for name, change in changes:
            yield pytest.param(model, make, change, id=f"{model.__name__}: {name}")


def _plain(value: Any) -> Any:
    """Model and lean values made comparable: ids as text, nested objects as dicts."""
    if isinstance(value, BaseModel):
        return {k: _plain(getattr(value, k)) for k in type(value).model_fields}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return tuple(_plain(v) for v in value)
    return value


@pytest.mark.parametrize(("model", "make", "change"), list(_cases()))
def test_lean_reader_accepts_what_the_model_accepts_with_the_same_values(
    model: type[BaseModel], make: Callable[[], dict[str, Any]], change: Any
) -> None:
    payload = make()
    change(payload)
    raw = orjson.dumps(payload)
    try:
        expected: Any = model.model_validate_json(raw)
    except ValidationError:
        expected = None
    reader = TypeAdapter(lean(model))
    try:
        got: Any = reader.validate_json(raw)
    except ValidationError:
        got = None
    assert (got is None) == (expected is None), "one accepts what the other refuses"
    if expected is None:
        return
    _same(_plain(expected), _plain(got), expected)


def _same(want: dict[str, Any], have: dict[str, Any], model: BaseModel) -> None:
    """Equal, but for optional fields left out: the lean dict omits what the model fills in."""
    for name, info in type(model).model_fields.items():
        if name in have:
            nested = getattr(model, name)
            if isinstance(nested, BaseModel):
                _same(want[name], have[name], nested)
            elif isinstance(nested, tuple | list) and nested and isinstance(nested[0], BaseModel):
                assert len(have[name]) == len(want[name]), name
                for w, h, item in zip(want[name], have[name], nested, strict=True):
                    _same(w, h, item)
            else:
                assert have[name] == want[name], name
        elif info.default_factory is None:
            assert not info.is_required() and want[name] == _plain(info.default), name
        # else: a fresh id or "now", different on every call
    assert set(have) <= set(want)


def test_lean_ids_are_canonical_text() -> None:
    payload = copy.deepcopy(_view())
    payload["data"]["article_id"] = ARTICLE.hex.upper()
    event = TypeAdapter(lean(ViewRecorded)).validate_json(orjson.dumps(payload))
    assert event["data"]["article_id"] == str(ARTICLE)
    assert isinstance(event["event_id"], str)


def test_optional_fields_left_out_stay_out() -> None:
    payload = _view()
    del payload["data"]["previous_visitor_id"], payload["schema_version"]
    event = TypeAdapter(lean(ViewRecorded)).validate_json(orjson.dumps(payload))
    assert "previous_visitor_id" not in event["data"] and "schema_version" not in event


def test_the_same_reader_is_built_once() -> None:
    assert lean(ViewRecorded) is lean(ViewRecorded)
