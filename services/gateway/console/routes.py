"""The console's pages. Every page asks the service that owns the data, with the
platform's own role token; the reader of the page proves the role with a session.

Role rules: no session → the login page (303); a moderator on an editor's page
or the other way round → 403. Every form post must come from the console itself
(Origin / Sec-Fetch-Site) and carry the CSRF token (asgi-csrf, see app.py).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode
from uuid import UUID

import httpx
import orjson
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from shared.web.origin import cross_site, own_origin
from shared.web.params import Cursor, FromRevision, ToRevision
from shared.web.problems import Problem

from ..parts import GatewayParts, gateway
from ..upstreams import Unavailable, Upstream
from .sessions import Role, close_session, current_role, open_session, role_for

router = APIRouter(include_in_schema=False)
HTML = "text/html; charset=utf-8"
MESSAGES = {
    "approve": "تمت الموافقة على {n} تعليق.",
    "reject": "رُفض {n} تعليق.",
    "remove": "أُزيل {n} تعليق.",
    "saved": "حُفظ المقال.",
    "unchanged": "لم يتغير شيء.",
    "unpublish": "أُلغي نشر المقال.",
    "restore": "أُعيد المقال.",
    "delete": "حُذف المقال.",
    "stale": "تغيّر المقال منذ فتحته: راجع النسخة الحالية ثم أعد تعديلك.",
    "none": "لم تختر أي تعليق.",
}


def page(
    parts: GatewayParts, request: Request, name: str, code: int = 200, **context: Any
) -> Response:
    context.setdefault("site_name", parts.settings.site_name)
    context.setdefault("message", MESSAGES.get(request.query_params.get("msg", ""), ""))
    context.setdefault("count", request.query_params.get("n", ""))
    token = request.scope.get("csrftoken")
    html = parts.templates.get_template(f"admin/{name}").render(
        {"request": request, "csrftoken": token() if token else "", **context}
    )
    return Response(
        html,
        status_code=code,
        media_type=HTML,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "same-origin"},
    )


def _keys(request: Request) -> Any:
    return gateway(request).console_keys


class LoginRequired(Exception):
    pass


def require(role: Role) -> Any:
    async def check(request: Request) -> GatewayParts:
        parts = gateway(request)
        found = current_role(request, parts.console_keys)
        if found is None:
            raise LoginRequired
        if found != role:
            raise Problem(403, "Forbidden", f"This page is for the {role} role.")
        return parts

    return Depends(check)


Editor = Annotated[GatewayParts, require("editor")]
Moderator = Annotated[GatewayParts, require("moderator")]


async def same_origin(request: Request) -> None:
    """Refuse form posts another site made the browser send (shared/web/origin.py); the
    console is stricter than the reader's forms: not even a sibling subdomain."""
    own = own_origin(request.url.scheme, request.url.netloc)
    if request.headers.get("sec-fetch-site") == "same-site" or cross_site(request.headers, own):
        raise Problem(403, "Cross-site request refused", "Forms of the console post only to it.")


SameOrigin = Depends(same_origin)


def back(path: str, **query: Any) -> RedirectResponse:
    query = {k: v for k, v in query.items() if v not in (None, "")}
    return RedirectResponse(path + (f"?{urlencode(query)}" if query else ""), status_code=303)


#: Whose token the console calls each service with (it holds them; the browser never does).
TOKENS = {"ingest": "editor_token", "comments": "moderator_token"}


async def call(
    parts: GatewayParts,
    service: Literal["ingest", "comments"],
    method: str,
    path: str,
    **options: Any,
) -> httpx.Response:
    """``method path`` on ``service``, as its editor or moderator; ``params`` set to None
    are left out."""
    upstream: Upstream = getattr(parts.upstreams, service)
    token = getattr(parts.settings, TOKENS[service])
    headers = {"Authorization": f"Bearer {token or ''}", **options.pop("headers", {})}
    if "params" in options:
        options["params"] = {k: v for k, v in options["params"].items() if v is not None}
    if "json" in options:
        options["content"] = orjson.dumps(options.pop("json"))
        headers["Content-Type"] = "application/json"
    try:
        return await upstream.request(method, path, headers=headers, **options)
    except Unavailable as exc:
        raise Problem(
            503, f"{upstream.name} unavailable", str(exc), headers={"Retry-After": "5"}
        ) from exc


# --- sessions -----------------------------------------------------------------------------


@router.get("/login")
async def login_page(request: Request) -> Response:
    return page(gateway(request), request, "login.html")


