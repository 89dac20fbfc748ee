"""Schema migrations on SQLite and PostgreSQL: from empty, from the previous revision,
from a database made before migrations, and with every service in one database."""

from __future__ import annotations

import importlib
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from shared.settings import settings_env
from shared.storage.engines import make_sync_engine
from shared.storage.migrations import Schema, SchemaBehind
from tests.support import newsroom_cli

pytestmark = pytest.mark.integration

SERVICES = ("ingest", "views", "comments", "search", "webhooks")


@pytest.fixture(autouse=True)
def _clean_pg(reset_pg_schema: None) -> None:
    """Every test starts from an empty database (the PostgreSQL one is shared by the run)."""


def schema_of(service: str) -> Schema:
    return importlib.import_module(f"services.{service}.schema").SCHEMA  # type: ignore[no-any-return]


def drift(schema: Schema, url: str) -> list[Any]:
    """What differs between the migrated database and the service's models (its tables only)."""
    engine = make_sync_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "version_table": schema.version_table}
            )
            diffs = compare_metadata(context, schema.metadata)
    finally:
        engine.dispose()
    own = set(schema.metadata.tables)

    def table_of(diff: Any) -> str | None:
        first = diff[0] if isinstance(diff, list) else diff
        obj = first[1] if len(first) > 1 else None
        name = getattr(obj, "name", None) if first[0].endswith("table") else None
        return name or getattr(getattr(obj, "table", None), "name", None) or first[2]

    return [d for d in diffs if table_of(d) in own]


def revisions(schema: Schema) -> list[str]:
    return [rev.revision for rev in reversed(list(schema.script.walk_revisions()))]


@pytest.mark.parametrize("service", SERVICES)
def test_upgrade_from_empty_builds_exactly_the_models(service: str, database_url: str) -> None:
    schema = schema_of(service)
    before, after = schema.upgrade(database_url)
    assert (before, after) == (None, schema.head)
    assert drift(schema, database_url) == []
    assert schema.upgrade(database_url) == (schema.head, schema.head)  # running again: no-op


@pytest.mark.parametrize("service", SERVICES)
def test_every_revision_upgrades_from_the_previous_and_downgrades_back(
    service: str, database_url: str
) -> None:
    schema = schema_of(service)
    history = revisions(schema)
    for revision in history:
        schema.upgrade(database_url, revision)
        assert schema.current(database_url) == revision
    assert drift(schema, database_url) == []
    schema.downgrade(database_url, "base")
    tables = set(inspect_tables(database_url))
    assert not tables & set(schema.metadata.tables)


def inspect_tables(url: str) -> list[str]:
    engine = make_sync_engine(url)
    try:
        with engine.connect() as conn:
            return inspect(conn).get_table_names()
    finally:
        engine.dispose()


def _comment_row(comment_id: uuid.UUID, email: str = "reader@example.com") -> dict[str, Any]:
    """A comment as the version before 0004 wrote it (no ``email_key``)."""
    now = datetime.now(UTC)
    return {
        "id": comment_id.hex,
        "article_id": uuid.uuid4().hex,
        "name": "قارئ",
        "email": email,
        "text": "تعليق",
        "html": "<p>تعليق</p>",
        "status": "approved",
        "reasons": "[]",
        "spam_signals": "[]",
        "client_key": "k" * 64,
        "user_agent": "",
        "fingerprint": "f" * 64,
        "submitted_at": now,
        "decided_at": now,
        "decided_by": "rules",
    }


def _insert(url: str, table: str, row: dict[str, Any]) -> None:
    engine = make_sync_engine(url)
    if engine.dialect.name == "postgresql":  # native UUID columns take the canonical form
        row = {
            k: str(uuid.UUID(v)) if k in ("id", "article_id", "event_id") else v
            for k, v in row.items()
        }
    columns = ", ".join(row)
    values = ", ".join(f":{k}" for k in row)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"INSERT INTO {table} ({columns}) VALUES ({values})"), row)
    finally:
        engine.dispose()


def _scalar(url: str, sql: str) -> Any:
    engine = make_sync_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()
    finally:
        engine.dispose()


