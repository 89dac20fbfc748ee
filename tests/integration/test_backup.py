"""``newsroom backup`` and ``restore`` on SQLite and PostgreSQL: the copy holds what was
there at the backup, the restore replaces what came after, and the service's groups are
moved back to replay the streams."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import redis
from sqlalchemy import text

from newsroom.backup import backup, restore
from services.webhooks.schema import SCHEMA
from shared.storage.engines import make_sync_engine

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("reset_pg_schema")]


def rows(url: str) -> list[str]:
    engine = make_sync_engine(url)
    try:
        with engine.connect() as conn:
            return [r[0] for r in conn.execute(text("SELECT url FROM webhook_subscriptions"))]
    finally:
        engine.dispose()


def add(url: str, hook: str) -> None:
    engine = make_sync_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO webhook_subscriptions (id, url, event_types, secret, state, "
                    "created_at) VALUES (:id, :url, '[]', 's', 'active', CURRENT_TIMESTAMP)"
                ),
                {"id": hook.split("/")[-1].ljust(32, "0"), "url": hook},
            )
    finally:
        engine.dispose()


async def test_a_restore_brings_back_the_backup_and_rewinds_the_groups(
    database_url: str,
    redis_url: str,
    namespace: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NEWSROOM_WEBHOOKS_DATABASE_URL", database_url)
    monkeypatch.setenv("NEWSROOM_REDIS_URL", redis_url)
    monkeypatch.setenv("NEWSROOM_NAMESPACE", namespace)
    await asyncio.to_thread(SCHEMA.upgrade, database_url)
    add(database_url, "https://a.example/1")
    copies = await asyncio.to_thread(backup, tmp_path / "copies", ["webhooks"])
    assert [c.service for c in copies] == ["webhooks"]
    add(database_url, "https://b.example/2")  # after the backup: gone after the restore
    client = redis.Redis.from_url(redis_url)
    client.xadd(f"{namespace}:articles", {"x": "1"})
    client.xgroup_create(f"{namespace}:articles", "webhooks", "$")
    moved = await asyncio.to_thread(restore, tmp_path / "copies")
    assert rows(database_url) == ["https://a.example/1"]
    assert moved == {"articles:webhooks": "0", "comments:webhooks": "0"}
    groups = {g["name"].decode(): g for g in client.xinfo_groups(f"{namespace}:articles")}
    assert groups["webhooks"]["last-delivered-id"] == b"0-0"
    client.close()
