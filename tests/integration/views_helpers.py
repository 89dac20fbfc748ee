from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI

from services.views.app import create_app
from services.views.settings import ViewsSettings
from shared.contracts.events import ViewData, ViewRecorded
from tests.support import publish  # noqa: F401  (re-exported for the views tests)


def view(
    article_id: uuid.UUID, visitor: str, at: datetime | None = None, **kw: Any
) -> ViewRecorded:
    return ViewRecorded(
        data=ViewData(article_id=article_id, visitor_id=f"visitor-{visitor}", **kw),
        occurred_at=at or datetime.now(UTC),
    )


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
    # Reclaiming is not what these tests are about: keep the claimer from racing the reader.
    values: dict[str, Any] = {"claim_idle_ms": 5000, "batch_size": 200, "max_deliveries": 3}
    values.update(overrides)
    return ViewsSettings(**values)
