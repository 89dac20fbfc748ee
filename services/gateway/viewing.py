"""Recording a reader's view: the logic behind ``POST /api/v1/articles/{id}/views``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from uuid import uuid4

from pydantic import BaseModel, ConfigDict

from shared.contracts.events import ViewData, ViewRecorded
from shared.contracts.streams import Streams
from shared.messaging.replication import REFUSED

from .catalog import ArticleCatalog, require_article
from .recorder import RateLimitedPublisher, Readers, event_store_down
from .settings import GatewaySettings
from .visitors import BotFilter, VisitorIds


class ViewReceipt(BaseModel):
    model_config = ConfigDict(frozen=True)

    counted: bool
    reason: Literal["accepted", "bot", "opt-out", "cross-site", "shared-address"]


ACCEPTED = ViewReceipt(counted=True, reason="accepted")
BOT = ViewReceipt(counted=False, reason="bot")
OPTED_OUT = ViewReceipt(counted=False, reason="opt-out")
#: Another site's page made the browser post the view: not a reading of this page.
CROSS_SITE = ViewReceipt(counted=False, reason="cross-site")
#: One address already sent the most readers one address may send for this article.
SHARED_ADDRESS = ViewReceipt(counted=False, reason="shared-address")
RECEIPT_BODIES = {
    r: r.model_dump_json().encode() for r in (ACCEPTED, BOT, OPTED_OUT, CROSS_SITE, SHARED_ADDRESS)
}


@dataclass
class ViewDesk:
    settings: GatewaySettings
    streams: Streams
    catalog: ArticleCatalog
    visitors: VisitorIds
    bots: BotFilter
    publisher: RateLimitedPublisher


async def record_view(
    desk: ViewDesk,
    article_ref: str,
    *,
    ip: str,
    user_agent: str,
    opted_out: bool,
    cross_site: bool = False,
) -> ViewReceipt:
    article = await require_article(desk.catalog, article_ref)
    if cross_site:
        return CROSS_SITE
    if desk.bots.is_bot(user_agent):
        return BOT
    if opted_out and desk.settings.honor_dnt:
        return OPTED_OUT

    now = datetime.now(UTC)
    try:
        visitor, previous = await desk.visitors.for_view(ip, user_agent, str(article.id), now)
        # Built from values we made ourselves: no need to validate them again.
        event = ViewRecorded.model_construct(
            event_id=uuid4(),
            schema_version=1,
            occurred_at=now,
            type="view.recorded",
            data=ViewData.model_construct(
                article_id=article.id, visitor_id=visitor, previous_visitor_id=previous
            ),
        )
        client = await desk.visitors.client_key(ip, now)
        bound = desk.settings.readers_per_address
        # A view's partition is its (article, reader)'s: one story's readers spread over
        # them all, and one reader's window and readers cap for it stay in one slot. The
        # address's rate limit, over every article, lives in the address's own partition.
        partition = desk.streams.partition_of(str(article.id), ip)
        published = await desk.publisher.publish(
            desk.streams.in_partition(partition, "views"),
            event,
            rate_key=desk.streams.in_partition(
                desk.streams.partition_of(ip), "ratelimit", "views", client
            ),
            limit=desk.settings.views_per_minute,
            window_ms=60_000,
            readers=Readers(
                desk.streams.in_partition(partition, "views", "readers", client, str(article.id)),
                visitor,
                bound,
                int(desk.visitors.window.total_seconds() * 1000),
            )
            if bound
            else None,
        )
    except REFUSED as exc:
        raise event_store_down("Views cannot be recorded now", exc) from exc
    if published.capped:
        return SHARED_ADDRESS
    published.or_too_many()
    return ACCEPTED
