"""Fixtures for real Redis and PostgreSQL.

Where they come from, in order: ``NEWSROOM_TEST_REDIS_URL`` /
``NEWSROOM_TEST_DATABASE_URL``; testcontainers when a Docker engine answers;
this machine's servers. Every test gets its own Redis namespace and every run
its own PostgreSQL database, removed afterwards.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import docker_available, forget_namespace, free_port  # noqa: F401  (re-exported for tests)

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "newsroom" / "demo" / "article-page.txt"


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    if url := os.environ.get("NEWSROOM_TEST_REDIS_URL"):
        yield url
        return
    if docker_available():
        from testcontainers.redis import RedisContainer

        with RedisContainer("redis:7") as container:
            host, port = container.get_container_host_ip(), container.get_exposed_port(6379)
            yield f"redis://{host}:{port}/0"
        return
    yield "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    if url := os.environ.get("NEWSROOM_TEST_DATABASE_URL"):
        yield url
        return
    if docker_available():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:15", driver=None) as container:
            yield container.get_connection_url()
        return
    yield "postgresql://postgres@127.0.0.1:5432/test"


@dataclass(frozen=True)
class PgDatabase:
    url: str
    name: str
    admin_dsn: str  # the server's maintenance database, to alter or drop this one


@contextlib.contextmanager
def fresh_pg_database(server_url: str) -> Iterator[PgDatabase]:
    """A PostgreSQL database of its own on ``server_url``, dropped afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"newsroom_test_{uuid.uuid4().hex[:12]}"
    admin = make_url(server_url).set(drivername="postgresql")
    dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PgDatabase(admin.set(database=name).render_as_string(hide_password=False), name, dsn)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_url(pg_server_url: str) -> Iterator[str]:
    """A PostgreSQL database of this test run's own."""
    with fresh_pg_database(pg_server_url) as database:
        yield database.url


@pytest.fixture
def own_pg_database(pg_server_url: str) -> Iterator[PgDatabase]:
    """A PostgreSQL database of this test's own (for tests that take it away or share it)."""
    with fresh_pg_database(pg_server_url) as database:
        yield database


@pytest.fixture(scope="module")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real Redis Cluster of this module's own (3 masters, 3 replicas, loopback ports)."""
    from newsroom.embedded_redis import EmbeddedCluster

    running = EmbeddedCluster(tmp_path_factory.mktemp("cluster"), appendonly=False)
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def namespace(redis_url: str) -> Iterator[str]:
    ns = f"test-{uuid.uuid4().hex[:10]}"
    yield ns
    forget_namespace(redis_url, ns)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'service.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def place(database_url: str, redis_url: str, namespace: str) -> dict[str, str]:
    """Where a service under test keeps its data: the test's Redis namespace and database
    (settings keyword arguments: ``IngestSettings(**place)``)."""
    return {"namespace": namespace, "redis_url": redis_url, "database_url": database_url}


@pytest.fixture
async def reset_pg_schema(database_url: str) -> AsyncIterator[None]:
    """Tables of one test do not leak into the next on the shared run database."""
    yield
    if database_url.startswith("postgresql"):
        from sqlalchemy import text

        from shared.storage.engines import make_engine

        engine = make_engine(database_url)
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await engine.dispose()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Name the artifacts (browser screenshots) so CI output says where they are."""
    artifacts = sorted((REPO / "artifacts").glob("*.png")) if (REPO / "artifacts").exists() else []
    if artifacts:
        terminalreporter.section("artifacts")
        for path in artifacts:
            terminalreporter.write_line(str(path))
