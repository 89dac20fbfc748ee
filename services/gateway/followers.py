"""The gateway follows the public streams (every replica reads every entry, no group)
to keep its caches fresh: an update or a decision shows at once."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError

from shared.contracts.events import article_event_adapter, comment_event_adapter

from .articles import ArticleParts
from .catalog import ArticleCatalog
from .site.listing import ArticleLists

log = logging.getLogger(__name__)


async def refresh_catalog(
    body: dict[str, Any], catalog: ArticleCatalog, lists: ArticleLists
) -> None:
    try:
        catalog.apply(article_event_adapter.validate_python(body))
    except ValidationError:
        log.warning("ignored a malformed entry on the articles stream")
        return
    lists.changed()


async def drop_comments(body: dict[str, Any], articles: ArticleParts) -> None:
    try:
        articles.comments.drop(str(comment_event_adapter.validate_python(body).data.article_id))
    except ValidationError:
        log.warning("ignored a malformed entry on the comments stream")
