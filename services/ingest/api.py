"""Ingest's internal HTTP API: thin routes over :mod:`services.ingest.store`."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import AwareDatetime, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from shared.contracts.api import (
    ArticleIn,
    ArticleIndex,
    ArticleOut,
    ArticlePage,
    ArticlePatch,
    ArticleStatus,
    BrokenEntry,
    EditorArticlePage,
    FeedImport,
    RevisionDiff,
    RevisionOut,
    RevisionSummary,
    SaveOutcome,
)
from shared.web.field_messages import field_errors
from shared.web.params import ArticleList, Cursor, FromRevision, RevisionNo, ToRevision
from shared.web.problems import Problem, found

from . import revisions, store
from .language import with_language
from .parsing import NoArticleError, parse_html, parse_page_dump
from .parsing.encoding import declared_text, page_text
from .parsing.feed import NotAFeed, parse_feed
from .parts import Parts, editor

#: Linked pages one feed import may carry (each is extracted: ~25 ms).
FEED_PAGES = 500

router = APIRouter()
#: What only editors may call: every route checks the editor token first.
editing = APIRouter(dependencies=[Depends(editor)])


Key = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        description="A retried request with the same key gets the first answer and changes "
        "nothing; the same key with another request is refused (422).",
    ),
]
IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", max_length=400, description="The article's ETag: 412 if stale."),
]


def article_etag(article: ArticleOut) -> str:
    return f'"{article.id}.{article.revision}.{article.status}"'


def _answer_response(answer: store.Answer) -> Response:
    headers = {}
    if "article" in answer.body:
        headers["ETag"] = article_etag(ArticleOut.model_validate(answer.body["article"]))
    return Response(
        orjson.dumps(answer.body),
        status_code=answer.status_code,
        media_type="application/json",
        headers=headers,
    )


def _outcome(result: store.SaveResult) -> store.Answer:
    body = SaveOutcome(outcome=result.outcome, article=store.to_out(result.article))
    return store.Answer(201 if result.outcome == "created" else 200, body.model_dump(mode="json"))


#: What an editor is told when the store refuses a change: status, title, detail
#: (``{exc}``: the store's own words) and the one field it names, if any.
REFUSALS: dict[type[Exception], tuple[int, str, str, tuple[str, str] | None]] = {
    store.NotFound: (404, "Article not found", "No article has the id or slug {exc}.", None),
    store.PreconditionFailed: (
        412,
        "Precondition failed",
        "The article changed since you read it (If-Match is not its ETag): "
        "read it again and redo your edit.",
        None,
    ),
    store.PreconditionRequired: (
        428,
        "Precondition required",
        "Send If-Match with the article's ETag to edit it.",
        None,
    ),
    store.NotAllowed: (409, "Not allowed", "{exc}", None),
    IntegrityError: (
        409,
        "Conflict",
        "Another article already has this external_id or slug.",
        ("external_id", "belongs to another article"),
    ),
    store.IdempotencyMismatch: (
        422,
        "Idempotency-Key reused",
        "This Idempotency-Key was used for another request: use a new key.",
        ("Idempotency-Key", "used for another request"),
    ),
}


def refusal(exc: Exception) -> Problem:
    """The problem an editor sees for ``exc``, one of :data:`REFUSALS`."""
    status, title, detail, field = next(v for t, v in REFUSALS.items() if isinstance(exc, t))
    errors = [{"field": field[0], "message": field[1]}] if field else None
    return Problem(status, title, detail.format(exc=exc), errors=errors)


class Change:
    """One editor change as it came (a FastAPI dependency): its idempotency key and
    If-Match, run once by :meth:`run`."""

    def __init__(
        self, st: Parts, request: Request, key: Key = None, if_match: IfMatch = None
    ) -> None:
        self.st, self.request, self.key, self.if_match = st, request, key, if_match

    def precondition(self, edit: bool = True) -> store.Precondition:
        """If-Match, required for edits when the deployment says so."""
        return store.Precondition(
            self.if_match, required=edit and self.st.settings.require_if_match
        )

    async def save(self, draft: ArticleIn) -> Response:
        draft = await with_language(draft)
        return await self.run(lambda s: store.save_in(s, draft))

    async def run(self, work: Callable[[AsyncSession], Awaitable[store.SaveResult]]) -> Response:
        """The change: idempotent by key, errors as problems, the relay woken after."""
        digest = hashlib.sha256(
            f"{self.request.method} {self.request.url.path}\n".encode() + await self.request.body()
        ).hexdigest()

        async def run(session: AsyncSession) -> store.Answer:
            return _outcome(await work(session))

        try:
            answer = await store.idempotent(self.st.sessions, self.key, digest, run)
        except tuple(REFUSALS) as exc:
            raise refusal(exc) from exc
        if answer.body.get("outcome") != "unchanged":
            self.st.relay.wake()
        return _answer_response(answer)


EditorChange = Annotated[Change, Depends()]


@editing.post(
    "/articles",
    response_model=SaveOutcome,
    status_code=201,
    summary="Create or update an article from JSON",
    responses={
        200: {"description": "Updated, or unchanged"},
        422: {"description": "Invalid fields"},
    },
)
async def create_article(draft: ArticleIn, change: EditorChange) -> Response:
    return await change.save(draft)


async def _feed_and_pages(request: Request) -> tuple[bytes, dict[str, bytes]]:
    """The feed alone as the body, or ``multipart/form-data`` with a ``feed`` file and
    the entries' linked pages as ``page`` files (named as the links' last segment)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "multipart/form-data":
        return await request.body(), {}
    try:
        form = await request.form(max_files=FEED_PAGES + 1, max_fields=FEED_PAGES + 1)
    except (MultiPartException, ValueError) as exc:
        raise Problem(400, "Invalid form", f"The multipart body cannot be read: {exc}") from exc
    feed = form.get("feed")
    if not isinstance(feed, UploadFile):
        raise Problem(
            422,
            "No feed",
            "Send the feed as the form's `feed` file.",
            errors=[{"field": "feed", "message": "الملف مطلوب. / The feed file is required."}],
        )
    pages = {
        page.filename: await page.read()
        for page in form.getlist("page")
        if isinstance(page, UploadFile) and page.filename
    }
    return await feed.read(), pages


