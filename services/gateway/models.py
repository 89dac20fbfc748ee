"""Response models of the public gateway API."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from shared.contracts.api import ArticleOut


class ViewCounts(BaseModel):
    total: int = Field(description="All views, starting from the article's legacy count")
    today: int | None = None
    unique_today: int | None = None


class PopularArticle(BaseModel):
    id: UUID
    slug: str
    title: str
    views: int = Field(description="Views within the window")


class ArticleView(BaseModel):
    article: ArticleOut
    views: ViewCounts | None = Field(description="null when the views service is unavailable")
    comments: list[dict[str, Any]] | None = Field(
        description="Approved comments, oldest first; null when the comments service is unavailable"
    )
    degraded: list[str] = Field(
        default_factory=list,
        description="Parts that could not be had (e.g. `views`, `comments`); empty when complete",
    )

    @property
    def view_total(self) -> int:
        """What a reader is shown: the live count, else the last count the article carried."""
        return self.views.total if self.views else self.article.legacy_views


class FormToken(BaseModel):
    form_token: str = Field(description="Send it back with the comment; good for one comment")
    min_seconds: float = Field(description="How long a person takes at least to write one")
