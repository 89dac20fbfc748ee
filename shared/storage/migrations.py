"""Schema migrations: one Alembic history per service, one version table per service.

Each service declares a :class:`Schema` (its migrations folder, its metadata, the
table that marks a database created before migrations existed). ``newsroom
migrate`` and the services' start-up (when ``NEWSROOM_MIGRATE_ON_START`` is on, the
embedded default) call :meth:`Schema.upgrade`.

Services may share one database: the version tables differ
(``alembic_version_<service>``) and so do the table names. Concurrent upgrades
(replicas starting together) take turns on a lock: an advisory lock on
PostgreSQL, a lock file beside the SQLite database.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, MetaData, inspect, make_url, text

from shared.storage.engines import make_sync_engine, sync_url

log = logging.getLogger(__name__)

#: The first revision of every service: what ``create_all`` built before migrations.
BASELINE = "0001"


class SchemaBehind(RuntimeError):
    """The database lacks migrations this code needs (run ``newsroom migrate``)."""


@dataclass(frozen=True)
class Schema:
    service: str
    location: Path
    metadata: MetaData
    #: A table of the baseline: present without a version table → stamp the baseline.
    marker_table: str
    #: Brings a database made before migrations to the baseline (before the stamp).
    adopt: Callable[[Connection], None] | None = None
    #: After a restore, where the service's group on a stream replays from
    #: (``XGROUP SETID``), read from the restored database: ``(conn, stream) -> entry id``.
    #: Default: the start of what the stream holds (every handler is idempotent).
    replay_from: Callable[[Connection, str], str] | None = None

    @property
    def version_table(self) -> str:
        return f"alembic_version_{self.service}"

    def config(self, url: str, connection: Connection | None = None) -> Config:
        cfg = Config()
        # One environment for all services; each service's revisions in its own folder.
        cfg.set_main_option("script_location", str(Path(__file__).parent / "alembic_env"))
        cfg.set_main_option("version_locations", str(self.location))
        cfg.set_main_option("path_separator", "os")
        cfg.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
        cfg.attributes["schema"] = self
        if connection is not None:
            cfg.attributes["connection"] = connection
        return cfg

    @property
    def script(self) -> ScriptDirectory:
        """The service's revisions (no database involved)."""
        return ScriptDirectory.from_config(self.config("sqlite://"))

    @property
    def head(self) -> str:
        head = self.script.get_current_head()
        assert head is not None, f"{self.service} has no migrations"
        return head

    def current(self, url: str) -> str | None:
        engine = make_sync_engine(url)
        try:
            with engine.connect() as conn:
                return self._current(conn)
        finally:
            engine.dispose()

    def _current(self, conn: Connection) -> str | None:
        context = MigrationContext.configure(conn, opts={"version_table": self.version_table})
        return context.get_current_revision()

    @contextlib.contextmanager
    def _locked(self, url: str) -> Iterator[Connection]:
        """A connection that alone migrates this service's schema while it is held:
        an advisory lock on PostgreSQL, a lock file beside a SQLite database."""
        engine = make_sync_engine(url)
        postgres = engine.dialect.name == "postgresql"
        try:
            with _migration_lock(url, self.service), engine.connect() as conn:
                if postgres:
                    conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": self._lock_key})
                    conn.commit()
                try:
                    yield conn
                finally:
                    if postgres:
                        conn.rollback()  # (a failed step leaves the transaction aborted)
                        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._lock_key})
                        conn.commit()
        finally:
            engine.dispose()

    def upgrade(self, url: str, revision: str = "head") -> tuple[str | None, str | None]:
        """Bring the database to ``revision``; returns (before, after)."""
        with self._locked(url) as conn:
            before = self._current(conn)
            if before is None and self._has_marker(conn):
                log.info("%s: database predates migrations; stamping %s", self.service, BASELINE)
                if self.adopt is not None:
                    self.adopt(conn)
                command.stamp(self.config(url, conn), BASELINE)
                conn.commit()
                before = BASELINE
            command.upgrade(self.config(url, conn), revision)
            conn.commit()
            after = self._current(conn)
        if before != after:
            log.info("%s: schema migrated %s → %s", self.service, before, after)
        return before, after

    def downgrade(self, url: str, revision: str) -> None:
        with self._locked(url) as conn:
            command.downgrade(self.config(url, conn), revision)
            conn.commit()

    def migrate_to(self, url: str, revision: str) -> tuple[str | None, str | None]:
        """Up or down to ``revision`` (``head``, ``base`` or an id); returns (before, after)."""
        before = self.current(url)
        below = (
            {rev.revision for rev in self.script.iterate_revisions(before, "base")}
            if before
            else set()
        )
        if revision == "base" or (revision in below and revision != before):
            self.downgrade(url, revision)
            return before, self.current(url)
        return self.upgrade(url, revision)

    def sql(self, url: str, revision: str = "head") -> None:
        """Print the upgrade's SQL instead of running it (for a DBA's review)."""
        command.upgrade(self.config(url), f"base:{revision}", sql=True)

    def require_head(self, url: str) -> None:
        """Refuse to run on a schema older than this code (newer is fine: expand first)."""
        current = self.current(url)
        if current == self.head:
            return
        known = {rev.revision for rev in self.script.walk_revisions()}
        if current is None or current in known:
            raise SchemaBehind(
                f"{self.service}: database at revision {current}, code needs {self.head}; "
                "run `newsroom migrate`"
            )
        log.warning(
            "%s: database at %s, newer than this code's %s", self.service, current, self.head
        )

    @property
    def _lock_key(self) -> int:
        return zlib.crc32(f"newsroom-migrate-{self.service}".encode()) & 0x7FFFFFFF

    def _has_marker(self, conn: Connection) -> bool:
        return inspect(conn).has_table(self.marker_table)


async def prepare_schema(schema: Schema, url: str, migrate: bool) -> None:
    """At start-up: migrate (embedded default), or refuse a schema older than the code."""
    await asyncio.to_thread(schema.upgrade if migrate else schema.require_head, url)


@contextlib.contextmanager
def _migration_lock(url: str, service: str) -> Iterator[None]:
    parsed = make_url(sync_url(url))
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        yield  # PostgreSQL: the advisory lock, taken on the migrating connection
        return
    lock_path = Path(f"{parsed.database}.migrate.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def run_env(context: Any) -> None:
    """The body of every service's ``env.py`` (online with our connection, or --sql)."""
    schema: Schema = context.config.attributes["schema"]
    options: dict[str, Any] = {
        "target_metadata": schema.metadata,
        "version_table": schema.version_table,
        "render_as_batch": True,  # SQLite alters tables by copying them
        "compare_type": True,
    }
    connection = context.config.attributes.get("connection")
    if connection is None:
        context.configure(
            url=context.config.get_main_option("sqlalchemy.url"), literal_binds=True, **options
        )
    else:
        context.configure(connection=connection, **options)
    with context.begin_transaction():
        context.run_migrations()
