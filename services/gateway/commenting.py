"""Submitting a comment: the logic behind ``POST /api/v1/articles/{id}/comments``.

The form is checked here, at once, with the shared rules (one message per
field, Arabic or English); the comments service decides what happens to it.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import redis.asyncio as aioredis

from shared.contracts.api import CommentAccepted
from shared.contracts.comment_form import Language, check_comment_form, pick_language
from shared.contracts.events import CommentSubmission, CommentSubmitted
from shared.contracts.streams import Streams
from shared.messaging.replication import REFUSED, UNAVAILABLE
from shared.web.form_tokens import FormTokens
from shared.web.problems import Problem

from .catalog import ArticleCatalog, require_article
from .console.sessions import ConsoleKeys
from .recorder import RateLimitedPublisher, event_store_down
from .settings import GatewaySettings
from .upstreams import NotFound, Unavailable, Upstream
from .visitors import VisitorIds

log = logging.getLogger(__name__)
PENDING_TTL_MS = 24 * 3600 * 1000
INVALID = {"ar": "بعض الحقول غير صحيحة.", "en": "Some fields are invalid."}
CANNOT_REPLY = {
    "ar": "لا يمكن الرد على هذا التعليق: غير منشور أو هو رد بنفسه.",
    "en": "This comment cannot be answered: it is not published, or is itself a reply.",
}


USED_TOKEN = {
    "ar": "أُرسل هذا النموذج من قبل: أعد تحميل الصفحة لكتابة تعليق آخر.",
    "en": "This form was already sent: reload the page to write another comment.",
}


async def claim_form_token(desk: CommentDesk, token: str, language: Language) -> str:
    """A form token is good for one comment: the first post claims it (every replica
    sees the claim), a second one with it is refused."""
    key = desk.streams.key("comments", "form-token-used", token.rpartition(".")[2])
    try:
        fresh = await desk.publisher.client.set(
            key, "1", nx=True, px=int(desk.tokens.max_age_seconds * 1000)
        )
    except UNAVAILABLE as exc:
        raise event_store_down("Comments cannot be taken now") from exc
    if not fresh:
        raise Problem(
            422,
            "Invalid comment",
            INVALID[language],
            errors=[{"field": "form_token", "message": USED_TOKEN[language]}],
        )
    return key


async def release_form_token(desk: CommentDesk, claim: str | None) -> None:
    """The comment was refused (503): its form may be sent again."""
    if claim is not None:
        with contextlib.suppress(*UNAVAILABLE):
            await desk.publisher.client.delete(claim)


async def reply_parent(
    desk: CommentDesk, form: dict[str, Any], article_id: UUID, language: Language
) -> UUID | None:
    """The comment a reply answers: approved, on this article, not itself a reply."""
    raw = form.get("parent_id")
    if raw in (None, ""):
        return None
    refused = Problem(
        422,
        "Invalid comment",
        INVALID[language],
        errors=[{"field": "parent_id", "message": CANNOT_REPLY[language]}],
    )
    try:
        parent_id = UUID(str(raw))
    except ValueError:
        raise refused from None
    try:
        parent = await desk.comments.get_json(f"/comments/{parent_id}")
    except NotFound:
        raise refused from None
    except Unavailable as exc:
        raise Problem(
            503, "Replies cannot be checked now", str(exc), headers={"Retry-After": "5"}
        ) from exc
    if (
        parent.get("status") != "approved"
        or parent.get("article_id") != str(article_id)
        or parent.get("parent_id") is not None
    ):
        raise refused
    return parent_id


@dataclass
class CommentDesk:
    settings: GatewaySettings
    streams: Streams
    catalog: ArticleCatalog
    visitors: VisitorIds
    publisher: RateLimitedPublisher
    tokens: FormTokens
    #: The comments service, asked whether a reply's parent can be answered.
    comments: Upstream

    def pending_key(self, comment_id: str) -> str:
        return self.streams.key("comments", "pending", comment_id)


async def load_form_secret(client: aioredis.Redis, streams: Streams, configured: str | None) -> str:
    """The configured secret, else one shared by every replica through Redis."""
    if configured:
        return configured
    key = streams.key("comments", "form-secret")
    await client.set(key, secrets.token_hex(32), nx=True)
    value = await client.get(key)
    return value.decode() if isinstance(value, bytes) else str(value)


async def submit_comment(
    desk: CommentDesk,
    article_ref: str,
    form: dict[str, Any],
    *,
    ip: str,
    user_agent: str,
    accept_language: str | None,
) -> CommentAccepted:
    language = pick_language(accept_language)
    article = await require_article(desk.catalog, article_ref)
    clean, errors = check_comment_form(form, language)
    if clean is None:
        raise Problem(422, "Invalid comment", INVALID[language], errors=errors)
    parent_id = await reply_parent(desk, form, article.id, language)

    token = form.get("form_token") if isinstance(form.get("form_token"), str) else None
    signals = list(desk.tokens.signals(token))
    claim = None
    if token and "no_form_token" not in signals:
        claim = await claim_form_token(desk, token, language)
    if form.get("hp"):
        signals.insert(0, "honeypot")
    now = datetime.now(UTC)
    comment_id = uuid4()
    try:
        client_key = await desk.visitors.client_key(ip, now)
        event = CommentSubmitted(
            occurred_at=now,
            data=CommentSubmission(
                comment_id=comment_id,
                article_id=article.id,
                name=clean.name,
                email=clean.email,
                website=clean.website,
                text=clean.comment,
                client_key=client_key,
                user_agent=user_agent[:1000],
                spam_signals=tuple(signals),
                language=language,
                parent_id=parent_id,
            ),
        )
        published = await desk.publisher.publish(
            desk.streams.comments_submitted,
            event,
            rate_key=desk.streams.key("ratelimit", "comments", client_key),
            limit=desk.settings.comments_per_minute,
            window_ms=60_000,
            marker=(desk.pending_key(str(comment_id)), PENDING_TTL_MS),
        )
    except REFUSED as exc:
        await release_form_token(desk, claim)
        raise event_store_down("Comments cannot be taken now", exc) from exc
    published.or_too_many()
    return CommentAccepted(id=comment_id, status_url=f"/api/v1/comments/{comment_id}")


async def share_form_secret(
    comment_desk: CommentDesk,
    console_keys: ConsoleKeys,
    redis: aioredis.Redis,
    settings: GatewaySettings,
) -> None:
    """Every replica signs and checks form tokens and console sessions with the same key."""
    try:
        secret = await load_form_secret(redis, comment_desk.streams, settings.form_secret)
    except (aioredis.ConnectionError, aioredis.TimeoutError, OSError) as exc:
        log.error("form tokens signed with a key of this replica only: %r", exc)
        return
    comment_desk.tokens = FormTokens(
        secret, settings.min_submit_seconds, settings.form_token_seconds
    )
    # A key of its own for the console, derived: a form token never opens a session.
    console_keys.secret = hmac.new(secret.encode(), b"console", hashlib.sha256).hexdigest()
