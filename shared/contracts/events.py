"""Event contracts: the public shape of every message on our streams.

Every event has ``event_id``, ``type``, ``schema_version``, ``occurred_at`` and
``data``. Names are past tense. Changing a field is a contract change: add a
field with a default, or bump ``schema_version`` and publish both for a while.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID, uuid4

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    TypeAdapter,
    model_serializer,
    model_validator,
)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Contract(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


BlockKind = Literal["paragraph", "heading", "table"]


def table_text(rows: list[list[str]]) -> str:
    """A table as text: a row a line, cells separated by `` | ``."""
    return "\n".join(" | ".join(row) for row in rows)


class BodyBlock(Contract):
    """One block of an article body, in reading order.

    A table (``kind: "table"``) has ``rows`` of cells, and ``head`` when its first row
    names the columns; its ``text`` holds the same rows as lines, so a consumer that
    shows text only, or does not know the kind, shows it whole."""

    kind: BlockKind
    text: str
    rows: list[list[str]] | None = None
    head: bool = False

    @model_validator(mode="before")
    @classmethod
    def _table_as_text(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("kind") == "table":
            rows = data.get("rows")
            if not rows or not isinstance(rows, list):
                raise ValueError("الجدول بلا صفوف. / A table needs rows.")
            if not data.get("text"):
                data = {**data, "text": table_text(rows)}
        return data

    @model_serializer(mode="wrap")
    def _rows_only_on_tables(self, handler: SerializerFunctionWrapHandler) -> Any:
        # Paragraphs and headings stay {"kind", "text"} on the wire, as before tables.
        data = handler(self)
        if self.kind != "table" and isinstance(data, dict):
            data.pop("rows", None)
            data.pop("head", None)
        return data


class ArticleData(Contract):
    article_id: UUID
    slug: str
    title: str
    author: str | None = None
    published_on: date | None = None
    body: tuple[BodyBlock, ...]
    #: The view count the article had before Newsroom (e.g. 1085 on the seed page).
    legacy_views: int = 0
    revision: int = 1
    source_url: str | None = None
    language: str = "ar"
    section: str | None = None
    tags: tuple[str, ...] = ()
    image: str | None = None
    modified_on: date | None = None


class ArticleRef(Contract):
    article_id: UUID
    slug: str
    #: The article's revision when it was withdrawn.
    revision: int | None = None


class Event(Contract):
    event_id: UUID = Field(default_factory=uuid4)
    schema_version: int = 1
    occurred_at: datetime = Field(default_factory=utcnow)


class ArticlePublished(Event):
    type: Literal["article.published"] = "article.published"
    data: ArticleData


class ArticleUpdated(Event):
    type: Literal["article.updated"] = "article.updated"
    data: ArticleData


class ArticleUnpublished(Event):
    type: Literal["article.unpublished"] = "article.unpublished"
    data: ArticleRef


class ArticleDeleted(Event):
    """Gone for readers for good (``410``); the article's id and slug stay taken."""

    type: Literal["article.deleted"] = "article.deleted"
    data: ArticleRef


ArticleEvent = Annotated[
    ArticlePublished | ArticleUpdated | ArticleUnpublished | ArticleDeleted,
    Field(discriminator="type"),
]
article_event_adapter: TypeAdapter[ArticleEvent] = TypeAdapter(ArticleEvent)


class ViewData(Contract):
    article_id: UUID
    #: Keyed hash of IP + user agent + article with today's salt: never the raw IP.
    visitor_id: str = Field(min_length=8, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")
    #: The same visitor under yesterday's salt, sent near midnight so the
    #: dedupe window does not restart when the salt rotates.
    previous_visitor_id: str | None = Field(
        default=None, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$"
    )


class ViewRecorded(Event):
    type: Literal["view.recorded"] = "view.recorded"
    data: ViewData


CommentStatus = Literal["approved", "held", "rejected", "removed"]


class CommentSubmission(Contract):
    """What a reader sent, checked against the form rules by the gateway."""

    comment_id: UUID
    article_id: UUID
    name: str
    email: str
    website: str | None = None
    text: str
    #: Keyed hash of the client address (never the address itself), for flood control.
    client_key: str
    user_agent: str = ""
    #: Why the gateway thinks it may be spam: ``honeypot``, ``too_fast``, ``no_form_token``.
    spam_signals: tuple[str, ...] = ()
    language: Literal["ar", "en"] = "ar"
    #: The approved comment this one answers (replies are one level deep).
    parent_id: UUID | None = None


class CommentSubmitted(Event):
    type: Literal["comment.submitted"] = "comment.submitted"
    data: CommentSubmission


class CommentDecision(Contract):
    """A comment as other systems see it: no email, no client data."""

    comment_id: UUID
    article_id: UUID
    author_name: str
    author_url: str | None = None
    #: Sanitised HTML, safe to render.
    html: str
    status: CommentStatus
    #: Machine-readable reasons, e.g. ``["links"]`` or ``["banned_word"]``.
    reasons: tuple[str, ...] = ()
    submitted_at: datetime
    #: Who decided: the rules, or a person in the moderator role.
    decided_by: Literal["rules", "moderator"] = "rules"
    #: The moderator's reason, in their words.
    note: str | None = None
    parent_id: UUID | None = None


class CommentApproved(Event):
    type: Literal["comment.approved"] = "comment.approved"
    data: CommentDecision


class CommentHeld(Event):
    type: Literal["comment.held"] = "comment.held"
    data: CommentDecision


class CommentRejected(Event):
    type: Literal["comment.rejected"] = "comment.rejected"
    data: CommentDecision


class CommentRemoved(Event):
    type: Literal["comment.removed"] = "comment.removed"
    data: CommentDecision


CommentEvent = Annotated[
    CommentApproved | CommentHeld | CommentRejected | CommentRemoved, Field(discriminator="type")
]
comment_event_adapter: TypeAdapter[CommentEvent] = TypeAdapter(CommentEvent)
DECISION_EVENTS: dict[str, type[Event]] = {
    "approved": CommentApproved,
    "held": CommentHeld,
    "rejected": CommentRejected,
    "removed": CommentRemoved,
}
