"""Writes answered 202 wait for a replica (WAIT on the writing connection), on a real
Redis Cluster: with the replica of the slot's master stopped, a view is refused (not
replicated) and nothing is acknowledged; with it back, the same view goes through."""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis
from opentelemetry import trace

from services.gateway.recorder import RateLimitedPublisher, event_store_down
from shared.contracts.events import ViewData, ViewRecorded
from shared.contracts.streams import Streams
from shared.messaging.replication import NotReplicated, Replication

pytestmark = pytest.mark.integration


@pytest.fixture
async def client(redis_cluster: Any) -> AsyncIterator[aioredis.Redis]:
    cluster = aioredis.RedisCluster.from_url(redis_cluster.url)
    await cluster.initialize()
    yield cluster  # type: ignore[misc]
    await cluster.aclose()


@pytest.fixture
def streams() -> Streams:
    return Streams(f"test-{uuid.uuid4().hex[:8]}", cluster=True)


@pytest.fixture
def stopped_replica(redis_cluster: Any, streams: Streams) -> Iterator[Any]:
    """SIGSTOP, then SIGCONT, the replica of the master that holds the namespace's slot."""
    plain = redis.RedisCluster.from_url(redis_cluster.url)
    try:
        master = plain.get_node_from_key(streams.views)
        nodes = plain.cluster_nodes()
    finally:
        plain.close()
    master_id = nodes[f"{master.host}:{master.port}"]["node_id"]
    port = next(
        int(address.split(":")[1].split("@")[0])
        for address, node in nodes.items()
        if node["master_id"] == master_id
    )
    process = redis_cluster.nodes[port]

    class Replica:
        def stop(self) -> None:
            os.kill(process.pid, signal.SIGSTOP)

        def go_on(self) -> None:
            os.kill(process.pid, signal.SIGCONT)

    stopped = Replica()
    yield stopped
    stopped.go_on()


def view() -> ViewRecorded:
    return ViewRecorded(data=ViewData(article_id=uuid.uuid4(), visitor_id="reader-0001"))


async def publish(publisher: RateLimitedPublisher, streams: Streams) -> Any:
    return await publisher.publish(
        streams.views, view(), rate_key=streams.key("ratelimit", "x"), limit=100, window_ms=60_000
    )


async def test_a_write_no_replica_confirms_is_refused(
    client: aioredis.Redis, streams: Streams, stopped_replica: Any
) -> None:
    replication = Replication(client, replicas=1, timeout_ms=200, cluster=True)
    publisher = RateLimitedPublisher(
        client, trace.get_tracer("test"), maxlen=1000, replication=replication
    )
    assert (await publish(publisher, streams)).accepted

    stopped_replica.stop()
    with pytest.raises(NotReplicated) as refused:
        await publish(publisher, streams)
    problem = event_store_down("Views cannot be recorded now", refused.value)
    assert problem.status == 503 and problem.headers == {"Retry-After": "1"}
    # The outbox relays' fence: the same answer for what FastStream's connections wrote.
    with pytest.raises(NotReplicated):
        await replication.fence(streams.key("outbox-fence"))

    stopped_replica.go_on()
    assert (await publish(publisher, streams)).accepted
    await replication.fence(streams.key("outbox-fence"))


async def test_without_waiting_one_redis_answers_as_before(
    client: aioredis.Redis, streams: Streams, stopped_replica: Any
) -> None:
    stopped_replica.stop()
    publisher = RateLimitedPublisher(
        client,
        trace.get_tracer("test"),
        maxlen=1000,
        replication=Replication(client, replicas=0, timeout_ms=200, cluster=True),
    )
    assert (await publish(publisher, streams)).accepted


async def test_one_address_is_rate_limited_over_every_partition_it_writes_to(
    client: aioredis.Redis,
) -> None:
    """A view goes to its (article, reader)'s partition, the address's counter lives in the
    address's own: on a cluster, two slots. Five articles' views from one address land in
    partitions on several slots, and the limit of three still holds over all of them."""
    streams = Streams(f"test-{uuid.uuid4().hex[:8]}", cluster=True, partitions=64)
    publisher = RateLimitedPublisher(
        client,
        trace.get_tracer("test"),
        maxlen=1000,
        replication=Replication(client, replicas=1, timeout_ms=2000, cluster=True),
    )
    address = "10.9.8.7"
    rate_key = streams.in_partition(streams.partition_of(address), "ratelimit", "views", "c")
    articles = [str(uuid.uuid4()) for _ in range(5)]
    partitions = [streams.partition_of(a, address) for a in articles]
    assert len(set(partitions)) > 1  # one reader's views of five stories spread
    answers = []
    for partition in partitions:
        answers.append(
            await publisher.publish(
                streams.in_partition(partition, "views"),
                view(),
                rate_key=rate_key,
                limit=3,
                window_ms=60_000,
            )
        )
    assert [a.accepted for a in answers] == [True, True, True, False, False]
    assert all(0 < a.retry_after_ms <= 60_000 for a in answers[3:])
    # Each partition's stream holds exactly the accepted views sent to it.
    sent: dict[int, list[str | None]] = {p: [] for p in partitions}
    for answer, partition in zip(answers[:3], partitions[:3], strict=True):
        sent[partition].append(answer.entry_id)
    for partition, entry_ids in sent.items():
        stream = streams.in_partition(partition, "views")
        assert [e[0].decode() for e in await client.xrange(stream)] == entry_ids


async def test_with_no_limit_here_the_counter_is_not_touched(client: aioredis.Redis) -> None:
    """NEWSROOM_VIEWS_PER_MINUTE=0 leaves rate limiting to the edge: every view is taken
    and the address's counter never written (on a cluster, one call a view)."""
    streams = Streams(f"test-{uuid.uuid4().hex[:8]}", cluster=True, partitions=64)
    publisher = RateLimitedPublisher(client, trace.get_tracer("test"), maxlen=1000)
    rate_key = streams.in_partition(streams.partition_of("10.9.8.6"), "ratelimit", "views", "c")
    for n in range(5):
        stream = streams.in_partition(streams.partition_of(str(n), "10.9.8.6"), "views")
        answer = await publisher.publish(
            stream, view(), rate_key=rate_key, limit=0, window_ms=60_000
        )
        assert answer.accepted and answer.entry_id
    assert not await client.exists(rate_key)
