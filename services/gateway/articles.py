"""Assemble what a reader sees of an article from the services that own each part."""

from __future__ import annotations

import asyncio
from typing import Any

from .catalog import ArticleCatalog
from .models import ArticleView, ViewCounts
from .upstreams import NotFound, Unavailable, Upstreams


async def _views(upstreams: Upstreams, article_id: str, legacy: int) -> ViewCounts:
    try:
        data = await upstreams.views.get_json(f"/counts/{article_id}")
    except NotFound:  # not counted yet: the legacy count is the whole truth
        return ViewCounts(total=legacy, today=0, unique_today=0)
    return ViewCounts.model_validate(data)


async def _comments(upstreams: Upstreams, article_id: str) -> list[dict[str, Any]]:
    data = await upstreams.comments.get_json(
        f"/articles/{article_id}/comments", params={"status": "approved"}
    )
    return list(data.get("items", []))


async def article_view(
    catalog: ArticleCatalog, upstreams: Upstreams, id_or_slug: str
) -> ArticleView:
    """The article with its views and approved comments; missing parts are named in ``degraded``.

    Raises :class:`NotFound` for an unknown article and :class:`Unavailable` when
    the article itself cannot be had.
    """
    article = await catalog.get(id_or_slug)
    if article is None:
        raise NotFound(id_or_slug)
    article_id = str(article.id)
    views, comments = await asyncio.gather(
        _views(upstreams, article_id, article.legacy_views),
        _comments(upstreams, article_id),
        return_exceptions=True,
    )
    degraded: list[str] = []
    if isinstance(views, BaseException):
        if not isinstance(views, Unavailable):
            raise views
        degraded.append("views")
        views = None
    if isinstance(comments, BaseException):
        if not isinstance(comments, Unavailable | NotFound):
            raise comments
        degraded.append("comments")
        comments = None
    return ArticleView(article=article, views=views, comments=comments, degraded=degraded)
