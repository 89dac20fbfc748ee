"""Every invalid field is named with a message in Arabic and English, whichever service
and whichever kind of input (query parameter, JSON body, a nested field)."""

from __future__ import annotations

from typing import Annotated, Literal

import httpx
import pytest
from fastapi import FastAPI, Query
from pydantic import BaseModel, Field, ValidationError, field_validator

from shared.web.field_messages import field_errors
from shared.web.problems import install_problem_handlers

pytestmark = pytest.mark.unit


class Block(BaseModel):
    text: str = Field(min_length=1)


class Story(BaseModel):
    title: str = Field(max_length=10)
    body: list[Block]
    tags: list[str] = []

    @field_validator("tags")
    @classmethod
    def few(cls, tags: list[str]) -> list[str]:
        if len(tags) > 2:
            raise ValueError("وسوم كثيرة. / Too many tags.")
        return tags


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/popular")
    async def popular(
        window: Annotated[Literal["24h", "7d"], Query()] = "24h",
        limit: Annotated[int, Query(ge=1, le=50)] = 10,
    ) -> dict[str, str]:
        return {}

    @app.post("/stories")
    async def create(story: Story) -> dict[str, str]:
        return {}

    return app


async def _call(method: str, path: str, **kw: object) -> httpx.Response:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        return await client.request(method, path, **kw)  # type: ignore[arg-type]


def _messages(response: object) -> dict[str, str]:
    body = response.json()  # type: ignore[attr-defined]
    return {e["field"]: e["message"] for e in body["errors"]}


async def test_query_parameters_are_refused_in_both_languages() -> None:
    answer = await _call("GET", "/popular", params={"window": "1y", "limit": "1000"})
    assert answer.status_code == 422
    messages = _messages(answer)
    assert messages["limit"] == "القيمة 50 على الأكثر. / At most 50."
    assert messages["window"] == "القيم المقبولة: '24h' أو '7d'. / One of '24h' or '7d'."
    many = await _call("GET", "/popular", params={"limit": "many"})
    assert _messages(many)["limit"] == "يجب أن يكون عدداً صحيحاً. / Must be a whole number."


async def test_body_fields_keep_their_names_and_our_own_messages() -> None:
    answer = await _call(
        "POST",
        "/stories",
        json={"title": "x" * 11, "body": [{"text": ""}], "tags": ["a", "b", "c"]},
    )
    messages = _messages(answer)
    assert messages == {
        "title": "عدد الأحرف 10 على الأكثر. / At most 10 characters.",
        # The story's own field called body keeps its name; the request's "body" does not.
        "body.0.text": "عدد الأحرف 1 على الأقل. / At least 1 character.",
        "tags": "وسوم كثيرة. / Too many tags.",  # a validator's message, as written
    }
    empty = await _call("POST", "/stories", json={})
    assert _messages(empty)["title"] == "هذا الحقل مطلوب. / This field is required."


def test_a_model_validated_outside_a_request_names_its_fields_the_same_way() -> None:
    with pytest.raises(ValidationError) as caught:
        Story.model_validate({"title": 3, "body": "no"})
    fields = {e["field"]: e["message"] for e in field_errors(caught.value.errors())}
    assert fields == {
        "title": "يجب أن يكون نصاً. / Must be text.",
        "body": "يجب أن يكون قائمة. / Must be a list.",
    }


def test_the_contracts_own_rules_speak_both_languages() -> None:
    from shared.contracts.api import ArticleIn, WebhookIn

    with pytest.raises(ValidationError) as article:
        ArticleIn.model_validate({"title": "  ", "body": "\n\n"})
    with pytest.raises(ValidationError) as hook:
        WebhookIn.model_validate({"url": "ftp://x", "event_types": ["article.published"]})
    for caught in (article, hook):
        for field in field_errors(caught.value.errors()):
            arabic, _, english = field["message"].partition(" / ")
            # Written in both languages by the rule itself, not the generic fallback.
            assert arabic != "قيمة غير صحيحة." and english and "Value error" not in arabic, field
