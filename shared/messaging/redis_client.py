"""The Redis client every service builds its own commands with (FastStream has its own).

Commands are packed by hiredis (C) instead of redis-py's asyncio connection, which packs
in a Python loop: the views service acks a thousand entries per ``XACK``, and packing
their ids in Python cost more than the call (redis-py's synchronous client already
packs with hiredis when it is installed). The bytes on the wire are the same.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import hiredis
import redis.asyncio as aioredis
from redis.asyncio.connection import Connection


class HiredisPackedConnection(Connection):
    def pack_command(self, *args: Any) -> list[bytes]:
        # As redis-py does: "CLIENT SETNAME" and the like arrive as one argument.
        command = args[0]
        if isinstance(command, str | bytes) and len(command.split()) > 1:
            args = (*command.split(), *args[1:])
        return [hiredis.pack_command(args)]


def make_redis(url: str, **options: Any) -> aioredis.Redis:
    """A client for ``url``; plain TCP connections pack with hiredis (TLS ones as usual)."""
    if urlsplit(url).scheme == "redis":
        options.setdefault("connection_class", HiredisPackedConnection)
    return aioredis.Redis.from_url(url, **options)
