"""Another system reads our article events with only redis-py and json."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, SEED
from tests.integration.ingest_helpers import EDITOR, ingest_settings, running_ingest
from tests.support import await_for

pytestmark = pytest.mark.integration


async def test_plain_redis_consumer_prints_article_events(
    tmp_path: Path, redis_url: str, namespace: str
) -> None:
    settings = ingest_settings(
        namespace=namespace, redis_url=redis_url, database_url=f"sqlite:///{tmp_path / 'i.db'}"
    )
    async with running_ingest(settings) as (app, client):
        response = await client.post(
            "/articles/import",
            content=SEED.read_bytes(),
            headers={**EDITOR, "Content-Type": "text/plain"},
        )
        assert response.status_code == 201
        relay = app.state.parts.relay

        async def relayed() -> bool:
            return await relay.pending() == 0

        await await_for(relayed, what="outbox relayed")

    result = subprocess.run(  # noqa: ASYNC221 - the app is stopped; nothing else runs
        [
            sys.executable,
            str(REPO / "examples" / "article_consumer.py"),
            "--redis",
            redis_url,
            "--namespace",
            namespace,
            "--count",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    printed = json.loads(result.stdout.strip().splitlines()[0])
    assert printed["type"] == "article.published"
    assert (
        printed["title"]
        == "روسيا: نحافظ على اتصالات مكثفة مع سوريا ونناقش تحسين العلاقات على كافة الأصعدة"
    )
    assert printed["traceparent"].startswith("00-") and len(printed["traceparent"]) == 55
