"""Event contracts: the public shape of every message on our streams.

Every event has ``event_id``, ``type``, ``schema_version``, ``occurred_at`` and
``data``. Names are past tense. Changing a field is a contract change: add a
field with a default, or bump ``schema_version`` and publish both for a while.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


def utcnow() -> datetime:
    return datetime.now(UTC)


class Contract(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


BlockKind = Literal["paragraph", "heading"]


class BodyBlock(Contract):
    """One block of an article body, in reading order."""

    kind: BlockKind
    text: str


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


class ArticleRef(Contract):
    article_id: UUID
    slug: str


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


ArticleEvent = Annotated[
    ArticlePublished | ArticleUpdated | ArticleUnpublished, Field(discriminator="type")
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
