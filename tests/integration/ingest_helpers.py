from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

from services.ingest.app import create_app
from services.ingest.settings import IngestSettings
from tests.support import Running, serving

TOKEN = "editor-secret"
EDITOR = {"Authorization": f"Bearer {TOKEN}"}


def ingest_settings(**overrides: Any) -> IngestSettings:
    values: dict[str, Any] = {"editor_token": TOKEN, "relay_poll_interval": 0.2}
    values.update(overrides)
    return IngestSettings(**values)


def running_ingest(settings: IngestSettings) -> AbstractAsyncContextManager[Running]:
    return serving(create_app(settings), "ingest")
