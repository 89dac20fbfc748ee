"""The consumer group: made at the stream's start, made again when Redis lost it.

FastStream would create a group at ``$`` (skipping everything published before
the service first ran) and cannot be told ``0`` safely (its issue #2694); and it
stops a subscriber whose group vanished (NOGROUP) for good.
"""

from __future__ import annotations

import redis.asyncio as aioredis


async def ensure_group(client: aioredis.Redis, stream: str, group: str, consumer: str) -> None:
    """Create the group at the stream's start, before the broker starts reading."""
    try:
        await client.xgroup_create(stream, group, id="0", mkstream=True)
    except aioredis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise
    # Listed in XINFO CONSUMERS from the start, not only once it was given work.
    await client.xgroup_createconsumer(stream, group, consumer)
