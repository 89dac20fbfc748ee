"""Dead letters: entries a consumer gave up on, moved to ``<stream>.dlq`` with the reason.

FastStream has no dead-letter stream for Redis: its nack and reject send nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis

from shared.contracts.streams import Streams
from shared.contracts.wire import DATA_FIELD


class DeadLetters:
    """Moves entries to ``<stream>.dlq`` (with the reason) and acks them, atomically."""

    def __init__(self, client: aioredis.Redis, stream: str, group: str, maxlen: int) -> None:
        self.client = client
        self.stream = stream
        self.dlq = Streams.dlq(stream)
        self.group = group
        self.maxlen = maxlen

    async def send(self, entry_id: str, reason: str, deliveries: int) -> None:
        original: Any = await self.client.xrange(self.stream, entry_id, entry_id)
        fields: dict[Any, Any] = dict(original[0][1]) if original else {}
        raw = fields.get(DATA_FIELD.encode(), fields.get(DATA_FIELD, b""))
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.xadd(
                self.dlq,
                {
                    DATA_FIELD: raw,
                    "source_stream": self.stream,
                    "source_id": entry_id,
                    "group": self.group,
                    "reason": reason[:2000],
                    "deliveries": str(deliveries),
                    "failed_at": datetime.now(UTC).isoformat(),
                },
                maxlen=self.maxlen,
                approximate=True,
            )
            pipe.xack(self.stream, self.group, entry_id)
            await pipe.execute()
