"""The comment form without JavaScript: a plain form post answered with pages.

A post that is taken answers ``303`` back to the article, whose page then says
what became of the comment (in the reader's language); a post with errors gets
the article page again (``422``), each message next to its field and every
value kept: what the reader typed never travels in a URL.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from shared.contracts.api import CommentAccepted
from shared.contracts.comment_form import Language, pick_language
from shared.web.problems import Problem

from ..parts import GatewayParts
from ..upstreams import NotFound, Unavailable
from .head import article_path
from .pages import HTML, article_html

STATUS = {
    "ar": {
        "pending": "تم استلام تعليقك وهو قيد المراجعة.",
        "approved": "تم نشر تعليقك. شكراً لك!",
        "held": "تعليقك بانتظار موافقة المشرف.",
        "rejected": "لم يُقبل تعليقك.",
        "removed": "أُزيل هذا التعليق.",
    },
    "en": {
        "pending": "Your comment was received and is being reviewed.",
        "approved": "Your comment is published. Thank you!",
        "held": "Your comment is waiting for a moderator.",
        "rejected": "Your comment was not accepted.",
        "removed": "This comment was removed.",
    },
}
KEPT = ("name", "email", "website", "comment", "parent_id")


def is_page_form(request: Request) -> bool:
    """A browser's own form post (no script in between): it wants a page back."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    forms = ("application/x-www-form-urlencoded", "multipart/form-data")
    return kind in forms and "text/html" in request.headers.get("accept", "")


async def taken(parts: GatewayParts, ref: str, accepted: CommentAccepted) -> Response:
    try:
        article = await parts.catalog.get(ref)
        path = article_path(article.slug) if article else f"/articles/{ref}"
    except (Unavailable, NotFound):
        path = f"/articles/{ref}"
    return RedirectResponse(f"{path}?comment={accepted.id}#comment-form-title", status_code=303)


async def refused(
    parts: GatewayParts, request: Request, ref: str, form: dict[str, Any], problem: Problem
) -> Response:
    errors = {e["field"]: e["message"] for e in problem.errors or ()}
    values = {k: str(form.get(k, "")) for k in KEPT}
    message = problem.detail or problem.title
    return await form_page(parts, request, ref, values, errors, message, problem.status)


async def form_page(
    parts: GatewayParts,
    request: Request,
    ref: str,
    values: dict[str, str],
    errors: dict[str, str],
    message: str,
    status_code: int,
    comment_status: str | None = None,
) -> Response:
    form = {
        "values": values,
        "errors": errors,
        "message": message,
        "status": comment_status,
        "token": parts.comment_desk.tokens.issue(),
    }
    result = await article_html(parts, request, ref, form)
    if isinstance(result, Response):
        return result
    headers = {"Cache-Control": "no-store"}
    if status_code in (429, 503):
        headers["Retry-After"] = "5"
    return Response(result[0], status_code=status_code, media_type=HTML, headers=headers)


async def outcome_page(parts: GatewayParts, request: Request, ref: str, comment: str) -> Response:
    """The article page after a form post, saying what became of the comment."""
    language: Language = pick_language(request.headers.get("accept-language"))
    try:
        comment_id = UUID(comment)
        status = (await parts.upstreams.comments.get_json(f"/comments/{comment_id}"))["status"]
    except (ValueError, NotFound, Unavailable, KeyError, TypeError):
        status = "pending"  # not decided yet, or not for this reader to know more
    status = status if status in STATUS[language] else "pending"
    return await form_page(parts, request, ref, {}, {}, STATUS[language][status], 200, status)
