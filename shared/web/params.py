"""What the HTTP APIs take, declared once for the gateway and the services behind it:
typed query and path parameters, and request bodies FastAPI cannot infer (routes that
read the raw body pass it on, or accept more than one media type)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BaseModel, Field

#: The highest revision number (a PostgreSQL ``integer``).
MAX_REVISION = 2**31 - 1

#: The ``next_cursor`` of the page before, as this API handed it out.
Cursor = Annotated[str | None, Query(max_length=200)]
RevisionNo = Annotated[int, Path(ge=1, le=MAX_REVISION)]
FromRevision = Annotated[int, Query(alias="from", ge=1, le=MAX_REVISION)]
ToRevision = Annotated[int, Query(ge=1, le=MAX_REVISION)]


class ArticleListQuery(BaseModel):
    """``GET /articles``: published articles newest first, a page at a time."""

    cursor: str | None = Field(default=None, max_length=200)
    before: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=20, ge=1, le=100)
    section: str | None = Field(default=None, max_length=120)
    author: str | None = Field(default=None, max_length=245)


ArticleList = Annotated[ArticleListQuery, Query()]


def request_body(content: dict[str, str | None], required: bool = True) -> dict[str, Any]:
    """``openapi_extra`` for a body of each media type in ``content``: the named schema
    of ``components``, or None for text."""
    return {
        "requestBody": {
            "required": required,
            "content": {
                media: {"schema": {"$ref": f"#/components/schemas/{schema}"}}
                if schema
                else {"schema": {"type": "string"}}
                for media, schema in content.items()
            },
        }
    }
