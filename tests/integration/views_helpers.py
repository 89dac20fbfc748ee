from __future__ import annotations

import uuid
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any

from services.views.app import create_app
from services.views.settings import ViewsSettings
from shared.contracts.events import ViewData, ViewRecorded
from tests.support import (
    Running,
    publish,  # noqa: F401  (re-exported for the views tests)
    serving,
)


def view(
    article_id: uuid.UUID, visitor: str, at: datetime | None = None, **kw: Any
) -> ViewRecorded:
    return ViewRecorded(
        data=ViewData(article_id=article_id, visitor_id=f"visitor-{visitor}", **kw),
        occurred_at=at or datetime.now(UTC),
    )


def running_views(settings: ViewsSettings) -> AbstractAsyncContextManager[Running]:
    return serving(create_app(settings), "views")


def views_settings(**overrides: Any) -> ViewsSettings:
    # Reclaiming is not what these tests are about: keep the claimer from racing the reader.
    values: dict[str, Any] = {"claim_idle_ms": 5000, "batch_size": 200, "max_deliveries": 3}
    values.update(overrides)
    return ViewsSettings(**values)
