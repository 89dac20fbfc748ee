"""Lists of articles as the site shows them: pages from ingest, kept briefly, and the
most-read list from the views service."""

from __future__ import annotations

import json
import logging
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from cachetools import LRUCache

from shared.contracts.api import ArticlePage, SearchPage

from ..articles import Rendered, TtlCache
from ..catalog import ArticleCatalog
from ..models import PopularArticle
from ..upstreams import Gone, NotFound, Unavailable, Upstream, Upstreams

log = logging.getLogger(__name__)


class BadListCursor(ValueError):
    """A cursor ingest did not hand out."""


@dataclass(frozen=True, slots=True)
class Found:
    """A page of search results, with the JSON it came as and its ETag (served as is)."""

    page: SearchPage
    body: bytes
    etag: str


class ArticleLists:
    """Pages of published articles (front, section, author, feeds) and of search results,
    reused for ``ttl`` seconds and dropped whenever an article event arrives."""

    def __init__(self, ingest: Upstream, ttl: float = 10.0) -> None:
        self.ingest = ingest
        self.pages: TtlCache[ArticlePage] = TtlCache(ttl, max_entries=2_000)
        #: The searches readers repeat (a story's name while it breaks) cost one query a
        #: few seconds. Shorter than the lists: the index may apply an event after we heard it.
        self.searches: TtlCache[Found] = TtlCache(min(ttl, 3.0), max_entries=5_000)
        #: The front page's most-read block: the views service is asked every few seconds.
        self.most_read: TtlCache[list[PopularArticle]] = TtlCache(5.0, max_entries=4)
        #: Rendered list pages, while neither their list nor their most-read block changed.
        self.rendered = Rendered(2_000)
        #: Rendered feeds by their articles' versions (site/feeds.py).
        self.feeds: LRUCache[Hashable, tuple[bytes, str]] = LRUCache(256)

    async def page(
        self,
        filters: dict[str, str],
        *,
        cursor: str | None = None,
        before: str | None = None,
        limit: int = 20,
    ) -> ArticlePage:
        params: dict[str, Any] = {"limit": limit, **filters}
        if cursor:
            params["cursor"] = cursor
        elif before:
            params["before"] = before
        key = json.dumps(params, sort_keys=True, ensure_ascii=False)

        async def load() -> ArticlePage:
            response = await self.ingest.request("GET", "/articles", params=params)
            if response.status_code == 400:
                raise BadListCursor(key)
            response.raise_for_status()
            return ArticlePage.model_validate_json(response.content)

        return await self.pages.fetch(key, load)

    def changed(self) -> None:
        self.pages.clear()
        self.searches.clear()
        self.most_read.clear()


async def popular(
    upstreams: Upstreams, catalog: ArticleCatalog, window: str = "24h", limit: int = 10
) -> list[PopularArticle]:
    """The most-read published articles in ``window``; raises Unavailable/NotFound when the
    views service cannot say."""
    ranked = await upstreams.views.get_json("/popular", params={"window": window, "limit": limit})
    result = []
    for item in ranked:
        try:
            article = await catalog.get(item["article_id"])
        except (Unavailable, Gone):
            continue
        if article is not None:
            result.append(
                PopularArticle(
                    id=article.id, slug=article.slug, title=article.title, views=item["views"]
                )
            )
    return result


async def most_read(
    upstreams: Upstreams, catalog: ArticleCatalog, lists: ArticleLists
) -> list[PopularArticle]:
    """The front page's most-read block (24 h); empty while the views service is away."""
    try:
        return await lists.most_read.fetch("24h", lambda: popular(upstreams, catalog, "24h", 5))
    except (Unavailable, NotFound):
        return []
