"""Scheduled publication survives a crash: ingest SIGKILLed after it accepted a scheduled
article and before the article's time publishes it once, on time, after the restart."""

from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.e2e.platform import Services
from tests.support import wait_for

pytestmark = pytest.mark.drill


def _published(services: Services, article_id: str) -> list[dict[str, object]]:
    return [e for e in services.article_events(article_id) if e["type"] == "article.published"]


def test_a_scheduled_article_is_published_once_after_ingest_was_killed(
    fresh_services: Services, report: object
) -> None:
    services = fresh_services
    services.extra_env["NEWSROOM_SCHEDULE_POLL_SECONDS"] = "0.2"
    services.start("ingest", "gateway")
    api = f"{services.gateway}/api/v1"
    at = datetime.now(UTC) + timedelta(seconds=12)
    accepted = httpx.post(
        f"{api}/articles",
        json={
            "title": "خبر مجدول",
            "body": "نص.",
            "slug": "at-twelve",
            "publish_at": at.isoformat(),
        },
        headers={"Authorization": f"Bearer {services.editor_token}"},
    )
    assert accepted.status_code == 201 and accepted.json()["article"]["status"] == "scheduled"
    article_id = accepted.json()["article"]["id"]
    services.stop("ingest", signal.SIGKILL)
    assert datetime.now(UTC) < at, "the drill needs ingest down before the article's time"
    # Back, and with a second replica on the same database: both look for due articles.
    second = Services(
        services.data_dir, services.redis_url, services.namespace, extra_env=services.extra_env
    )
    second.ports = {**services.ports, "ingest": second.ports["ingest"]}
    services.start("ingest")
    second.start("ingest")
    try:
        assert datetime.now(UTC) < at, "both replicas must be up before the article's time"
        wait_for(lambda: httpx.get(f"{api}/articles/at-twelve").status_code == 200, timeout=30)
        published_at = datetime.now(UTC)
        assert published_at >= at
        wait_for(lambda: _published(services, article_id), what="the event")
        events = _published(services, article_id)
    finally:
        second.stop_all()
    report(  # type: ignore[operator]
        sent=1,
        stored=len(events[:1]),
        duplicated=len(events) - 1,
        note=f"2 replicas; published {(published_at - at).total_seconds():.1f} s after its time",
    )
