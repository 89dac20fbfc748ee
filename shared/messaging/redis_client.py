"""The Redis client every service builds its own commands with (FastStream has its own).

Commands are packed by hiredis (C) instead of redis-py's asyncio connection, which packs
in a Python loop: the views service acks a thousand entries per ``XACK``, and packing
their ids in Python cost more than the call (redis-py's synchronous client already
packs with hiredis when it is installed). The bytes on the wire are the same.
"""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlsplit

import hiredis
import redis
import redis.asyncio as aioredis
from redis.asyncio.connection import Connection


class HiredisPackedConnection(Connection):
    def pack_command(self, *args: Any) -> list[bytes]:
        # As redis-py does: "CLIENT SETNAME" and the like arrive as one argument.
        command = args[0]
        if isinstance(command, str | bytes) and len(command.split()) > 1:
            args = (*command.split(), *args[1:])
        return [hiredis.pack_command(args)]


def make_redis(url: str, *, cluster: bool = False, **options: Any) -> aioredis.Redis:
    """A client for ``url``; plain TCP connections pack with hiredis (TLS ones as usual).

    ``cluster``: a Redis Cluster client (``url`` names any node). It answers the commands
    we use as the plain client does, routing each by its key, hence typed as one.
    """
    if cluster:
        return cast(aioredis.Redis, aioredis.RedisCluster.from_url(url, **options))
    if urlsplit(url).scheme == "redis":
        options.setdefault("connection_class", HiredisPackedConnection)
    return aioredis.Redis.from_url(url, **options)


def sync_redis(url: str, *, cluster: bool = False, **options: Any) -> redis.Redis:
    """The command line's (synchronous) client, for one Redis or a cluster."""
    if cluster:
        return cast(redis.Redis, redis.RedisCluster.from_url(url, **options))
    return redis.Redis.from_url(url, **options)
