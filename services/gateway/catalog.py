"""The gateway's read model of articles: a cache kept fresh by the ``articles`` stream.

Each replica follows the stream (plain XREAD, no group: every replica needs
every event) and drops what an event changed, so an update shows within the
stream's latency. Entries also expire after ``ttl`` as a safety net, and an
expired entry is still served while ingest is unreachable (stale-if-error).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from urllib.parse import quote

from cachetools import LRUCache

from shared.contracts.api import ArticleOut
from shared.contracts.events import ArticleEvent
from shared.web.problems import Problem

from .upstreams import Gone, NotFound, Unavailable, Upstream


@dataclass(frozen=True, slots=True)
class Cached:
    article: ArticleOut | None  # None: known not to exist
    fetched_at: float


class ArticleCatalog:
    def __init__(
        self,
        ingest: Upstream,
        ttl: float = 60.0,
        negative_ttl: float = 2.0,
        max_entries: int = 50_000,
    ) -> None:
        self.ingest = ingest
        self.ttl = ttl
        self.negative_ttl = negative_ttl
        self._entries: LRUCache[str, Cached] = LRUCache(max_entries)
        #: Events applied so far: a fetch that an event overtook is not kept.
        self._changes = 0
        self._loading: dict[str, asyncio.Future[ArticleOut | None]] = {}

    async def get(self, id_or_slug: str) -> ArticleOut | None:
        """The published article, or None if there is none (drafts, scheduled and
        unpublished articles included). Raises :class:`Gone` for a deleted article and
        Unavailable when ingest cannot say."""
        article = await self.lookup(id_or_slug)
        if article is None or article.status == "published":
            return article
        if article.status == "deleted":
            raise Gone(id_or_slug)
        return None

    async def lookup(self, id_or_slug: str) -> ArticleOut | None:
        """The article whatever its status, or None."""
        if len(id_or_slug) > 400 or not id_or_slug.isprintable():
            return None  # no slug or id looks like that: no need to ask
        cached = self._entries.get(id_or_slug)
        now = time.monotonic()
        if cached is not None and now - cached.fetched_at < self._ttl_of(cached.article):
            return cached.article
        # One fetch per key at a time: a burst of readers of an article not cached yet (a
        # story just published, a feed's twenty) asks ingest once, not once per reader. A
        # task of its own, so that a reader who goes away does not cancel the others' answer.
        loading = self._loading.get(id_or_slug)
        if loading is None:
            loading = asyncio.ensure_future(self._fetch(id_or_slug, cached, now, self._changes))
            self._loading[id_or_slug] = loading
            loading.add_done_callback(lambda done: self._loaded(id_or_slug, done))
        return await asyncio.shield(loading)

    def _ttl_of(self, article: ArticleOut | None) -> float:
        if article is None:
            return self.negative_ttl
        if article.status == "scheduled" and article.publish_at is not None:
            # Known to change at its time: not held past it should its event be late.
            return min(self.ttl, article.publish_at.timestamp() - time.time())
        return self.ttl

    def _loaded(self, key: str, done: asyncio.Future[ArticleOut | None]) -> None:
        if self._loading.get(key) is done:
            del self._loading[key]
        if not done.cancelled():
            done.exception()  # retrieved: every reader waiting for it may have gone

    async def _fetch(
        self, id_or_slug: str, cached: Cached | None, now: float, changes: int
    ) -> ArticleOut | None:
        """``changes``: the events applied when a reader asked (the task starts later)."""
        try:
            article: ArticleOut | None = ArticleOut.model_validate(
                await self.ingest.get_json(f"/articles/{quote(id_or_slug, safe='')}")
            )
        except NotFound:
            article = None
        except Unavailable:
            if cached is not None and cached.article is not None:
                return cached.article  # stale beats nothing while ingest is down
            raise
        if self._changes == changes:
            self._store(id_or_slug, article, now)
        # else: an event came while ingest answered; the answer may predate it (a scheduled
        # article published meanwhile stayed hidden for the whole ttl): not kept.
        return article

    def _store(self, key: str, article: ArticleOut | None, now: float) -> None:
        entry = Cached(article, now)
        self._entries[key] = entry
        if article is not None:
            self._entries[str(article.id)] = entry
            self._entries[article.slug] = entry

    def apply(self, event: ArticleEvent) -> None:
        """Forget what the event changed; the next read fetches the new revision."""
        data = event.data
        self._changes += 1
        for key in (str(data.article_id), data.slug):
            self._entries.pop(key, None)
            self._loading.pop(key, None)  # readers from now on ask again, after the event
        # A slug may also be cached as "not found" under another spelling: drop negatives too.
        for key in [k for k, v in self._entries.items() if v.article is None]:
            self._entries.pop(key, None)


async def require_article(catalog: ArticleCatalog, ref: str) -> ArticleOut:
    """The published article ``ref`` names, or the reader's 404 (410 when deleted, 503
    when ingest is down)."""
    try:
        article = await catalog.get(ref)
    except Gone as exc:
        raise Problem(410, "Article deleted", f"The article {ref!r} was deleted.") from exc
    except Unavailable as exc:
        raise Problem(
            503, "Cannot check the article now", str(exc), headers={"Retry-After": "5"}
        ) from exc
    if article is None:
        raise Problem(404, "Article not found", f"No article has the id or slug {ref!r}.")
    return article
