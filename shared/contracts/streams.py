"""The stream map: every stream of the platform, in one table.

Each row names a stream's events, its producer, the consumer groups that
read it (a group is named after the service that owns it), the services
that follow it without a group (every replica reads every entry: caches),
whether other systems may read it, and its dead-letter stream. Consumers,
``newsroom dlq``, the AsyncAPI document, the metrics and the autoscaling
manifests are derived from it or checked against it (tests/unit/test_stream_map.py).
Adding a stream means adding a row here.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from typing import Annotated, Any, Union

from pydantic import BaseModel, Field
from redis.crc import key_slot

from shared.contracts.events import (
    ArticleDeleted,
    ArticlePublished,
    ArticleUnpublished,
    ArticleUpdated,
    CommentApproved,
    CommentHeld,
    CommentRejected,
    CommentRemoved,
    CommentSubmitted,
    ViewRecorded,
)


@dataclass(frozen=True, slots=True)
class StreamSpec:
    name: str
    description: str
    events: tuple[type[BaseModel], ...]
    producer: str
    groups: tuple[str, ...] = ()
    followers: tuple[str, ...] = ()
    public: bool = False
    #: Entries of lag per replica before KEDA adds one (about a second of work).
    lag_per_replica: int | None = None
    #: Split into the deployment's partitions (``Streams.partitions``), each a stream of
    #: its own in a slot of its own; the others stay single ordered streams.
    partitioned: bool = False

    @property
    def dlq(self) -> str:
        return f"{self.name}.dlq"

    @property
    def event_type(self) -> Any:
        """What one entry's ``data`` validates as: the event, or a union by ``type``."""
        if len(self.events) == 1:
            return self.events[0]
        return Annotated[Union[self.events], Field(discriminator="type")]  # noqa: UP007


STREAM_MAP: tuple[StreamSpec, ...] = (
    StreamSpec(
        "articles",
        "Article lifecycle, published by ingest (via its outbox).",
        (ArticlePublished, ArticleUpdated, ArticleUnpublished, ArticleDeleted),
        producer="ingest",
        groups=("views", "comments", "search", "webhooks"),
        followers=("gateway",),
        public=True,
    ),
    StreamSpec(
        "views",
        "One entry per view a reader's browser reported (bots left out).",
        (ViewRecorded,),
        producer="gateway",
        groups=("views",),
        lag_per_replica=20_000,
        partitioned=True,
    ),
    StreamSpec(
        "comments.submitted",
        "Comments as readers sent them, before any decision (holds personal data).",
        (CommentSubmitted,),
        producer="gateway",
        groups=("comments",),
        lag_per_replica=2_000,
    ),
    StreamSpec(
        "comments",
        "Moderation decisions, published by comments (via its outbox): no email, no client data.",
        (CommentApproved, CommentHeld, CommentRejected, CommentRemoved),
        producer="comments",
        groups=("webhooks",),
        followers=("gateway",),
        public=True,
    ),
)
BY_NAME: dict[str, StreamSpec] = {spec.name: spec for spec in STREAM_MAP}


def stream(name: str) -> StreamSpec:
    return BY_NAME[name]


def entry_position(entry_id: str) -> tuple[int, int]:
    """A stream entry id as a sortable pair: ``1733100000000-5`` -> ``(1733100000000, 5)``."""
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def read_by(group: str) -> tuple[str, ...]:
    """The streams a consumer group reads."""
    return tuple(spec.name for spec in STREAM_MAP if group in spec.groups)


def consumer_groups() -> list[tuple[str, str]]:
    """Every (stream, group) pair of the platform."""
    return [(spec.name, group) for spec in STREAM_MAP for group in spec.groups]


SLOTS = 16_384  # Redis Cluster's hash slots


@functools.cache
def partition_tags(namespace: str, partitions: int) -> tuple[str, ...]:
    """A hash tag per partition, each in its own equal band of the slots: the partitions
    spread over the masters as evenly as the masters split the slots (a CRC16 of plain
    numbered names would leave one master a quarter more than another)."""
    band = SLOTS / partitions
    tags = []
    for p in range(partitions):
        n = 0
        while int(key_slot(f"{namespace}.v{p}.{n}".encode()) // band) != p:
            n += 1
        tags.append(f"{namespace}.v{p}.{n}")
    return tuple(tags)


@dataclass(frozen=True, slots=True)
class Streams:
    """Fully qualified stream and key names under one namespace."""

    namespace: str
    #: On a Redis Cluster every key of the namespace carries its hash tag (``{newsroom}:…``):
    #: whatever one script, transaction or multi-stream read touches shares one slot.
    cluster: bool = False
    #: Partitions of the partitioned streams (``views``): 1 keeps them single streams.
    partitions: int = 1

    def key(self, *parts: str) -> str:
        return ":".join((f"{{{self.namespace}}}" if self.cluster else self.namespace, *parts))

    def of(self, spec: StreamSpec | str) -> str:
        return self.key(spec if isinstance(spec, str) else spec.name)

    def in_partition(self, partition: int, *parts: str) -> str:
        """A key of one partition: its stream and what the scripts on it touch share its
        slot. With one partition, the namespace's key."""
        if self.partitions == 1:
            return self.key(*parts)
        if self.cluster:
            tag = partition_tags(self.namespace, self.partitions)[partition]
            return ":".join((f"{{{tag}}}", *parts))
        return ":".join((self.namespace, f"p{partition}", *parts))

    def partition_of(self, *parts: str) -> int:
        """The partition of what ``parts`` name: a view's is its (article, reader address),
        an address's own keys' (its rate limit) the address's. Stable across days and
        replicas, unlike the salted visitor ids."""
        if self.partitions == 1:
            return 0
        name = "\x00".join(parts).encode()
        digest = hashlib.blake2b(name, digest_size=8, key=b"partition").digest()
        return int.from_bytes(digest, "big") % self.partitions

    def physical(self, spec: StreamSpec | str) -> list[str]:
        """Every stream key of ``spec``: its partitions' when it is partitioned."""
        spec = BY_NAME[spec] if isinstance(spec, str) else spec
        if not spec.partitioned or self.partitions == 1:
            return [self.of(spec)]
        return [self.in_partition(p, spec.name) for p in range(self.partitions)]

    @property
    def articles(self) -> str:
        return self.of("articles")

    @property
    def views(self) -> str:
        return self.of("views")

    @property
    def comments_submitted(self) -> str:
        return self.of("comments.submitted")

    @property
    def comments(self) -> str:
        return self.of("comments")

    @staticmethod
    def dlq(stream: str) -> str:
        return f"{stream}.dlq"
