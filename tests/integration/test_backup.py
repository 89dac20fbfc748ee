"""``newsroom backup`` and ``restore`` on SQLite and PostgreSQL: the copy holds what was
there at the backup, the restore replaces what came after, and the service's groups are
moved back to replay the streams."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import text

from newsroom.backup import backup, restore
from services.webhooks.schema import SCHEMA
from shared.contracts.streams import Streams
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


async def test_a_restore_on_a_cluster_rewinds_each_views_partition_to_its_ledger(
    database_url: str,
    redis_cluster: Any,
    namespace: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The views ledger keys on (partition, entry id): each partition's group replays from
    just before the oldest entry the restored ledger remembers of that partition."""
    from services.views.schema import SCHEMA as VIEWS

    monkeypatch.setenv("NEWSROOM_VIEWS_DATABASE_URL", database_url)
    monkeypatch.setenv("NEWSROOM_REDIS_URL", redis_cluster.url)
    monkeypatch.setenv("NEWSROOM_REDIS_CLUSTER", "true")
    monkeypatch.setenv("NEWSROOM_NAMESPACE", namespace)
    await asyncio.to_thread(VIEWS.upgrade, database_url)
    engine = make_sync_engine(database_url)
    try:
        with engine.begin() as conn:
            for first, last in (
                ("0003/001764400000000-0000000002", "0003/001764400000500-0000000000"),
                ("0003/001764400000900-0000000000", "0003/001764400000999-0000000000"),
                ("0010/001764400000700-0000000000", "0010/001764400000800-0000000000"),
            ):
                conn.execute(
                    text(
                        "INSERT INTO applied_batches (first_entry, last_entry, entries, "
                        "applied_at) VALUES (:f, :l, :e, 0)"
                    ),
                    {"f": first, "l": last, "e": f"{first} {last}"},
                )
    finally:
        engine.dispose()
    await asyncio.to_thread(backup, tmp_path / "copies", ["views"])
    moved = await asyncio.to_thread(restore, tmp_path / "copies")
    streams = Streams(namespace, cluster=True, partitions=64)
    key = [streams.in_partition(p, "views") for p in range(64)]
    assert moved[f"{key[3]}:views"] == "1764400000000-1"
    assert moved[f"{key[10]}:views"] == "1764400000699-18446744073709551615"
    assert moved[f"{key[0]}:views"] == "0" and moved["articles:views"] == "0"
    assert len([k for k in moved if k.endswith(":views")]) == 65
    client = redis.RedisCluster.from_url(redis_cluster.url)
    try:
        [group] = client.xinfo_groups(key[3])
        assert group["last-delivered-id"] == b"1764400000000-1"
    finally:
        client.close()