def test_comments_upgrade_from_the_previous_revision_keeps_the_comments(database_url: str) -> None:
    schema = schema_of("comments")
    schema.upgrade(database_url, "0001")
    _insert(database_url, "comments", _comment_row(uuid.uuid4(), email="Reader@example.com"))
    schema.upgrade(database_url)
    # Expand steps only: the contract step waits for the previous version to go.
    assert schema.current(database_url) == "0004" == schema.needs
    assert schema.pending_contract(database_url) == ["0005"]
    schema.require_head(database_url)  # this code runs on the expanded schema
    # The previous version keeps writing meanwhile, without the new column.
    _insert(database_url, "comments", _comment_row(uuid.uuid4(), email="READER@example.com"))

    assert schema.upgrade(database_url, contract=True) == ("0004", "0005")
    assert _scalar(database_url, "SELECT count(*) FROM comments") == 2
    assert _scalar(database_url, "SELECT count(DISTINCT email_key) FROM comments") == 1
    assert _scalar(database_url, "SELECT min(email_key) FROM comments") == "reader@example.com"
    engine = make_sync_engine(database_url)
    with engine.connect() as conn:
        indexes = {i["name"] for i in inspect(conn).get_indexes("comments")}
    engine.dispose()
    assert {"ix_comments_client_recent", "ix_comments_email_key_recent"} <= indexes
    assert not {"ix_comments_client_key", "ix_comments_email", "ix_comments_email_recent"} & indexes
    # Why the contract step waits: the previous version's rows are refused from here on.
    with pytest.raises(IntegrityError):
        _insert(database_url, "comments", _comment_row(uuid.uuid4()))
    assert drift(schema, database_url) == []


def test_code_runs_on_a_schema_a_newer_version_expanded(database_url: str) -> None:
    schema = schema_of("comments")
    schema.upgrade(database_url)
    engine = make_sync_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE {schema.version_table} SET version_num = '0099'"))
    engine.dispose()
    # An older replica restarting after the newer version migrated: no error, no change.
    assert schema.upgrade(database_url) == ("0099", "0099")
    schema.require_head(database_url)


def test_a_database_made_before_migrations_is_adopted_with_its_undelivered_events(
    database_url: str,
) -> None:
    schema = schema_of("comments")
    # What create_all built before migrations: the baseline, with the outbox called "outbox".
    schema.upgrade(database_url, "0001")
    engine = make_sync_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE {schema.version_table}"))
        conn.execute(text("DROP INDEX ix_comment_outbox_pending"))
        conn.execute(text("ALTER TABLE comment_outbox RENAME TO outbox"))
    engine.dispose()
    event_id = uuid.uuid4()
    _insert(
        database_url,
        "outbox",
        {
            "stream": "comments",
            "event_id": event_id.hex,
            "event_type": "comment.approved",
            "payload": "{}",
            "created_at": datetime.now(UTC),
        },
    )

    assert schema.upgrade(database_url, contract=True) == ("0001", schema.head)
    assert (
        _scalar(database_url, "SELECT count(*) FROM comment_outbox WHERE published_at IS NULL") == 1
    )
    assert drift(schema, database_url) == []


def test_every_service_in_one_database(database_url: str) -> None:
    for service in SERVICES:
        schema_of(service).upgrade(database_url)
    for service in SERVICES:
        schema = schema_of(service)
        assert schema.current(database_url) == schema.head
        assert drift(schema, database_url) == []


def test_replicas_starting_together_migrate_once(database_url: str) -> None:
    schema = schema_of("comments")
    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(lambda _: schema.upgrade(database_url), range(4)))
    assert outcomes.count((None, schema.head)) == 1  # one replica migrated…
    assert outcomes.count((schema.head, schema.head)) == 3  # …the others found it done


def test_a_service_refuses_a_schema_older_than_its_code(database_url: str) -> None:
    schema = schema_of("comments")
    with pytest.raises(SchemaBehind, match="newsroom migrate"):
        schema.require_head(database_url)
    schema.upgrade(database_url, "0001")
    with pytest.raises(SchemaBehind):
        schema.require_head(database_url)
    schema.upgrade(database_url)
    schema.require_head(database_url)  # at head: fine


def test_newsroom_migrate_command(database_url: str, tmp_path: Path) -> None:
    env = settings_env(database_url=database_url, data_dir=tmp_path)

    def newsroom(*args: str) -> str:
        done = newsroom_cli(env, "migrate", *args)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "comments\tempty\tbehind (head 0005)" in newsroom("--status")
    assert "comments\tempty → 0005" in newsroom()  # a new database: contract steps too
    assert "comments\t0005 → 0001" in newsroom("comments", "--revision", "0001")
    status = newsroom("--status")
    assert "ingest\t0003\tup to date" in status and "comments\t0001\tbehind" in status
    expanded = newsroom("comments")
    assert "comments\t0001 → 0004\t(contract 0005 waits for --contract)" in expanded
    assert "comments\t0004 → 0005" in newsroom("comments", "--contract")
    assert "CREATE INDEX ix_comments_client_recent" in newsroom("comments", "--sql")