@editing.post(
    "/articles/import",
    response_model=SaveOutcome,
    status_code=201,
    summary="Import an article from an HTML page, a page text dump or JSON",
    description=(
        "The body is the page itself. `Content-Type: text/html` is parsed as an HTML page, "
        "`text/plain` as a page text dump, `application/json` as an article."
    ),
)
async def import_article(
    request: Request,
    change: EditorChange,
    source_url: Annotated[str | None, Query(max_length=2000, pattern=r"^https?://\S+$")] = None,
) -> Response:
    raw = await request.body()
    if not raw.strip():
        raise Problem(422, "Empty upload", "The request body is empty: send the page to import.")
    content_type = request.headers.get("content-type", "text/plain")
    kind = content_type.split(";")[0].strip().lower()
    html = kind in ("text/html", "application/xhtml+xml")
    if html:  # in whatever encoding it declares (or is found to be in)
        text, _encoding = page_text(raw, content_type)
    else:  # JSON is UTF-8; a page text dump too, unless its Content-Type names a charset
        try:
            text = (
                raw.decode("utf-8-sig")
                if kind == "application/json"
                else declared_text(raw, content_type)
            )
        except UnicodeDecodeError as exc:
            raise Problem(
                400,
                "Not UTF-8" if exc.encoding.startswith("utf") else "Not in its charset",
                f"النص ليس بترميز {exc.encoding}. / The body is not valid {exc.encoding} "
                f"(bad byte at offset {exc.start}).",
            ) from exc
    try:
        if html:
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
        raise Problem(
            422, "Invalid article", "Some fields are invalid.", errors=field_errors(exc.errors())
        ) from exc
    return await change.save(draft)


@editing.post(
    "/imports",
    response_model=FeedImport,
    summary="Import an RSS 2.0 or Atom feed: an article per entry, keyed by its guid",
)
async def import_feed(request: Request, st: Parts) -> FeedImport:
    raw, pages = await _feed_and_pages(request)
    if not raw.strip():
        raise Problem(422, "Empty upload", "The request body is empty: send the feed to import.")
    try:
        # Each linked page is a whole extraction (~25 ms): off the event loop.
        entries = await asyncio.to_thread(parse_feed, raw, pages)
    except NotAFeed as exc:
        raise Problem(422, "Not a feed", str(exc)) from exc
    report = FeedImport(feed=entries.title)
    report.failed = [BrokenEntry(entry=k, reason=r) for k, r in entries.broken]
    for key, draft in entries.drafts:
        draft = await with_language(draft)
        try:
            async with st.sessions.begin() as session:
                result = await store.save_in(session, draft)
        except IntegrityError:
            report.failed.append(
                BrokenEntry(entry=key, reason="its slug belongs to another article")
            )
            continue
        except store.NotAllowed as exc:
            report.failed.append(BrokenEntry(entry=key, reason=str(exc)))
            continue
        outcome = result.outcome if result.outcome in ("created", "unchanged") else "updated"
        setattr(report, outcome, getattr(report, outcome) + 1)
    if report.created or report.updated:
        st.relay.wake()
    return report


@router.get("/articles", response_model=ArticlePage, summary="Published articles, newest first")
async def list_articles(st: Parts, query: ArticleList) -> ArticlePage:
    return await store.list_articles(st.sessions, **query.model_dump())


@router.get(
    "/sitemap", response_model=ArticleIndex, summary="Published articles oldest first, by offset"
)
async def article_index(
    st: Parts,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
    since: Annotated[AwareDatetime | None, Query()] = None,
) -> ArticleIndex:
    return await store.article_index(st.sessions, offset=offset, limit=limit, since=since)