@router.post("/login", dependencies=[SameOrigin])
async def login(request: Request, token: Annotated[str, Form(max_length=500)]) -> Response:
    parts = gateway(request)
    role = role_for(token, parts.settings.editor_token, parts.settings.moderator_token)
    if role is None:
        return page(parts, request, "login.html", 401, error="الرمز غير صحيح.")
    response = back("/admin/articles" if role == "editor" else "/admin/comments")
    open_session(response, request, parts.console_keys, role)
    return response


@router.post("/logout", dependencies=[SameOrigin])
async def logout() -> Response:
    response = back("/admin/login")
    close_session(response)
    return response


@router.get("/")
async def home(request: Request) -> Response:
    role = current_role(request, _keys(request))
    if role is None:
        raise LoginRequired
    return back("/admin/articles" if role == "editor" else "/admin/comments")


# --- moderators -----------------------------------------------------------------------------

STATUSES = ("held", "approved", "rejected", "removed")


@router.get("/comments")
async def comments(
    request: Request,
    parts: Moderator,
    status: Annotated[str, Query(pattern="^(held|approved|rejected|removed)$")] = "held",
    reason: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Cursor = None,
) -> Response:
    params = {"status": status, "limit": 50, "reason": reason or None, "cursor": cursor or None}
    answer = await call(
        parts,
        "comments",
        "GET",
        "/moderation/comments",
        params=params,
    )
    body = answer.json()
    items = body.get("items", [])
    articles: dict[str, Any] = {}
    for item in items:
        if item["article_id"] not in articles:
            try:
                articles[item["article_id"]] = await parts.catalog.lookup(item["article_id"])
            except Unavailable:
                articles[item["article_id"]] = None
    return page(
        parts,
        request,
        "comments.html",
        items=items,
        articles=articles,
        status=status,
        statuses=STATUSES,
        reason=reason or "",
        next_cursor=body.get("next_cursor"),
    )


@router.post("/comments", dependencies=[SameOrigin])
async def decide(
    request: Request,
    parts: Moderator,
    action: Annotated[str, Form(pattern="^(approve|reject|remove)$")],
    ids: Annotated[list[UUID] | None, Form()] = None,
    note: Annotated[str, Form(max_length=500)] = "",
    status: Annotated[str, Form(pattern="^(held|approved|rejected|removed)$")] = "held",
) -> Response:
    if not ids:
        return back("/admin/comments", status=status, msg="none")
    done = 0
    for comment_id in ids:
        answer = await call(
            parts,
            "comments",
            "POST",
            f"/moderation/comments/{comment_id}/{action}",
            json={"reason": note or None},
        )
        done += answer.status_code == 200
    return back("/admin/comments", status=status, msg=action, n=done)


# --- editors --------------------------------------------------------------------------------

ARTICLE_STATUSES = ("published", "draft", "scheduled", "unpublished", "deleted")


@router.get("/articles")
async def articles(
    request: Request,
    parts: Editor,
    q: Annotated[str, Query(max_length=200)] = "",
    status: Annotated[str, Query(max_length=16)] = "",
    cursor: Cursor = None,
) -> Response:
    params = {"q": q or None, "status": status or None, "cursor": cursor, "limit": 50}
    answer = await call(
        parts,
        "ingest",
        "GET",
        "/editor/articles",
        params=params,
    )
    body = answer.json() if answer.status_code == 200 else {"items": []}
    return page(
        parts,
        request,
        "articles.html",
        items=body["items"],
        next_cursor=body.get("next_cursor"),
        q=q,
        status=status,
        statuses=ARTICLE_STATUSES,
    )


def _body_text(blocks: list[dict[str, Any]]) -> str:
    """The body as the editor's text: ``## `` starts a heading, ``|`` rows make a table
    (a ``|---|`` line under the first row marks it as the header)."""
    parts = []
    for b in blocks:
        if b.get("kind") == "heading":
            parts.append(f"## {b['text']}")
        elif b.get("kind") == "table" and b.get("rows"):
            lines = ["| " + " | ".join(row) + " |" for row in b["rows"]]
            if b.get("head"):
                lines.insert(1, "|" + "---|" * len(b["rows"][0]))
            parts.append("\n".join(lines))
        else:
            parts.append(b["text"])
    return "\n\n".join(parts)


_RULE = re.compile(r"^\|?(\s*:?-+:?\s*\|)+\s*:?-*:?\s*$")


def _blocks(text: str) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for part in text.replace("\r\n", "\n").split("\n\n"):
        part = part.strip()
        lines = [line.strip() for line in part.split("\n")]
        if part.startswith("## "):
            blocks.append({"kind": "heading", "text": part[3:].strip()})
        elif part and all(line.startswith("|") for line in lines):
            head = len(lines) > 1 and bool(_RULE.match(lines[1]))
            rows = [
                [cell.strip() for cell in line.strip("|").split("|")]
                for n, line in enumerate(lines)
                if not (head and n == 1)
            ]
            blocks.append({"kind": "table", "text": "", "rows": rows, "head": head})
        elif part:
            blocks.append({"kind": "paragraph", "text": " ".join(part.split("\n"))})
    return blocks


