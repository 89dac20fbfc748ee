"""A rolling upgrade with traffic: the previous version of main keeps serving while this
one migrates (expand), starts beside it on the same database and Redis, takes over,
and contracts the schema once the previous version is gone. Every view and comment
answered ``202`` by either version is counted or decided exactly once, and every
decision is announced once (both versions' outbox relays ran together).

The previous version is the commit before the newest migration (the version a
deployment of this one upgrades from), or ``NEWSROOM_UPGRADE_FROM``; it is taken out of
git into a temporary folder and run with this checkout's interpreter.
"""

from __future__ import annotations

import io
import itertools
import os
import signal
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import text

from shared.contracts.wire import decode_envelope
from shared.storage.engines import make_sync_engine
from tests.drills.conftest import Report
from tests.drills.traffic import DRILL_ENV, Readers, Traffic, total_views
from tests.e2e.platform import Services
from tests.support import wait_for

pytestmark = pytest.mark.drill
ROOT = Path(__file__).resolve().parents[2]
RUNNING = ("ingest", "views", "comments", "gateway")
ENV = {
    **DRILL_ENV,
    "NEWSROOM_VIEWS_PER_MINUTE": "1000000",
    "NEWSROOM_COMMENTS_PER_MINUTE": "1000000",
}


def _git(*args: str) -> bytes:
    return subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, check=True, timeout=60
    ).stdout


def previous_version() -> str:
    try:
        shallow = _git("rev-parse", "--is-shallow-repository").strip() == b"true"
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"not a git checkout: {exc}")
    explicit = os.environ.get("NEWSROOM_UPGRADE_FROM")
    if explicit:
        return _git("rev-parse", "--verify", f"{explicit}^{{commit}}").decode().strip()
    if shallow:
        pytest.skip("a shallow clone: no previous version (git fetch --unshallow)")
    newest = _git("log", "-1", "--format=%H", "--", "services/*/migrations/*").decode().strip()
    assert newest, "no commit added a migration"
    return _git("rev-parse", "--verify", f"{newest}^").decode().strip()


@pytest.fixture(scope="module")
def previous_source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    commit = previous_version()
    folder = tmp_path_factory.mktemp("previous")
    with tarfile.open(fileobj=io.BytesIO(_git("archive", "--format=tar", commit))) as archive:
        archive.extractall(folder, filter="data")
    yield commit, folder


def serving(readers: Readers, what: str) -> None:
    """Five more comments (and some forty views) answered 202 through ``readers``."""
    served = readers.accepted_comments
    wait_for(lambda: readers.accepted_comments >= served + 5, timeout=60, what=what)


def count(url: str, sql: str) -> int:
    engine = make_sync_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar() or 0)
    finally:
        engine.dispose()


def announced(client: redis.Redis, namespace: str) -> tuple[int, int, int]:
    """Decision events on the public ``comments`` stream: (entries, distinct events,
    distinct comments). One event may be delivered twice (at least once, the same
    ``event_id``): the previous version's relay on SQLite does not take turns."""
    events = [decode_envelope(fields)[1] for _, fields in client.xrange(f"{namespace}:comments")]
    return (
        len(events),
        len({e["event_id"] for e in events}),
        len({e["data"]["comment_id"] for e in events}),
    )


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_a_rolling_upgrade_under_traffic_loses_and_double_counts_nothing(
    engine: str,
    request: pytest.FixtureRequest,
    previous_source: tuple[str, Path],
    tmp_path: Path,
    redis_url: str,
    namespace: str,
    report: Report,
) -> None:
    commit, source = previous_source
    data = tmp_path / "var"
    env = dict(ENV)
    if engine == "postgresql":
        env["NEWSROOM_DATABASE_URL"] = request.getfixturevalue("own_pg_database").url
    comments_db = env.get("NEWSROOM_DATABASE_URL") or f"sqlite:///{data / 'comments.db'}"
    # The previous version migrates its own schema at start, as it always did; this one
    # is deployed as production deploys it: `newsroom migrate` first, services after.
    old = Services(data, redis_url, namespace, extra_env=env, source=source)
    new = Services(
        data, redis_url, namespace, extra_env={**env, "NEWSROOM_MIGRATE_ON_START": "false"}
    )
    client = redis.Redis.from_url(redis_url)
    try:
        old.start(*RUNNING)
        article = old.import_seed()
        before = total_views(old.ports["views"], article["id"])
        to_old = Readers(old.gateway, article["id"])
        # Other addresses: each request through either gateway is a reader of its own.
        to_new = Readers(new.gateway, article["id"], _addresses=itertools.count(300_000))
        old_traffic, new_traffic = Traffic(to_old), Traffic(to_new)
        try:
            old_traffic.__enter__()
            serving(to_old, "load on the old version")

            expanded = new.cli("migrate")
            assert expanded.returncode == 0, expanded.stderr + expanded.stdout
            assert "waits for --contract" in expanded.stdout, expanded.stdout
            serving(to_old, "the old version serving on the expanded schema")

            new.start(*RUNNING)  # beside the old one: same groups, same database
            new_traffic.__enter__()
            serving(to_new, "the new version serving beside the old")
            serving(to_old, "the old version serving beside the new")

            # The old version leaves: no more requests to it, then each service stops.
            old_traffic.__exit__()
            for service in RUNNING[::-1]:
                # (uvicorn re-raises the signal once it has shut down gracefully)
                stopped = old.stop(service)
                assert stopped in (0, -signal.SIGTERM), f"the old {service} ended {stopped}"

            contracted = new.cli("migrate", "--contract")
            assert contracted.returncode == 0, contracted.stderr + contracted.stdout
            assert "comments\t0004 → 0005" in contracted.stdout, contracted.stdout
            serving(to_new, "the new version serving on the contracted schema")
        finally:
            new_traffic.__exit__()
            old_traffic.__exit__()

        views = to_old.accepted_views + to_new.accepted_views
        comments = to_old.accepted_comments + to_new.accepted_comments
        views_port = new.ports["views"]
        wait_for(
            lambda: total_views(views_port, article["id"]) >= before + views,
            timeout=60,
            what="every accepted view counted",
        )
        wait_for(
            lambda: (
                count(comments_db, "SELECT COUNT(*) FROM comments") >= comments
                and announced(client, namespace)[1] >= comments
            ),
            timeout=60,
            what="every accepted comment decided and announced",
        )
        counted = total_views(views_port, article["id"]) - before
        decided = count(comments_db, "SELECT COUNT(*) FROM comments")
        entries, distinct, announced_comments = announced(client, namespace)
        unkeyed = count(comments_db, "SELECT COUNT(*) FROM comments WHERE email_key IS NULL")
    finally:
        old.stop_all()
        new.stop_all()
        client.close()
    report(
        sent=views + comments,
        stored=min(counted, views) + min(decided, comments),
        duplicated=max(counted - views, 0) + max(decided - comments, 0) + distinct - comments,
        note=f"from {commit[:7]}: {to_old.accepted_views + to_old.accepted_comments} "
        f"through the old version, {to_new.accepted_views + to_new.accepted_comments} the new; "
        f"{entries - distinct} decision entries delivered twice (same event_id)",
    )
    # Each comment decided once and announced by one event; every address folded.
    assert (counted, decided, distinct, announced_comments, unkeyed) == (
        (views, comments, comments, comments, 0)
    )
