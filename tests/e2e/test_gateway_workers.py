"""The container's command, ``python -m services.gateway``, as one worker per core: the
workers share the port, every worker's cache follows an edit, the metrics port sums every
worker's requests, a killed worker is replaced and SIGTERM stops them all."""

from __future__ import annotations

import os
import re
import signal

import httpx
import pytest

from tests.e2e.platform import Services
from tests.support import free_port, wait_for

pytestmark = pytest.mark.e2e

WORKERS = 2


@pytest.fixture
def services(services: Services) -> Services:
    gateway = {"NEWSROOM_GATEWAY_WORKERS": str(WORKERS), "NEWSROOM_METRICS_PORT": str(free_port())}
    services.service_env["gateway"] = gateway
    services.start("ingest", "gateway")
    return services


def instances(gateway: str, asks: int = 20) -> set[str]:
    """The workers that answered ``asks`` requests, each on a new connection."""
    return {httpx.get(f"{gateway}/healthz").json()["instance"] for _ in range(asks)}


def pid_of(instance: str) -> int:
    return int(instance.rsplit("-", 1)[1])


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def requests_counted(metrics: str, route: str) -> float:
    pattern = rf'^newsroom_http_requests_total{{[^}}]*route="{re.escape(route)}"[^}}]*}} (\S+)$'
    return sum(float(m.group(1)) for m in re.finditer(pattern, metrics, re.M))


def test_workers_share_the_port_caches_and_metrics(services: Services) -> None:
    gateway = services.gateway
    seen: set[str] = set()

    def every_worker_answered() -> bool:
        seen.update(instances(gateway))
        return len(seen) >= WORKERS

    wait_for(every_worker_answered, timeout=30, what=f"{WORKERS} workers on the one port")
    assert len(seen) == WORKERS

    # An edit shows in every worker's cache (each follows the articles stream itself).
    article = services.import_seed()
    url = f"{gateway}/api/v1/articles/{article['id']}"
    editor = {"Authorization": f"Bearer {services.editor_token}"}
    etag = httpx.get(f"{gateway}/api/v1/editor/articles/{article['id']}", headers=editor).headers[
        "etag"
    ]
    for _ in range(10):  # every worker has the article cached before the edit
        assert httpx.get(url).status_code == 200
    edited = httpx.patch(
        f"{gateway}/api/v1/articles/{article['id']}",
        json={"title": "عنوان بعد التعديل"},
        headers={**editor, "If-Match": etag},
    )
    assert edited.status_code == 200, edited.text
    wait_for(
        lambda: all(
            httpx.get(url).json()["article"]["title"] == "عنوان بعد التعديل" for _ in range(20)
        ),
        timeout=15,
        what="the new title from every worker",
    )

    # One scrape counts every worker's requests.
    metrics_url = f"http://127.0.0.1:{services.service_env['gateway']['NEWSROOM_METRICS_PORT']}"
    for _ in range(30):
        assert httpx.get(f"{gateway}/robots.txt").status_code == 200
    assert requests_counted(httpx.get(f"{metrics_url}/metrics").text, "/robots.txt") == 30

    # A worker killed is replaced; the port answers throughout.
    victim = pid_of(sorted(seen)[0])
    os.kill(victim, signal.SIGKILL)
    wait_for(
        lambda: (
            httpx.get(url).status_code == 200
            and len(now := instances(gateway)) == WORKERS
            and victim not in {pid_of(i) for i in now}
        ),
        timeout=30,
        what="a new worker in the killed one's place",
    )

    # SIGTERM to the parent stops every worker.
    workers = {pid_of(i) for i in instances(gateway, 40)}
    assert services.stop("gateway") == 0
    wait_for(
        lambda: not any(alive(pid) for pid in workers),
        timeout=15,
        what="every worker stopped",
    )
