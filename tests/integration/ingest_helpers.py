from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import FastAPI

from services.ingest.app import create_app
from services.ingest.settings import IngestSettings

TOKEN = "editor-secret"
EDITOR = {"Authorization": f"Bearer {TOKEN}"}


def ingest_settings(**overrides: Any) -> IngestSettings:
    values: dict[str, Any] = {"editor_token": TOKEN, "relay_poll_interval": 0.2}
    values.update(overrides)
    return IngestSettings(**values)


@contextlib.asynccontextmanager
async def running_ingest(
    settings: IngestSettings,
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:
            yield app, client
