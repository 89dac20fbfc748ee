"""A backup taken under load, the data directory destroyed, a restore, a replay: every
view and comment answered ``202`` before the destruction is counted or decided exactly
once (the streams still hold them: what came after the backup replays into the restored
databases, and what came before it is not counted again)."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import httpx
import pytest
import redis

from tests.drills.conftest import Report
from tests.e2e.platform import Services
from tests.support import post_comment, wait_for

pytestmark = pytest.mark.drill
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
RUNNING = ("ingest", "views", "comments", "gateway")


class Load:
    """Readers viewing and commenting from their own addresses until stopped."""

    def __init__(self, gateway: str, article_id: str) -> None:
        self.gateway, self.article_id = gateway, article_id
        self.views: int = 0
        self.comments: list[str] = []
        self.stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._view, daemon=True),
            threading.Thread(target=self._comment, daemon=True),
        ]

    def start(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def end(self) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(60)

    def _view(self) -> None:
        with httpx.Client(timeout=10) as client:
            n = 0
            while not self.stop.is_set():
                n += 1
                address = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
                answer = client.post(
                    f"{self.gateway}/api/v1/articles/{self.article_id}/views",
                    headers={"User-Agent": FIREFOX, "X-Forwarded-For": address},
                )
                if answer.status_code == 202 and answer.json()["counted"]:
                    self.views += 1

    def _comment(self) -> None:
        with httpx.Client(timeout=10) as client:
            n = 0
            while not self.stop.is_set():
                n += 1
                answer = post_comment(
                    self.gateway,
                    self.article_id,
                    f"تعليق رقم {n} على الخبر",
                    name=f"قارئ {n}",
                    email=f"reader{n}@example.com",
                    headers={"User-Agent": FIREFOX, "X-Forwarded-For": f"10.200.0.{n % 250}"},
                    client=client,
                )
                if answer.status_code == 202:
                    self.comments.append(answer.json()["id"])


def views_total(services: Services, article_id: str) -> int:
    url = f"http://127.0.0.1:{services.ports['views']}/counts/{article_id}"
    return int(httpx.get(url, timeout=10).json()["total"])


def decided(services: Services, ids: list[str]) -> int:
    base = f"http://127.0.0.1:{services.ports['comments']}"
    with httpx.Client(timeout=10) as client:
        return sum(client.get(f"{base}/comments/{i}").status_code == 200 for i in ids)


def settled(client: redis.Redis, namespace: str) -> bool:
    """Every group of the restored services has read and acknowledged everything."""
    for stream, group in (("views", "views"), ("comments.submitted", "comments")):
        info = {g["name"].decode(): g for g in client.xinfo_groups(f"{namespace}:{stream}")}
        if info[group]["lag"] or info[group]["pending"]:
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
            "NEWSROOM_VIEWS_PER_MINUTE": "1000000",
            "NEWSROOM_COMMENTS_PER_MINUTE": "1000000",
            "NEWSROOM_READERS_PER_ADDRESS": "0",
            "NEWSROOM_MIN_SUBMIT_SECONDS": "0",
        },
    )
    services.start(*RUNNING)
    client = redis.Redis.from_url(redis_url)
    copies = tmp_path / "backup"
    try:
        article = services.import_seed()
        article_id = str(article["id"])
        before = views_total(services, article_id)
        load = Load(services.gateway, article_id).start()
        wait_for(lambda: load.views >= 200 and len(load.comments) >= 10, timeout=60, what="load")
        taken = services.cli("backup", str(copies))
        assert taken.returncode == 0, taken.stderr + taken.stdout
        at_backup = (load.views, len(load.comments))
        wait_for(
            lambda: load.views >= at_backup[0] + 200 and len(load.comments) >= at_backup[1] + 10,
            timeout=60,
            what="load after the backup",
        )
        load.end()
        views, comments = load.views, list(load.comments)
        wait_for(
            lambda: views_total(services, article_id) == before + views,
            timeout=60,
            what="every accepted view counted",
        )
        wait_for(lambda: decided(services, comments) == len(comments), timeout=60, what="decided")

        # The bad day: every service stopped, the data directory gone.
        services.stop_all()
        shutil.rmtree(data)
        restored = services.cli("restore", str(copies))
        assert restored.returncode == 0, restored.stderr + restored.stdout
        assert "views:views: replays from" in restored.stdout
        services.start(*RUNNING)

        wait_for(
            lambda: views_total(services, article_id) >= before + views,
            timeout=90,
            what="the views after the backup replayed",
        )
        wait_for(lambda: decided(services, comments) == len(comments), timeout=90, what="replayed")
        wait_for(lambda: settled(client, namespace), timeout=60, what="groups caught up")
        # Counted once: not less, not more (the ledger skipped what the backup held).
        counted = views_total(services, article_id) - before
        assert counted == views
        stored = counted + decided(services, comments)
    finally:
        services.stop_all()
        client.close()
    report(
        sent=views + len(comments),
        stored=stored,
        note=f"{views - at_backup[0]}+ views, {len(comments) - at_backup[1]}+ comments replayed",
    )
