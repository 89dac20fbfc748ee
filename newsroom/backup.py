"""``newsroom backup DIR`` and ``newsroom restore DIR``: every service's database.

A backup is taken while traffic flows: SQLite's online backup API in embedded mode,
``pg_dump`` (custom format) per database in production. A restore puts the files back
(the services stopped), then moves each restored service's consumer groups back on
their streams (``XGROUP SETID``) to where its restored database needs them: what the
streams still hold since then replays into it. Every handler is idempotent and the
views ledger knows which of its entries the restored counts hold, so nothing is counted
or decided twice; what the streams no longer hold is gone (docs/operations.md).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import make_url

from shared.contracts.streams import consumer_groups
from shared.messaging.redis_client import sync_redis
from shared.settings import NewsroomSettings
from shared.storage.engines import make_sync_engine

from .migrate import Target, targets

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Copy:
    service: str
    file: str
    engine: str  # sqlite or postgresql


def _sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    return Path(parsed.database or "") if parsed.get_backend_name() == "sqlite" else None


def _libpq(url: str) -> str:
    """The URL as pg_dump and pg_restore read it (no SQLAlchemy driver name)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def backup(directory: Path, services: list[str] | None = None) -> list[Copy]:
    directory.mkdir(parents=True, exist_ok=True)
    copies = []
    for target in targets(services):
        path = _sqlite_path(target.url)
        if path is not None:
            file = f"{target.service}.db"
            with sqlite3.connect(path) as source, sqlite3.connect(directory / file) as copy:
                source.backup(copy)  # consistent while writers go on (SQLite's online backup)
            copy.close()
            copies.append(Copy(target.service, file, "sqlite"))
        else:
            file = f"{target.service}.dump"
            subprocess.run(
                [
                    "pg_dump",
                    "--format=custom",
                    "--no-owner",
                    f"--file={directory / file}",
                    _libpq(target.url),
                ],
                check=True,
                capture_output=True,
            )
            copies.append(Copy(target.service, file, "postgresql"))
    manifest = {
        "taken_at": datetime.now(UTC).isoformat(),
        "copies": [c.__dict__ for c in copies],
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return copies


def restore(directory: Path, services: list[str] | None = None) -> dict[str, str]:
    """Put the copies back, then move the restored services' groups back; returns where
    each (stream, group) replays from."""
    manifest: dict[str, Any] = json.loads((directory / MANIFEST).read_text())
    wanted = set(services or [c["service"] for c in manifest["copies"]])
    chosen = [Copy(**c) for c in manifest["copies"] if c["service"] in wanted]
    by_service = {t.service: t for t in targets([c.service for c in chosen])}
    for copy in chosen:
        _put_back(copy, directory / copy.file, by_service[copy.service])
    return _replay(list(by_service.values()))


def _put_back(copy: Copy, file: Path, target: Target) -> None:
    if copy.engine == "sqlite":
        path = _sqlite_path(target.url)
        if path is None:
            raise ValueError(f"{copy.service}: a SQLite copy, but the service uses {target.url}")
        path.parent.mkdir(parents=True, exist_ok=True)
        for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            stale.unlink(missing_ok=True)
        shutil.copyfile(file, path)
    else:
        subprocess.run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                f"--dbname={_libpq(target.url)}",
                str(file),
            ],
            check=True,
            capture_output=True,
        )


def _replay(restored: list[Target]) -> dict[str, str]:
    settings = NewsroomSettings()
    streams = settings.streams
    client = sync_redis(settings.redis_url, cluster=settings.redis_cluster)
    moved: dict[str, str] = {}
    try:
        for target in restored:
            engine = make_sync_engine(target.url)
            try:
                for stream, group in consumer_groups():
                    if group != target.service:
                        continue
                    keys = streams.physical(stream)
                    for partition, key in enumerate(keys):
                        start = "0"
                        if target.schema.replay_from is not None:
                            with engine.connect() as conn:
                                start = target.schema.replay_from(
                                    conn, stream, partition if len(keys) > 1 else None
                                )
                        try:
                            client.xgroup_setid(key, group, start)
                        except redis.ResponseError:  # no group yet (or no stream): make it
                            client.xgroup_create(key, group, start, mkstream=True)
                        moved[f"{stream if len(keys) == 1 else key}:{group}"] = start
            finally:
                engine.dispose()
    finally:
        client.close()
    return moved
