"""Submitting a comment: the logic behind ``POST /api/v1/articles/{id}/comments``.

The form is checked here, at once, with the shared rules (one message per
field, Arabic or English); the comments service decides what happens to it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import redis.asyncio as aioredis

from shared.api import CommentAccepted
from shared.comments import FormTokens, check_comment_form, pick_language
from shared.events import CommentSubmission, CommentSubmitted
from shared.http import Problem
from shared.streams import Streams

from .catalog import ArticleCatalog
from .recorder import RateLimitedPublisher
from .settings import GatewaySettings
from .upstreams import Unavailable
from .visitors import VisitorIds

PENDING_TTL_MS = 24 * 3600 * 1000
INVALID = {"ar": "بعض الحقول غير صحيحة.", "en": "Some fields are invalid."}


@dataclass
class CommentDesk:
    settings: GatewaySettings
    streams: Streams
    catalog: ArticleCatalog
    visitors: VisitorIds
    publisher: RateLimitedPublisher
    tokens: FormTokens

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
    try:
        article = await desk.catalog.get(article_ref)
    except Unavailable as exc:
        raise Problem(
            503, "Cannot check the article now", str(exc), headers={"Retry-After": "5"}
        ) from exc
    if article is None:
        raise Problem(404, "Article not found", f"No article has the id or slug {article_ref!r}.")
    clean, errors = check_comment_form(form, language)
    if clean is None:
        raise Problem(422, "Invalid comment", INVALID[language], errors=errors)

    signals = list(
        desk.tokens.signals(
            form.get("form_token") if isinstance(form.get("form_token"), str) else None
        )
    )
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
    except (aioredis.ConnectionError, aioredis.TimeoutError) as exc:
        raise Problem(
            503,
            "Comments cannot be taken now",
            "The event store is unreachable.",
            headers={"Retry-After": "5"},
        ) from exc
    if not published.accepted:
        seconds = max(1, -(-published.retry_after_ms // 1000))
        raise Problem(
            429,
            "Too many requests",
            f"Try again in {seconds} s.",
            headers={"Retry-After": str(seconds)},
        )
    return CommentAccepted(id=comment_id, status_url=f"/api/v1/comments/{comment_id}")
