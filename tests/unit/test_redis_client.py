"""Our Redis client packs commands with hiredis: the same bytes as redis-py's own packer."""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio.connection import Connection

from shared.messaging.redis_client import HiredisPackedConnection, make_redis

pytestmark = pytest.mark.unit

COMMANDS: list[tuple[Any, ...]] = [
    ("PING",),
    ("XACK", "ns:views", "views", *[f"1764403200{n:03d}-{n % 3}" for n in range(500)]),
    ("EVALSHA", "a" * 40, 0, 1800000, 5400000, 3456000, "ns:views:", b'[[1,"x"]]'),
    ("SET", "مفتاح", "قيمة عربية", "PX", 1000),
    ("SET", b"\x00\xffbinary", 1.5),
    ("CLIENT SETNAME", "views-1"),  # redis-py sends some commands as one spaced argument
    (b"CLIENT SETNAME", b"views-1"),
    ("XADD", "s", "*", "__data__", "x" * 10_000),  # beyond redis-py's chunking cutoff
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: str(c[0]))
def test_packs_the_same_bytes_as_redis_py(command: tuple[Any, ...]) -> None:
    ours = b"".join(HiredisPackedConnection().pack_command(*command))
    theirs = b"".join(bytes(part) for part in Connection().pack_command(*command))
    assert ours == theirs


def test_only_plain_tcp_connections_pack_with_hiredis() -> None:
    plain = make_redis("redis://127.0.0.1:6379/0")
    tls = make_redis("rediss://127.0.0.1:6380/0")
    assert plain.connection_pool.connection_class is HiredisPackedConnection
    assert tls.connection_pool.connection_class is not HiredisPackedConnection
