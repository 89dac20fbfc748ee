"""Assemble what a reader sees of an article from the services that own each part.

Each part is kept in a short-lived cache: the article itself in the catalog
(fresh through the ``articles`` stream), approved comments per article
(dropped when a ``comments`` event names the article), view counts for
``views_ttl`` seconds (they change with every reader; a second old is fine).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar
from uuid import UUID

from cachetools import LRUCache

from shared.contracts.api import ArticleOut
from shared.web.caching import etag_for

from .catalog import ArticleCatalog
from .models import ArticleView, ViewCounts
from .upstreams import NotFound, Unavailable, Upstreams

T = TypeVar("T")
#: The largest page of comments the comments service answers.
COMMENT_PAGE = 200


class TtlCache(Generic[T]):
    """Values with an age. Stale values are still handed out while one refresh runs
    (stale-while-revalidate), so an expiry under load costs one upstream call, not one per
    waiting request."""

    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        # Least recently used out first when full: expired values stay until then, for
        # stale-while-revalidate.
        self._entries: LRUCache[str, tuple[T, float]] = LRUCache(max_entries)
        self._refreshing: dict[str, asyncio.Future[T]] = {}
        #: Drops so far: a load that a drop overtook is not kept (it may predate the change).
        self._drops = 0

    def get(self, key: str) -> T | None:
        """A fresh value, or None."""
        hit = self._entries.get(key)
        if hit is None or time.monotonic() - hit[1] > self.ttl:
            return None
        return hit[0]

    def put(self, key: str, value: T) -> None:
        self._entries[key] = (value, time.monotonic())

    def drop(self, key: str) -> None:
        self._drops += 1
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._drops += 1
        self._entries.clear()

    async def fetch(self, key: str, load: Callable[[], Awaitable[T]]) -> T:
        """The fresh value; else the stale one while a refresh runs; else wait for one load."""
        hit = self._entries.get(key)
        if hit is not None and time.monotonic() - hit[1] <= self.ttl:
            return hit[0]
        running = self._refreshing.get(key)
        if running is None:
            running = asyncio.ensure_future(self._load(key, load, self._drops))
            running.add_done_callback(_retrieve)  # a background refresh's failure is not lost noise
            self._refreshing[key] = running
        if hit is not None:
            return hit[0]  # stale, while the refresh runs
        return await asyncio.shield(running)

    async def _load(self, key: str, load: Callable[[], Awaitable[T]], drops: int) -> T:
        try:
            value = await load()
        except BaseException:
            # The owner is down: stop serving the stale value, so readers learn it
            # (the answer says "degraded") instead of seeing old numbers forever.
            self.drop(key)
            raise
        finally:
            self._refreshing.pop(key, None)
        if self._drops == drops:
            self.put(key, value)
        # else: an event dropped values while this one was loading; it may be older than
        # the change, so it is answered once and not kept.
        return value


class Rendered:
    """Rendered bodies and their ETags, rendered again only when one of the objects they
    were made from is a new object (the caches hand out the same object while unchanged)."""

    def __init__(self, max_entries: int) -> None:
        self._entries: LRUCache[Hashable, tuple[tuple[object, ...], bytes, str]] = LRUCache(
            max_entries
        )

    def get(
        self, key: Hashable, sources: tuple[object, ...], render: Callable[[], bytes]
    ) -> tuple[bytes, str]:
        hit = self._entries.get(key)
        if (
            hit is not None
            and len(hit[0]) == len(sources)
            and all(a is b for a, b in zip(hit[0], sources, strict=True))
        ):
            return hit[1], hit[2]
        body = render()
        etag = etag_for(body)
        self._entries[key] = (sources, body, etag)
        return body, etag


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


class ArticleParts:
    """Views and approved comments of articles, cached briefly, fetched when missing.

    While no part changed, the same :class:`ArticleView` object comes back, so
    whatever is rendered from it (JSON, HTML, ETag) can be reused as well.
    """

    def __init__(
        self,
        upstreams: Upstreams,
        views_ttl: float,
        comments_ttl: float,
        *,
        max_comments: int = 1000,
    ) -> None:
        self.upstreams = upstreams
        self.max_comments = max_comments
        self.views: TtlCache[ViewCounts] = TtlCache(views_ttl)
        self.comments: TtlCache[list[dict[str, Any]]] = TtlCache(comments_ttl)
        # By the article id as it is (a UUID hashes by its number; its text costs a format).
        self._assembled: LRUCache[UUID, tuple[tuple[object, ...], ArticleView]] = LRUCache(10_000)
        self._rendered = Rendered(20_000)
        #: Where a rendered page's form token goes, by the page's ETag.
        self.token_slots: LRUCache[str, int] = LRUCache(20_000)

    def assemble(
        self,
        article: ArticleOut,
        views: ViewCounts | None,
        comments: list[dict[str, Any]] | None,
        degraded: list[str],
    ) -> ArticleView:
        key = (article, views, comments, tuple(degraded))
        hit = self._assembled.get(article.id)
        if hit is not None and all(a is b for a, b in zip(hit[0], key, strict=True)):
            return hit[1]
        view = ArticleView(article=article, views=views, comments=comments, degraded=degraded)
        self._assembled[article.id] = (key, view)
        return view

    def rendered(
        self, kind: str, view: ArticleView, render: Callable[[ArticleView], bytes]
    ) -> tuple[bytes, str]:
        """``render(view)`` and its ETag, computed once per assembled view."""
        return self._rendered.get((kind, view.article.id), (view,), lambda: render(view))

    async def view_counts(self, article_id: str, legacy: int) -> ViewCounts:
        async def load() -> ViewCounts:
            try:
                data = await self.upstreams.views.get_json(f"/counts/{article_id}")
            except NotFound:  # not counted yet: the legacy count is the whole truth
                return ViewCounts(total=legacy, today=0, unique_today=0)
            return ViewCounts.model_validate(data)

        return await self.views.fetch(article_id, load)

    async def approved_comments(self, article_id: str) -> list[dict[str, Any]]:
        """Oldest first, up to ``max_comments``: every page the comments service has (the first
        page alone hid every comment after it, the newest ones)."""

        async def load() -> list[dict[str, Any]]:
            items: list[dict[str, Any]] = []
            cursor = None
            while len(items) < self.max_comments:
                limit = min(COMMENT_PAGE, self.max_comments - len(items))
                params: dict[str, Any] = {"status": "approved", "limit": limit}
                if cursor:
                    params["cursor"] = cursor
                data = await self.upstreams.comments.get_json(
                    f"/articles/{article_id}/comments", params=params
                )
                items += data.get("items", [])
                cursor = data.get("next_cursor")
                if not cursor:
                    break
            return items

        return await self.comments.fetch(article_id, load)


async def article_view(
    catalog: ArticleCatalog, parts: ArticleParts, id_or_slug: str
) -> ArticleView:
    """The article with its views and approved comments; missing parts are named in ``degraded``.

    Raises :class:`NotFound` for an unknown article and :class:`Unavailable` when
    the article itself cannot be had.
    """
    article = await catalog.get(id_or_slug)
    if article is None:
        raise NotFound(id_or_slug)
    article_id = str(article.id)
    views_hit, comments_hit = parts.views.get(article_id), parts.comments.get(article_id)
    if views_hit is not None and comments_hit is not None:  # the usual case: no task, no wait
        return parts.assemble(article, views_hit, comments_hit, [])
    views, comments = await asyncio.gather(
        parts.view_counts(article_id, article.legacy_views),
        parts.approved_comments(article_id),
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
    return parts.assemble(article, views, comments, degraded)
