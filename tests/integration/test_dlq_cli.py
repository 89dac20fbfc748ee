"""`newsroom dlq`: list, show and re-drive dead letters with a real Redis."""

from __future__ import annotations

import pytest
import redis

from shared.contracts.wire import DATA_FIELD
from shared.settings import settings_env
from tests.support import newsroom_cli

pytestmark = pytest.mark.integration


def cli(redis_url: str, namespace: str, *args: str) -> str:
    env = settings_env(redis_url=redis_url, namespace=namespace)
    result = newsroom_cli(env, "dlq", *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_list_show_and_redrive(redis_url: str, namespace: str) -> None:
    client = redis.Redis.from_url(redis_url)
    dlq = f"{namespace}:views.dlq"
    first = client.xadd(
        dlq,
        {
            DATA_FIELD: b'{"broken": 1}',
            "source_id": "1-0",
            "group": "views",
            "reason": "invalid entry: x",
            "deliveries": "1",
            "failed_at": "now",
        },
    )
    client.xadd(
        dlq,
        {
            DATA_FIELD: b"second",
            "source_id": "2-0",
            "group": "views",
            "reason": "failed 5 times",
            "deliveries": "5",
            "failed_at": "now",
        },
    )

    assert f"{namespace}:views.dlq\t2" in cli(redis_url, namespace, "list")
    shown = cli(redis_url, namespace, "show", "views")
    assert "invalid entry: x" in shown and "failed 5 times" in shown and '{"broken": 1}' in shown

    assert "1 re-driven" in cli(redis_url, namespace, "redrive", "views", "--id", first.decode())
    assert client.xlen(dlq) == 1
    assert [f[DATA_FIELD.encode()] for _i, f in client.xrange(f"{namespace}:views")] == [
        b'{"broken": 1}'
    ]
    assert "1 re-driven" in cli(redis_url, namespace, "redrive", "views")
    assert client.xlen(dlq) == 0
