"""Schema migrations: one Alembic history per service, one version table per service.

Each service declares a :class:`Schema` (its migrations folder, its metadata, the
table that marks a database created before migrations existed). ``newsroom
migrate`` and the services' start-up (when ``NEWSROOM_MIGRATE_ON_START`` is on, the
embedded default) call :meth:`Schema.upgrade`.

Changes come in two kinds of step so that a rolling upgrade never breaks the version
still running (docs/operations.md): **expand** steps (the default) only add what the
old code ignores; a **contract** step (a revision module saying ``phase = "contract"``)
removes or tightens what only the old code needed. ``newsroom migrate`` and start-up
migrations stop before the first pending contract step; ``newsroom migrate --contract``
(once no older replica runs) and ``newsroom up`` (which runs one version at a time)
apply them. Code works on any schema from :attr:`Schema.needs` up.

Services may share one database: the version tables differ
(``alembic_version_<service>``) and so do the table names. Concurrent upgrades
(replicas starting together) take turns on a lock: an advisory lock on
PostgreSQL, a lock file beside the SQLite database.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
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
from sqlalchemy import Connection, MetaData, inspect, text

from shared.storage.engines import make_sync_engine, sqlite_file, sync_url

log = logging.getLogger(__name__)

#: The first revision of every service: what ``create_all`` built before migrations.
BASELINE = "0001"
#: A revision module's ``phase`` when it removes what the previous version still uses.
CONTRACT = "contract"


class SchemaBehind(RuntimeError):
    """The database lacks migrations this code needs (run ``newsroom migrate``)."""


@dataclass(frozen=True)
class Schema:
    service: str
    metadata: MetaData
    #: A table of the baseline: present without a version table → stamp the baseline.
    marker_table: str
    #: Brings a database made before migrations to the baseline (before the stamp).
    adopt: Callable[[Connection], None] | None = None
    #: After a restore, where the service's group on a stream replays from
    #: (``XGROUP SETID``), read from the restored database:
    #: ``(conn, stream, partition) -> entry id`` (partition None: not a partitioned stream).
    #: Default: the start of what the stream holds (every handler is idempotent).
    replay_from: Callable[[Connection, str, int | None], str] | None = None

    @property
    def location(self) -> Path:
        """The service's revisions: ``services/<service>/migrations``."""
        return Path(__file__).resolve().parents[2] / "services" / self.service / "migrations"

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

    @functools.cached_property
    def script(self) -> ScriptDirectory:
        """The service's revisions (no database involved; read once)."""
        return ScriptDirectory.from_config(self.config("sqlite://"))

    @property
    def head(self) -> str:
        head = self.script.get_current_head()
        assert head is not None, f"{self.service} has no migrations"
        return head

    @functools.cached_property
    def history(self) -> list[str]:
        """Every revision, oldest first (one line of history per service)."""
        return [rev.revision for rev in reversed(list(self.script.walk_revisions()))]

    @functools.cached_property
    def contract_steps(self) -> set[str]:
        script = self.script
        return {
            rev
            for rev in self.history
            if getattr(script.get_revision(rev).module, "phase", "expand") == CONTRACT
        }

    @property
    def needs(self) -> str:
        """The oldest schema this code runs on: its newest expand step (the contract
        steps after it are optional until the previous version is gone)."""
        contract = self.contract_steps
        return [rev for rev in self.history if rev not in contract][-1]

    def _after(self, current: str | None) -> list[str]:
        history = self.history
        return history[history.index(current) + 1 :] if current in history else history

    def expand_target(self, current: str | None) -> str | None:
        """Where ``newsroom migrate`` goes from ``current``: up to, not into, the first
        pending contract step (``None``: nothing to do)."""
        contract, target = self.contract_steps, None
        for rev in self._after(current):
            if rev in contract:
                break
            target = rev
        return target

    def pending_contract(self, url: str) -> list[str]:
        contract = self.contract_steps
        return [rev for rev in self._after(self.current(url)) if rev in contract]

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

    def upgrade(
        self, url: str, revision: str = "head", contract: bool = False
    ) -> tuple[str | None, str | None]:
        """Bring the database to ``revision``; returns (before, after).

        To ``head`` without ``contract``, pending contract steps wait (unless the
        database is new: nothing older can be running on it). A database newer than
        this code is left as it is: the newer version expanded it for both.
        """
        with self._locked(url) as conn:
            before = self._current(conn)
            fresh = before is None and not self._has_marker(conn)
            if before is None and not fresh:
                log.info("%s: database predates migrations; stamping %s", self.service, BASELINE)
                if self.adopt is not None:
                    self.adopt(conn)
                command.stamp(self.config(url, conn), BASELINE)
                conn.commit()
                before = BASELINE
            if before is not None and before not in self.history:
                log.warning(
                    "%s: database at %s, newer than this code's %s: left as it is",
                    self.service,
                    before,
                    self.head,
                )
                return before, before
            if revision == "head" and not (contract or fresh):
                waiting = [rev for rev in self._after(before) if rev in self.contract_steps]
                if waiting:
                    log.info(
                        "%s: contract steps %s wait for `newsroom migrate --contract`",
                        self.service,
                        ", ".join(waiting),
                    )
                revision = self.expand_target(before) or before or "head"
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

    def migrate_to(
        self, url: str, revision: str, contract: bool = False
    ) -> tuple[str | None, str | None]:
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
        return self.upgrade(url, revision, contract=contract)

    def sql(self, url: str, revision: str = "head") -> None:
        """Print the upgrade's SQL instead of running it (for a DBA's review)."""
        command.upgrade(self.config(url), f"base:{revision}", sql=True)

    def require_head(self, url: str) -> None:
        """Refuse to run on a schema older than this code needs (newer is fine: the
        contract steps may still wait, or a newer version expanded it)."""
        current = self.current(url)
        history = self.history
        if current in history and history.index(current) >= history.index(self.needs):
            return
        if current is None or current in history:
            raise SchemaBehind(
                f"{self.service}: database at revision {current}, code needs {self.needs}; "
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
    database = sqlite_file(url)
    if database is None:
        yield  # PostgreSQL: the advisory lock, taken on the migrating connection
        return
    lock_path = Path(f"{database}.migrate.lock")
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
