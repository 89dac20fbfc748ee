from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import redis.asyncio as aioredis
from fastapi import FastAPI

from services.views.app import create_app
from services.views.settings import ViewsSettings
from shared.events import Event, ViewData, ViewRecorded
from shared.streams import DATA_FIELD, encode_envelope


def view(
    article_id: uuid.UUID, visitor: str, at: datetime | None = None, **kw: Any
) -> ViewRecorded:
    return ViewRecorded(
        data=ViewData(article_id=article_id, visitor_id=f"visitor-{visitor}", **kw),
        occurred_at=at or datetime.now(UTC),
    )


async def publish(redis_url: str, stream: str, events: Sequence[Event | bytes]) -> list[str]:
    """XADD entries in wire format v1, as any producer would; bytes go in raw (poison)."""
    client = aioredis.Redis.from_url(redis_url)
    try:
        async with client.pipeline(transaction=False) as pipe:
            for e in events:
                raw = (
                    e if isinstance(e, bytes) else encode_envelope(e.model_dump_json().encode(), {})
                )
                pipe.xadd(stream, {DATA_FIELD: raw})
            return [i.decode() for i in await pipe.execute()]
    finally:
        await client.aclose()


@contextlib.asynccontextmanager
async def running_views(
    settings: ViewsSettings,
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://views") as client:
            yield app, client


def views_settings(**overrides: Any) -> ViewsSettings:
    values: dict[str, Any] = {"claim_idle_ms": 500, "batch_size": 200, "max_deliveries": 3}
    values.update(overrides)
    return ViewsSettings(**values)
