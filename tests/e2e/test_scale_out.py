"""``newsroom up --scale``: replicas as processes, consumers sharing their groups,
gateway replicas sharing the one public port."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import redis

from tests.support import wait_for

pytestmark = pytest.mark.e2e

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def test_scaled_platform_shares_groups_and_the_gateway_port(
    platform_factory: Any, redis_url: str
) -> None:
    platform = platform_factory(
        "--scale", "views=3", "--scale", "comments=2", "--scale", "gateway=2"
    )
    gw = platform.gateway
    client = redis.Redis.from_url(redis_url)
    ns = platform.namespace

    def consumers(stream: str, group: str) -> int:
        return len(client.xinfo_consumers(f"{ns}:{stream}", group))

    wait_for(
        lambda: (
            consumers("views", "views") == 3 and consumers("comments.submitted", "comments") == 2
        ),
        timeout=30,
        what="3 views and 2 comments consumers in their groups",
    )
    # New connections to the one port reach both gateway replicas.
    instances = {httpx.get(f"{gw}/healthz").json()["instance"] for _ in range(60)}
    assert len(instances) == 2

    article = httpx.get(f"{gw}/api/v1/articles").json()["items"][0]
    url = f"{gw}/api/v1/articles/{article['id']}"
    for n in range(30):  # each from its own reader, over fresh connections to both replicas
        headers = {"X-Forwarded-For": f"198.18.0.{n + 1}", "User-Agent": FIREFOX}
        assert httpx.post(f"{url}/views", headers=headers).status_code == 202
    wait_for(
        lambda: httpx.get(url).json()["views"]["total"] == 1085 + 30,
        timeout=30,
        what="every view counted once by the three replicas",
    )