@router.get("/articles/new")
async def new_article(request: Request, parts: Editor) -> Response:
    return page(parts, request, "article.html", article=None, body_text="", history=[], etag="")


@router.get("/articles/{ref}")
async def article(request: Request, ref: str, parts: Editor) -> Response:
    answer = await call(parts, "ingest", "GET", f"/editor/articles/{quote(ref, safe='')}")
    if answer.status_code == 404:
        raise Problem(404, "Article not found", f"No article has the id or slug {ref!r}.")
    found = answer.json()
    history = await call(parts, "ingest", "GET", f"/articles/{quote(ref, safe='')}/revisions")
    return page(
        parts,
        request,
        "article.html",
        article=found,
        body_text=_body_text(found["body"]),
        history=history.json() if history.status_code == 200 else [],
        etag=answer.headers.get("etag", ""),
    )


def _draft(
    title: str, author: str, body: str, publish_at: str, status: str, slug: str
) -> dict[str, Any]:
    draft: dict[str, Any] = {
        "title": title,
        "author": author or None,
        "body": _blocks(body),
        "status": "draft" if status == "draft" else "published",
    }
    if slug:
        draft["slug"] = slug
    if publish_at:
        # <input type="datetime-local"> has no offset: the console's times are UTC.
        draft["publish_at"] = datetime.fromisoformat(publish_at).replace(tzinfo=UTC).isoformat()
    return draft


Field = Annotated[str, Form(max_length=70_000)]


@router.post("/articles", dependencies=[SameOrigin])
async def save(
    request: Request,
    parts: Editor,
    title: Field,
    body: Field,
    author: Field = "",
    publish_at: Annotated[str, Form(max_length=40)] = "",
    status: Annotated[str, Form(max_length=16)] = "published",
    slug: Annotated[str, Form(max_length=200)] = "",
    ref: Annotated[str, Form(max_length=400)] = "",
    etag: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    try:
        draft = _draft(title, author, body, publish_at, status, slug if not ref else "")
    except ValueError as exc:
        raise Problem(
            422, "Invalid article", "The publication time is not a date and time."
        ) from exc
    if ref:
        headers = {"If-Match": etag} if etag else {}
        answer = await call(
            parts,
            "ingest",
            "PUT",
            f"/articles/{quote(ref, safe='')}",
            json=draft,
            headers=headers,
        )
    else:
        answer = await call(parts, "ingest", "POST", "/articles", json=draft)
    if answer.status_code == 412:
        return back(f"/admin/articles/{ref}", msg="stale")
    if answer.status_code >= 400:
        problem = answer.json()
        return page(
            parts,
            request,
            "article.html",
            422,
            article={"id": ref, "title": title, "slug": slug, "status": status} if ref else None,
            body_text=body,
            history=[],
            etag=etag,
            errors=problem.get("errors") or [{"field": "", "message": problem.get("detail")}],
        )
    saved = answer.json()
    outcome = "unchanged" if saved["outcome"] == "unchanged" else "saved"
    return back(f"/admin/articles/{saved['article']['id']}", msg=outcome)


@router.post("/articles/{ref}/{action}", dependencies=[SameOrigin])
async def change(
    request: Request,
    ref: str,
    action: str,
    parts: Editor,
    etag: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    if action not in ("unpublish", "restore", "delete"):
        raise Problem(404, "Not found", "No such action.")
    method, path = (
        ("DELETE", f"/articles/{quote(ref, safe='')}")
        if action == "delete"
        else (
            "POST",
            f"/articles/{quote(ref, safe='')}/{action}",
        )
    )
    headers = {"If-Match": etag} if etag else {}
    answer = await call(parts, "ingest", method, path, headers=headers)
    if answer.status_code == 412:
        return back(f"/admin/articles/{ref}", msg="stale")
    return back(f"/admin/articles/{ref}", msg=action)


@router.get("/articles/{ref}/diff")
async def diff(
    request: Request,
    ref: str,
    parts: Editor,
    from_: FromRevision,
    to: ToRevision,
) -> Response:
    answer = await call(
        parts,
        "ingest",
        "GET",
        f"/articles/{quote(ref, safe='')}/diff",
        params={"from": from_, "to": to},
    )
    if answer.status_code != 200:
        raise Problem(404, "Revision not found", f"{ref!r} lacks revision {from_} or {to}.")
    lines = answer.json()["diff"].splitlines()
    return page(parts, request, "diff.html", ref=ref, lines=lines, from_=from_, to=to)
