"""HTTP API models shared by the gateway and the services behind it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from urllib.parse import urlsplit
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from shared.contracts.events import BodyBlock
from shared.contracts.streams import STREAM_MAP
from shared.text.arabic import clean_text
from shared.text.storable import storable


def is_web_url(value: str) -> bool:
    """An http(s) URL any URL parser reads: a host, a port if any (``http://[`` matches
    ``^https?://\\S+$`` and makes Python's ``urlsplit`` raise)."""
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises on a port that is not a number
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _web_url(value: str) -> str:
    if not is_web_url(value):
        raise ValueError("ليس رابط http(s) صحيحاً. / Not a valid http(s) URL.")
    return value


WebUrl = Annotated[str, AfterValidator(_web_url)]

TITLE_MAX = 500
AUTHOR_MAX = 245
SECTION_MAX = 120
TAG_MAX = 100


class ArticleIn(BaseModel):
    """An article as an editor or a feed sends it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": "روسيا: نحافظ على اتصالات مكثفة مع سوريا",
                    "author": "فريق ماسة",
                    "published_on": "2025-11-01",
                    "legacy_views": 1085,
                    "body": [
                        {"kind": "paragraph", "text": "أكد نائب وزير الخارجية الروسي..."},
                        {"kind": "heading", "text": "اجتماع سوري - روسي في موسكو"},
                    ],
                }
            ]
        },
    )

    title: str = Field(min_length=1, max_length=TITLE_MAX)
    body: list[BodyBlock] = Field(
        description="Blocks in reading order. Plain text is accepted too: blank lines "
        "separate its paragraphs."
    )
    author: str | None = Field(default=None, max_length=AUTHOR_MAX)
    published_on: date | None = None
    modified_on: date | None = Field(default=None, description="When the article last changed")
    legacy_views: int = Field(default=0, ge=0, le=10**12)
    source_url: WebUrl | None = Field(default=None, max_length=2000, pattern=r"^https?://\S+$")
    slug: str | None = Field(
        default=None,
        max_length=200,
        description="The article's key when given: sending it again updates that article.",
    )
    external_id: str | None = Field(
        default=None,
        max_length=300,
        description="The article's id in the system it comes from (a CMS, a feed's guid): "
        "the key when no slug is given.",
    )
    language: str = Field(default="ar", max_length=16)
    section: str | None = Field(
        default=None, max_length=SECTION_MAX, description="The site section, e.g. سياسة"
    )
    tags: list[str] = Field(default_factory=list, max_length=30, description="Keywords")
    image: WebUrl | None = Field(
        default=None,
        max_length=2000,
        pattern=r"^https?://\S+$",
        description="The lead image's URL (og:image on HTML import)",
    )
    status: Literal["published", "draft"] = Field(
        default="published", description="A draft is never served to readers."
    )
    publish_at: AwareDatetime | None = Field(
        default=None,
        description="Publish at this time (RFC 3339 with offset); the article waits unseen "
        "until then.",
    )

    @field_validator("title", "author", "slug", "external_id", "language", "section", mode="before")
    @classmethod
    def _storable(cls, value: object) -> object:
        return storable(value) if isinstance(value, str) else value

    @field_validator("title", "author", "section")
    @classmethod
    def _clean_line(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = " ".join(clean_text(value).split())
        return value or None

    @field_validator("tags")
    @classmethod
    def _clean_tags(cls, value: list[str]) -> list[str]:
        tags: list[str] = []
        for tag in value:
            tag = " ".join(clean_text(storable(tag)).split())
            if len(tag) > TAG_MAX:
                raise ValueError(
                    f"الوسم {TAG_MAX} حرفاً على الأكثر. / A tag has at most {TAG_MAX} characters."
                )
            if tag and tag not in tags:
                tags.append(tag)
        return tags

    @field_validator("title")
    @classmethod
    def _title_required(cls, value: str | None) -> str:
        if not value:
            raise ValueError("العنوان فارغ. / The title must not be blank.")
        return value

    @field_validator("body", mode="before")
    @classmethod
    def _text_to_blocks(cls, value: object) -> object:
        if isinstance(value, str):
            storable(value)
            parts = [p.strip() for p in clean_text(value).split("\n\n")]
            return [{"kind": "paragraph", "text": " ".join(p.split("\n"))} for p in parts if p]
        return value

    @field_validator("body")
    @classmethod
    def _body_blocks(cls, value: list[BodyBlock]) -> list[BodyBlock]:
        blocks = []
        for block in value:
            storable(block.text)
            if block.kind == "table":
                rows = [
                    [" ".join(clean_text(storable(c)).split()) for c in r] for r in block.rows or ()
                ]
                rows = [row for row in rows if any(row)]
                if rows:
                    blocks.append(BodyBlock(kind="table", text="", rows=rows, head=block.head))
            elif text := clean_text(block.text):
                blocks.append(BodyBlock(kind=block.kind, text=text))
        if not blocks:
            raise ValueError(
                "النص بلا فقرة. / The body must contain at least one non-blank paragraph."
            )
        return blocks


ArticleStatus = Literal["published", "draft", "scheduled", "unpublished", "deleted"]


class ArticlePatch(BaseModel):
    """A partial edit: only the fields sent change."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=TITLE_MAX)
    body: list[BodyBlock] | str | None = None
    author: str | None = Field(default=None, max_length=AUTHOR_MAX)
    published_on: date | None = None
    modified_on: date | None = None
    legacy_views: int | None = Field(default=None, ge=0, le=10**12)
    source_url: WebUrl | None = Field(default=None, max_length=2000, pattern=r"^https?://\S+$")
    external_id: str | None = Field(default=None, max_length=300)
    language: str | None = Field(default=None, max_length=16)
    section: str | None = Field(default=None, max_length=SECTION_MAX)
    tags: list[str] | None = Field(default=None, max_length=30)
    image: WebUrl | None = Field(default=None, max_length=2000, pattern=r"^https?://\S+$")
    status: Literal["published", "draft"] | None = None
    publish_at: AwareDatetime | None = None


class ArticleOut(BaseModel):
    id: UUID
    slug: str
    title: str
    author: str | None
    published_on: date | None
    body: list[BodyBlock]
    legacy_views: int
    revision: int
    status: ArticleStatus
    source_url: str | None
    language: str
    created_at: datetime
    updated_at: datetime
    external_id: str | None = None
    publish_at: datetime | None = None
    section: str | None = None
    tags: list[str] = Field(default_factory=list)
    image: str | None = None
    modified_on: date | None = None


class EditorArticleSummary(BaseModel):
    id: UUID
    slug: str
    title: str
    status: ArticleStatus
    revision: int
    publish_at: datetime | None
    updated_at: datetime


class EditorArticlePage(BaseModel):
    items: list[EditorArticleSummary]
    next_cursor: str | None = None


class RevisionSummary(BaseModel):
    revision: int
    title: str
    created_at: datetime


class RevisionOut(RevisionSummary):
    author: str | None
    published_on: date | None
    body: list[BodyBlock]


class RevisionDiff(BaseModel):
    article_id: UUID
    from_revision: int
    to_revision: int
    #: A unified diff of title, author, date and body, one block a line.
    diff: str


class ArticleSummary(BaseModel):
    id: UUID
    slug: str
    title: str
    author: str | None
    published_on: date | None
    legacy_views: int
    section: str | None = None
    image: str | None = None
    #: The first paragraph, for lists and feeds' summaries.
    lead: str = ""
    updated_at: datetime | None = None


class ArticlePage(BaseModel):
    items: list[ArticleSummary]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` to get the next page; null on the last page."
    )
    prev_cursor: str | None = Field(
        default=None,
        description="Pass as `before` to get the newer page before this one; null on the first.",
    )


class IndexEntry(BaseModel):
    """A published article as crawlers' sitemaps list it."""

    slug: str
    title: str
    language: str
    #: The publication date at midnight UTC, else when it was first stored.
    published_at: datetime
    updated_at: datetime


class ArticleIndex(BaseModel):
    """Published articles oldest first, by offset: sitemaps number their pages."""

    items: list[IndexEntry]
    total: int


class SearchHit(BaseModel):
    id: UUID
    slug: str
    title: str
    #: The title, escaped, with the words that answer the query in ``<mark>``.
    title_html: str
    #: About 30 words of the body around the first match, escaped, matches in ``<mark>``.
    snippet_html: str
    author: str | None = None
    section: str | None = None
    language: str = "ar"
    published_at: datetime


class SearchPage(BaseModel):
    query: str
    items: list[SearchHit]
    #: Articles that match in all.
    total: int
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; null on the last."
    )


class BrokenEntry(BaseModel):
    entry: str = Field(description="The entry's guid/id (or its position)")
    reason: str


class FeedImport(BaseModel):
    """What a feed import did: one line of counts, and each entry that was not imported."""

    feed: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: list[BrokenEntry] = Field(default_factory=list)


class SaveOutcome(BaseModel):
    outcome: Literal["created", "updated", "unchanged", "unpublished", "restored", "deleted"]
    article: ArticleOut


class CommentIn(BaseModel):
    """The comment form. Fields marked required in the page: name, email, comment."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "سارة",
                    "email": "sara@example.com",
                    "website": "https://example.org",
                    "comment": "شكراً على هذا المقال.",
                    "form_token": "1764387600000.3f2a…",
                }
            ]
        }
    )

    name: str = Field(description="Required; at most 245 bytes")
    email: str = Field(description="Required; at most 100 bytes; not published")
    website: str | None = Field(
        default=None, description="Optional http(s) address; at most 200 bytes"
    )
    comment: str = Field(
        description="Required; at most 65,525 bytes; a few inline HTML tags are kept"
    )
    form_token: str | None = Field(
        default=None, description="The signed token the article page's form carries"
    )
    hp: str | None = Field(default=None, description="Honeypot: people leave it empty")
    parent_id: UUID | None = Field(
        default=None,
        description="The comment this one answers: an approved comment of the same article "
        "that is not itself a reply (replies are one level deep).",
    )


class CommentAccepted(BaseModel):
    id: UUID
    status: Literal["pending"] = "pending"
    status_url: str


class CommentStatusOut(BaseModel):
    id: UUID
    article_id: UUID | None = Field(default=None, description="null while pending")
    parent_id: UUID | None = None
    status: Literal["pending", "approved", "held", "rejected", "removed"]
    reasons: list[str] = Field(default_factory=list)
    submitted_at: datetime | None = None
    decided_at: datetime | None = None


class ModerationNote(BaseModel):
    """Why a moderator decided so (kept with the comment and sent on its event)."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=500)


class PublicComment(BaseModel):
    id: UUID
    name: str
    website: str | None
    html: str = Field(description="Sanitised HTML, safe to insert into a page")
    submitted_at: datetime
    parent_id: UUID | None = Field(default=None, description="The comment this one answers")


class CommentPage(BaseModel):
    items: list[PublicComment]
    next_cursor: str | None = None


class ModerationComment(PublicComment):
    article_id: UUID
    email: str
    text: str
    status: str
    reasons: list[str]
    spam_signals: list[str]
    decided_by: Literal["rules", "moderator"] = "rules"
    decided_at: datetime | None = None
    note: str | None = None


class ModerationPage(BaseModel):
    items: list[ModerationComment]
    next_cursor: str | None = None


#: The event types a webhook may ask for: every event of the public streams.
PUBLIC_EVENT_TYPES: tuple[str, ...] = tuple(
    model.model_fields["type"].default
    for spec in STREAM_MAP
    if spec.public
    for model in spec.events
)
WebhookEventType = Literal[PUBLIC_EVENT_TYPES]  # type: ignore[valid-type]
WebhookState = Literal["active", "paused", "disabled"]


class WebhookIn(BaseModel):
    """A subscription as an editor registers it."""

    model_config = ConfigDict(extra="forbid")

    url: WebUrl = Field(
        max_length=2000,
        description="Where each event is POSTed. HTTPS, and not an address of a private "
        "network, loopback or link-local range (checked again before every delivery).",
    )
    event_types: list[WebhookEventType] = Field(min_length=1, max_length=8)
    description: str | None = Field(default=None, max_length=500)

    @field_validator("event_types")
    @classmethod
    def _each_once(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    @field_validator("description")
    @classmethod
    def _storable_description(cls, value: str | None) -> str | None:
        return None if value is None else storable(clean_text(value))


class WebhookOut(BaseModel):
    id: UUID
    url: str
    event_types: list[str]
    description: str | None
    state: WebhookState
    #: Why a disabled subscription was disabled.
    disabled_reason: str | None = None
    created_at: datetime
    #: Since when every delivery has failed (null while it succeeds).
    failing_since: datetime | None = None
    pending: int = Field(default=0, description="Deliveries not yet made")
    dead: int = Field(default=0, description="Deliveries given up on (the dead letters)")


class WebhookCreated(WebhookOut):
    secret: str = Field(
        description="The signing secret (Standard Webhooks `whsec_…`): shown in this answer only."
    )


class WebhookPage(BaseModel):
    items: list[WebhookOut]


class DeliveryAttempt(BaseModel):
    at: datetime
    status_code: int | None = Field(description="The receiver's answer; null when none came")
    error: str | None = None
    duration_ms: int


class DeliveryOut(BaseModel):
    id: int
    #: The event's id: the ``webhook-id`` header, the receiver's idempotency key.
    event_id: UUID
    event_type: str
    #: The stream and entry the event came from.
    stream: str
    entry_id: str
    status: Literal["pending", "delivered", "dead"]
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    log: list[DeliveryAttempt] = Field(default_factory=list, description="The latest attempts")


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None = None


class Redriven(BaseModel):
    redriven: int = Field(description="Dead letters queued again, in their stream order")
