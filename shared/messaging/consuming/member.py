"""Who reads: one consumer of a group on a stream, through one Redis client."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis


@dataclass(frozen=True, slots=True)
class Member:
    client: aioredis.Redis
    stream: str
    group: str
    consumer: str
