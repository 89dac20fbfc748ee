"""The public streams, fanned out to HTTP subscribers (Server-Sent Events).

One reader per gateway replica follows the public streams (plain XREAD: every replica
sees every entry) and hands each new entry to every live subscription's bounded
queue; a subscription whose queue is full is cut off (its client resumes with its
last position) and never slows the others. A subscription starts at a position:
it first reads what it missed with XRANGE, up to where the reader stood when it
subscribed, then takes its queue. Nothing is read twice or skipped in between.

A position is a cursor over all public streams, one entry id per stream in the
stream map's order (``1733100000000-0,1733100000123-5``); each event carries the
cursor just after it, so any replica resumes a client exactly.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import redis.asyncio as aioredis

from shared.contracts.streams import BY_NAME, STREAM_MAP, Streams, entry_position
from shared.contracts.wire import DATA_FIELD

log = logging.getLogger(__name__)

#: The streams other systems may read, in cursor order.
PUBLIC = tuple(spec.name for spec in STREAM_MAP if spec.public)
_ENTRY_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
START = "0-0"
CHUNK = 500


class BadCursor(ValueError):
    """Not a position this API handed out."""


@dataclass(frozen=True)
class Cursor:
    positions: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> Cursor:
        if text.strip() == "0":
            return cls.start()
        parts = tuple(p.strip() for p in text.split(","))
        if len(parts) != len(PUBLIC) or not all(_ENTRY_ID.match(p) for p in parts):
            raise BadCursor(text)
        return cls(parts)

    @classmethod
    def start(cls) -> Cursor:
        return cls((START,) * len(PUBLIC))

    def after(self, stream: int, entry_id: str) -> Cursor:
        return Cursor((*self.positions[:stream], entry_id, *self.positions[stream + 1 :]))

    def __str__(self) -> str:
        return ",".join(self.positions)


@dataclass(frozen=True)
class Event:
    stream: int
    entry_id: str
    type: str
    data: bytes


@dataclass(eq=False)
class Subscription:
    queue: asyncio.Queue[Event]
    cut_off: bool = False


class TooOld(Exception):
    """Entries after the position were trimmed from a stream."""

    def __init__(self, oldest: Cursor) -> None:
        super().__init__(str(oldest))
        self.oldest = oldest


@dataclass(eq=False)
class EventHub:
    redis: aioredis.Redis
    streams: Streams
    buffer: int = 1000
    #: Milliseconds one XREAD waits for new entries (below the client's socket timeout).
    block_ms: int = 1000
    _head: Cursor | None = None
    _subscriptions: set[Subscription] = field(default_factory=set)
    _started: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def keys(self) -> list[str]:
        return [self.streams.of(name) for name in PUBLIC]

    async def run(self) -> None:
        """Follow the public streams until cancelled (the gateway's background task)."""
        while True:
            try:
                if self._head is None:
                    self._head = await self.tail()
                    self._started.set()
                await self._read_once()
            except asyncio.CancelledError:
                raise
            except (aioredis.RedisError, OSError) as exc:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    # redis-py may turn a cancelled blocking read into a connection error:
                    # the stop was asked for, so stop (retrying kept the gateway from exiting).
                    raise asyncio.CancelledError from exc
                log.warning("event hub: Redis unavailable (%r); retrying", exc)
                await asyncio.sleep(1)

    async def _read_once(self) -> None:
        assert self._head is not None
        answer: Any = await self.redis.xread(
            dict(zip(self.keys, self._head.positions, strict=True)),
            count=CHUNK,
            block=self.block_ms,
        )
        events = []
        for key, entries in answer or ():
            stream = self.keys.index(key.decode() if isinstance(key, bytes) else key)
            for entry_id, fields in entries:
                event = self._event(stream, _text(entry_id), fields)
                self._head = self._head.after(stream, event.entry_id)
                if event.type:
                    events.append(event)
        events.sort(key=lambda e: entry_position(e.entry_id))
        for event in events:
            for subscription in list(self._subscriptions):
                try:
                    subscription.queue.put_nowait(event)
                except asyncio.QueueFull:
                    subscription.cut_off = True
                    self._subscriptions.discard(subscription)

    async def tail(self) -> Cursor:
        """The cursor at the newest entry of every public stream."""
        positions = []
        for key in self.keys:
            newest: Any = await self.redis.xrevrange(key, count=1)
            positions.append(_text(newest[0][0]) if newest else START)
        return Cursor(tuple(positions))

    async def oldest(self) -> Cursor:
        """The cursor just before the oldest entry each stream still holds."""
        positions = []
        for key in self.keys:
            first: Any = await self.redis.xrange(key, count=1)
            positions.append(_before(_text(first[0][0])) if first else START)
        return Cursor(tuple(positions))

    async def check(self, cursor: Cursor) -> None:
        """TooOld when a stream was trimmed and ``cursor`` is before what it still holds.

        Redis does not say which ids a trim removed, so a client exactly at the last
        trimmed entry is told so too; resuming from the ``oldest`` it is given, it
        loses nothing and gets nothing twice."""
        for key, position in zip(self.keys, cursor.positions, strict=True):
            if position == START:
                continue  # "from what is held": never too old
            try:
                info: Any = await self.redis.xinfo_stream(key)
            except aioredis.ResponseError:
                continue  # no such stream yet
            first = info.get("recorded-first-entry-id") or (info.get("first-entry") or [None])[0]
            trimmed = int(info.get("entries-added") or 0) > int(info.get("length") or 0)
            if (
                trimmed
                and first
                and entry_position(position) < entry_position(_before(_text(first)))
            ):
                raise TooOld(await self.oldest())

    async def follow(
        self, cursor: Cursor | None, heartbeat: float
    ) -> AsyncIterator[tuple[Event, Cursor] | None]:
        """What the client missed since ``cursor`` (None: from now), then each new event,
        each with the client's cursor after it; None when ``heartbeat`` seconds passed
        without one. Ends when the client is cut off for falling a buffer behind."""
        await asyncio.wait_for(self._started.wait(), timeout=10)
        assert self._head is not None
        head = self._head
        subscription = Subscription(asyncio.Queue(self.buffer))
        self._subscriptions.add(subscription)
        try:
            position = cursor or head
            async for event in self._history(position, head):
                position = position.after(event.stream, event.entry_id)
                yield event, position
            while not subscription.cut_off:
                try:
                    event = await asyncio.wait_for(subscription.queue.get(), heartbeat)
                except TimeoutError:
                    yield None
                    continue
                # A client may come from a replica whose reader was ahead of this one's.
                if entry_position(event.entry_id) <= entry_position(
                    position.positions[event.stream]
                ):
                    continue
                position = position.after(event.stream, event.entry_id)
                yield event, position
        finally:
            self._subscriptions.discard(subscription)

    async def _history(self, cursor: Cursor, head: Cursor) -> AsyncIterator[Event]:
        """Entries after ``cursor`` up to ``head``, in id order across the streams."""
        read = list(cursor.positions)
        pending: list[list[tuple[str, Any]]] = [[] for _ in PUBLIC]
        done = [
            entry_position(p) >= entry_position(h)
            for p, h in zip(read, head.positions, strict=True)
        ]
        while True:
            for n, key in enumerate(self.keys):
                if pending[n] or done[n]:
                    continue
                rows: Any = await self.redis.xrange(
                    key, min=f"({read[n]}", max=head.positions[n], count=CHUNK
                )
                pending[n] = [(_text(entry_id), fields) for entry_id, fields in rows]
                if pending[n]:
                    read[n] = pending[n][-1][0]
                done[n] = len(rows) < CHUNK or entry_position(read[n]) >= entry_position(
                    head.positions[n]
                )
            waiting = [n for n in range(len(PUBLIC)) if pending[n]]
            if not waiting:
                return
            n = min(waiting, key=lambda n: entry_position(pending[n][0][0]))
            entry_id, fields = pending[n].pop(0)
            event = self._event(n, entry_id, fields)
            if event.type:
                yield event

    @staticmethod
    def _event(stream: int, entry_id: str, fields: Any) -> Event:
        """An entry as an event; ``type`` empty when the entry is not our envelope."""
        raw = fields.get(DATA_FIELD.encode()) or fields.get(DATA_FIELD)
        try:
            data = orjson.loads(raw)["data"]
            kind = str(data["type"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return Event(stream, entry_id, "", b"")
        return Event(stream, entry_id, kind, orjson.dumps(data))


def _before(entry_id: str) -> str:
    ms, seq = entry_position(entry_id)
    return f"{ms}-{seq - 1}" if seq else f"{max(ms - 1, 0)}-{2**64 - 1}"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else value


def types_of(streams: Sequence[str]) -> list[str]:
    """The event types the given public streams carry."""
    return [
        str(event.model_fields["type"].default)
        for name in streams
        for event in BY_NAME[name].events
    ]
