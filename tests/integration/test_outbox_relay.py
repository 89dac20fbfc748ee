"""The outbox never loses an event: Redis down at commit time → published when it is back."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis.asyncio as aioredis

from newsroom.embedded_redis import EmbeddedRedis
from shared.contracts.wire import decode_envelope
from tests.conftest import SEED
from tests.integration.ingest_helpers import EDITOR, ingest_settings, running_ingest
from tests.support import await_for

pytestmark = pytest.mark.integration


async def test_event_committed_while_redis_is_down_is_published_when_it_returns(
    tmp_path: Path,
) -> None:
    server = EmbeddedRedis(tmp_path / "redis", appendonly=False)
    server.start()
    settings = ingest_settings(
        namespace="outbox-drill",
        redis_url=server.url,
        database_url=f"sqlite:///{tmp_path / 'ingest.db'}",
    )
    try:
        async with running_ingest(settings) as (app, client):
            relay = app.state.parts.relay
            server.kill()

            response = await client.post(
                "/articles/import",
                content=SEED.read_bytes(),
                headers={**EDITOR, "Content-Type": "text/plain"},
            )
            assert response.status_code == 201  # accepted: the article and its event are committed
            article_id = response.json()["article"]["id"]
            await await_for(lambda: _is_failing(relay), what="relay to notice Redis is down")
            assert await relay.pending() == 1

            restarted = EmbeddedRedis(tmp_path / "redis", port=server.port, appendonly=False)
            restarted.start()
            server = restarted

            async def published() -> list[dict[str, object]]:
                reader = aioredis.Redis.from_url(server.url)
                try:
                    return [
                        decode_envelope(f)[1]
                        for _i, f in await reader.xrange("outbox-drill:articles")
                    ]
                finally:
                    await reader.aclose()

            events = await await_for(published, timeout=20, what="the held event on the stream")
            assert [e["type"] for e in events] == ["article.published"]
            assert events[0]["data"]["article_id"] == article_id  # type: ignore[index]
            assert await relay.pending() == 0
    finally:
        server.stop()


async def _is_failing(relay: object) -> bool:
    return getattr(relay, "failing_since", None) is not None
