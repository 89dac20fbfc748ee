"""A backup taken under load, the data directory destroyed, a restore, a replay: every
view and comment answered ``202`` before the destruction is counted or decided exactly
once (the streams still hold them: what came after the backup replays into the restored
databases, and what came before it is not counted again)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import redis

from tests.drills.conftest import Report
from tests.drills.traffic import DRILL_ENV, Readers, Traffic, count_rows, total_views
from tests.e2e.platform import Services
from tests.support import wait_for

pytestmark = pytest.mark.drill
RUNNING = ("ingest", "views", "comments", "gateway")


def settled(client: redis.Redis, namespace: str) -> bool:
    """Every group of the restored services has read the whole stream and acknowledged it
    (by ids: Redis cannot tell a group's lag after XGROUP SETID)."""
    for stream, group in (("views", "views"), ("comments.submitted", "comments")):
        key = f"{namespace}:{stream}"
        last = client.xinfo_stream(key)["last-generated-id"]
        info = {g["name"].decode(): g for g in client.xinfo_groups(key)}
        if info[group]["last-delivered-id"] != last or info[group]["pending"]:
            return False
    return True


def test_a_backup_under_load_restores_and_replays_every_accepted_view_and_comment_once(
    tmp_path: Path, redis_url: str, namespace: str, report: Report
) -> None:
    data = tmp_path / "var"
    services = Services(
        data,
        redis_url,
        namespace,
        extra_env={
            **DRILL_ENV,
            "NEWSROOM_VIEWS_PER_MINUTE": "1000000",
            "NEWSROOM_COMMENTS_PER_MINUTE": "1000000",
        },
    )
    services.start(*RUNNING)
    client = redis.Redis.from_url(redis_url)
    copies = tmp_path / "backup"
    comments_db = data / "comments.db"
    try:
        article = services.import_seed()
        views_port = services.ports["views"]
        before = total_views(views_port, article["id"])
        readers = Readers(services.gateway, article["id"])
        with Traffic(readers):
            wait_for(lambda: readers.accepted_comments >= 10, timeout=60, what="load")
            taken = services.cli("backup", str(copies))
            assert taken.returncode == 0, taken.stderr + taken.stdout
            at_backup = (readers.accepted_views, readers.accepted_comments)
            wait_for(
                lambda: readers.accepted_comments >= at_backup[1] + 10,
                timeout=60,
                what="load after the backup",
            )
        views, comments = readers.accepted_views, readers.accepted_comments
        wait_for(
            lambda: total_views(views_port, article["id"]) == before + views,
            timeout=60,
            what="every accepted view counted",
        )

        # The bad day: every service stopped, the data directory gone.
        services.stop_all()
        shutil.rmtree(data)
        restored = services.cli("restore", str(copies))
        assert restored.returncode == 0, restored.stderr + restored.stdout
        assert "views:views: replays from" in restored.stdout
        services.start(*RUNNING)

        wait_for(
            lambda: count_rows(comments_db, "SELECT COUNT(*) FROM comments") >= comments,
            timeout=90,
            what="the comments after the backup decided again",
        )
        wait_for(lambda: settled(client, namespace), timeout=90, what="the streams replayed")
        # Counted and decided once: not less, not more (the ledger skipped what the
        # backup held; comments are keyed by their id).
        counted = total_views(views_port, article["id"]) - before
        decided = count_rows(comments_db, "SELECT COUNT(*) FROM comments")
        assert (counted, decided) == (views, comments)
    finally:
        services.stop_all()
        client.close()
    report(
        sent=views + comments,
        stored=counted + decided,
        note=f"{views - at_backup[0]} views, {comments - at_backup[1]} comments after the backup",
    )