@router.get(
    "/articles/{id_or_slug}",
    response_model=ArticleOut,
    summary="One article by id or slug, whatever its status (its ETag for editors)",
)
@editing.get(
    "/editor/articles/{id_or_slug}",
    response_model=ArticleOut,
    summary="The same, for editors",
)
async def get_article(id_or_slug: str, st: Parts, response: Response) -> ArticleOut:
    article = found(
        await store.get_article(st.sessions, id_or_slug),
        "Article not found",
        f"No article has the id or slug {id_or_slug!r}.",
    )
    out = store.to_out(article)
    response.headers["ETag"] = article_etag(out)
    return out


EDITOR: dict[str, Any] = {"response_model": SaveOutcome}


@editing.put("/articles/{id_or_slug}", summary="Replace an article (If-Match)", **EDITOR)
async def replace_article(id_or_slug: str, draft: ArticleIn, change: EditorChange) -> Response:
    precondition = change.precondition()
    return await change.run(
        lambda s: store.save_in(s, draft, ref=id_or_slug, precondition=precondition)
    )


@editing.patch(
    "/articles/{id_or_slug}", summary="Change some fields of an article (If-Match)", **EDITOR
)
async def patch_article(id_or_slug: str, patch: ArticlePatch, change: EditorChange) -> Response:
    precondition = change.precondition()

    async def work(session: AsyncSession) -> store.SaveResult:
        article = await store.find(session, id_or_slug, lock=True)
        if article is None:
            raise store.NotFound(id_or_slug)
        current = store.to_out(article).model_dump(
            include={
                "title",
                "author",
                "published_on",
                "body",
                "legacy_views",
                "source_url",
                "external_id",
                "language",
                "publish_at",
                "section",
                "tags",
                "image",
                "modified_on",
            }
        )
        current["status"] = "draft" if article.status == "draft" else "published"
        merged = {**current, **patch.model_dump(exclude_unset=True)}
        try:
            draft = ArticleIn.model_validate(merged)
        except ValidationError as exc:
            raise Problem(
                422,
                "Invalid article",
                "Some fields are invalid.",
                errors=field_errors(exc.errors()),
            ) from exc
        return await store.save_in(session, draft, ref=id_or_slug, precondition=precondition)

    return await change.run(work)


def _transition(action: store.Transition) -> Callable[..., Awaitable[Response]]:
    async def endpoint(id_or_slug: str, change: EditorChange) -> Response:
        precondition = change.precondition(edit=False)
        return await change.run(lambda s: store.transition(s, id_or_slug, action, precondition))

    return endpoint


editing.add_api_route(
    "/articles/{id_or_slug}/unpublish",
    _transition("unpublish"),
    methods=["POST"],
    summary="Unpublish: readers no longer see it (restore brings it back)",
    **EDITOR,
)
editing.add_api_route(
    "/articles/{id_or_slug}/restore",
    _transition("restore"),
    methods=["POST"],
    summary="Restore an unpublished or deleted article",
    **EDITOR,
)
editing.add_api_route(
    "/articles/{id_or_slug}",
    _transition("delete"),
    methods=["DELETE"],
    summary="Delete: gone for readers (410); restore can still bring it back",
    **EDITOR,
)


@editing.get(
    "/editor/articles",
    response_model=EditorArticlePage,
    summary="Every article, any status, newest change first; search by title",
)
async def editor_articles(
    st: Parts,
    q: Annotated[str | None, Query(max_length=200)] = None,
    status: ArticleStatus | None = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> EditorArticlePage:
    return await revisions.list_for_editors(
        st.sessions, q=q, status=status, limit=limit, cursor=cursor
    )


@editing.get(
    "/articles/{id_or_slug}/revisions",
    response_model=list[RevisionSummary],
    summary="The article's revisions, newest first",
)
async def list_revisions(id_or_slug: str, st: Parts) -> list[RevisionSummary]:
    history = await revisions.history(st.sessions, id_or_slug)
    return found(history, "Article not found", f"No article has the id or slug {id_or_slug!r}.")


@editing.get(
    "/articles/{id_or_slug}/revisions/{n}",
    response_model=RevisionOut,
    summary="One revision of the article",
)
async def one_revision(id_or_slug: str, n: RevisionNo, st: Parts) -> RevisionOut:
    revision = await revisions.revision(st.sessions, id_or_slug, n)
    return found(revision, "Revision not found", f"{id_or_slug!r} has no revision {n}.")


@editing.get(
    "/articles/{id_or_slug}/diff",
    response_model=RevisionDiff,
    summary="What changed between two revisions (a unified diff)",
)
async def diff_revisions(
    id_or_slug: str,
    st: Parts,
    from_: FromRevision,
    to: ToRevision,
) -> RevisionDiff:
    diff = await revisions.diff(st.sessions, id_or_slug, from_, to)
    return found(diff, "Revision not found", f"{id_or_slug!r} lacks revision {from_} or {to}.")
