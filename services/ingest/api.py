"""Ingest's internal HTTP API: thin routes over :mod:`services.ingest.store`."""

from __future__ import annotations

import json
import uuid
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import ValidationError

from shared.contracts.api import ArticleIn, ArticleOut, ArticlePage, SaveOutcome
from shared.storage.pagination import BadCursor
from shared.web.problems import Problem

from . import store
from .parsing import NoArticleError, parse_html, parse_page_dump
from .parts import IngestParts, Parts, editor

router = APIRouter()


async def _saved(st: IngestParts, draft: ArticleIn, response: Response) -> SaveOutcome:
    result = await store.save_article(st.sessions, draft)
    if result.outcome != "unchanged":
        st.relay.wake()
    response.status_code = 201 if result.outcome == "created" else 200
    return SaveOutcome(outcome=result.outcome, article=store.to_out(result.article))


@router.post(
    "/articles",
    response_model=SaveOutcome,
    status_code=201,
    dependencies=[Depends(editor)],
    summary="Create or update an article from JSON",
    responses={
        200: {"description": "Updated, or unchanged"},
        422: {"description": "Invalid fields"},
    },
)
async def create_article(draft: ArticleIn, st: Parts, response: Response) -> SaveOutcome:
    return await _saved(st, draft, response)


@router.post(
    "/articles/import",
    response_model=SaveOutcome,
    status_code=201,
    dependencies=[Depends(editor)],
    summary="Import an article from an HTML page, a page text dump or JSON",
    description=(
        "The body is the page itself. `Content-Type: text/html` is parsed as an HTML page, "
        "`text/plain` as a page text dump, `application/json` as an article."
    ),
)
async def import_article(
    request: Request,
    st: Parts,
    response: Response,
    source_url: Annotated[str | None, Query(max_length=2000, pattern=r"^https?://\S+$")] = None,
) -> SaveOutcome:
    raw = await request.body()
    if not raw.strip():
        raise Problem(422, "Empty upload", "The request body is empty: send the page to import.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Problem(
            400, "Not UTF-8", f"The body is not valid UTF-8 (bad byte at offset {exc.start})."
        ) from exc
    kind = request.headers.get("content-type", "text/plain").split(";")[0].strip().lower()
    try:
        if kind in ("text/html", "application/xhtml+xml"):
            draft = parse_html(text, source_url=source_url)
        elif kind == "application/json":
            body = orjson.loads(text)  # nesting deeper than 1024 is an error, not a crash
            if not isinstance(body, dict):
                raise Problem(
                    422, "Invalid article", "Send a JSON object with the article's fields."
                )
            draft = ArticleIn.model_validate(
                {**body, **({"source_url": source_url} if source_url else {})}
            )
        elif kind in ("text/plain", "text/markdown"):
            draft = parse_page_dump(text, source_url=source_url)
        else:
            raise Problem(
                415,
                "Unsupported media type",
                f"Send text/html, text/plain or application/json, not {kind}.",
            )
    except NoArticleError as exc:
        raise Problem(422, "No article found", str(exc)) from exc
    except json.JSONDecodeError as exc:
        raise Problem(400, "Invalid JSON", f"The body is not valid JSON: {exc.msg}.") from exc
    except ValidationError as exc:
        errors = [
            {"field": ".".join(map(str, e["loc"])) or "body", "message": e["msg"]}
            for e in exc.errors()
        ]
        raise Problem(422, "Invalid article", "Some fields are invalid.", errors=errors) from exc
    return await _saved(st, draft, response)


@router.get("/articles", response_model=ArticlePage, summary="Published articles, newest first")
async def list_articles(
    st: Parts,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ArticlePage:
    try:
        return await store.list_articles(st.sessions, limit=limit, cursor=cursor)
    except BadCursor as exc:
        raise Problem(400, "Invalid cursor", str(exc)) from exc


@router.get(
    "/articles/{id_or_slug}", response_model=ArticleOut, summary="One article by id or slug"
)
async def get_article(id_or_slug: str, st: Parts) -> ArticleOut:
    article = await store.get_article(st.sessions, id_or_slug)
    if article is None:
        raise Problem(404, "Article not found", f"No article has the id or slug {id_or_slug!r}.")
    return store.to_out(article)


@router.delete(
    "/articles/{article_id}",
    response_model=ArticleOut,
    dependencies=[Depends(editor)],
    summary="Unpublish an article",
)
async def unpublish(article_id: uuid.UUID, st: Parts) -> ArticleOut:
    article = await store.unpublish_article(st.sessions, article_id)
    if article is None:
        raise Problem(404, "Article not found", f"No article has the id {article_id}.")
    st.relay.wake()
    return store.to_out(article)
