"""Dead-letter streams: look at what consumers gave up on, and send it back once fixed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis

from shared.contracts.streams import STREAM_MAP, Streams
from shared.contracts.wire import DATA_FIELD

# Every stream of the map that a consumer group reads can hold dead letters.
STREAMS = tuple(spec.name for spec in STREAM_MAP if spec.groups)


@dataclass(frozen=True)
class DeadLetter:
    entry_id: str
    source_id: str
    group: str
    reason: str
    deliveries: str
    failed_at: str
    data: bytes
    #: The stream it failed on (a partition's, for a partitioned one): where it goes back.
    stream: str = ""


def _text(fields: dict[bytes, bytes], key: str) -> str:
    return fields.get(key.encode(), b"").decode(errors="replace")


def sizes(client: redis.Redis, streams: Streams) -> dict[str, int]:
    """Dead letters per stream of the map (a partitioned one's summed over its partitions)."""
    return {
        name: sum(int(client.xlen(Streams.dlq(key))) for key in streams.physical(name))
        for name in STREAMS
    }


def show(client: redis.Redis, streams: Streams, name: str, count: int = 20) -> list[DeadLetter]:
    letters: list[DeadLetter] = []
    for key in streams.physical(name):
        entries: Any = client.xrange(Streams.dlq(key), count=count - len(letters))
        letters += [
            DeadLetter(
                entry_id=entry_id.decode(),
                source_id=_text(fields, "source_id"),
                group=_text(fields, "group"),
                reason=_text(fields, "reason"),
                deliveries=_text(fields, "deliveries"),
                failed_at=_text(fields, "failed_at"),
                data=fields.get(DATA_FIELD.encode(), b""),
                stream=key,
            )
            for entry_id, fields in entries
        ]
        if len(letters) >= count:
            break
    return letters


def redrive(
    client: redis.Redis, streams: Streams, name: str, entry_ids: list[str] | None = None
) -> int:
    """Put dead letters back on their stream (their partition) as new entries (all, or
    the given ones). One transaction each: the stream and its dead letters share a slot."""
    letters = show(client, streams, name, count=10_000)
    if entry_ids is not None:
        letters = [letter for letter in letters if letter.entry_id in set(entry_ids)]
    for letter in letters:
        pipe = client.pipeline(transaction=True)
        pipe.xadd(letter.stream, {DATA_FIELD: letter.data})
        pipe.xdel(Streams.dlq(letter.stream), letter.entry_id)
        pipe.execute()
    return len(letters)
