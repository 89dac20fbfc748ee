"""Writes that a replica holds before they are acknowledged (Redis ``WAIT``).

Redis replicates asynchronously: an entry written to a master that dies before its
replica has it is gone, after its writer was told ``202``. ``WAIT n ms`` blocks until
``n`` replicas have every write the connection made, or the time is up. Where a ``202``
follows a write, the write and its ``WAIT`` go on one connection (one pipeline); the
outbox relays, whose writes go through FastStream's connections, write a fence key on
ours and wait for it: a master replicates in order, so a replica that has the fence has
every write made before it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ClusterDownError, RedisClusterException, TryAgainError

#: What a Redis or a cluster answers while it cannot take writes (a master down, a
#: failover under way): the caller refuses the request (503), never accepts it.
UNAVAILABLE: tuple[type[Exception], ...] = (
    aioredis.ConnectionError,
    aioredis.TimeoutError,
    ClusterDownError,
    TryAgainError,
    RedisClusterException,
)


class NotReplicated(Exception):
    """The write reached the master but no replica confirmed it in time."""

    def __init__(self, acked: int, wanted: int) -> None:
        super().__init__(f"{acked} of {wanted} replicas confirmed the write in time")
        self.acked, self.wanted = acked, wanted


@dataclass(frozen=True)
class Replication:
    client: aioredis.Redis
    #: Replicas that must confirm; 0: no waiting (one Redis without replicas).
    replicas: int
    timeout_ms: int
    cluster: bool = False

    def add_wait(self, pipe: Any, key: str) -> None:
        """Queue ``WAIT`` on ``pipe``, sent to the master that holds ``key``."""
        route = {"target_nodes": self.client.get_node_from_key(key)} if self.cluster else {}  # type: ignore[attr-defined]
        pipe.execute_command("WAIT", self.replicas, self.timeout_ms, **route)

    async def refresh(self) -> None:
        """After a failed write on a cluster: learn the slots' masters again (a replica
        may have been promoted), since a ``WAIT`` is sent to a node named beforehand."""
        if self.cluster:
            with contextlib.suppress(*UNAVAILABLE):
                await self.client.nodes_manager.initialize()  # type: ignore[attr-defined]

    def check(self, acked: Any) -> None:
        if int(acked) < self.replicas:
            raise NotReplicated(int(acked), self.replicas)

    async def execute(self, pipe: Any) -> list[Any]:
        """Run ``pipe`` (its writes and their ``WAIT``); the first error of any command is
        raised, and one of an unreachable node makes the client learn the slots again."""
        try:
            answers: list[Any] = await pipe.execute(raise_on_error=False)
        except UNAVAILABLE:
            await self.refresh()
            raise
        for answer in answers:
            if isinstance(answer, Exception):
                if isinstance(answer, UNAVAILABLE):
                    await self.refresh()
                raise answer
        return answers

    async def fence(self, key: str) -> None:
        """Return once ``replicas`` replicas hold every write made so far to the master of
        ``key`` (which must share its slot); raise :class:`NotReplicated` otherwise."""
        if not self.replicas:
            return
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.incr(key)
            self.add_wait(pipe, key)
            _, acked = await self.execute(pipe)
        self.check(acked)


#: What makes a write that must be answered 202 refused instead (503).
REFUSED: tuple[type[Exception], ...] = (*UNAVAILABLE, NotReplicated)
