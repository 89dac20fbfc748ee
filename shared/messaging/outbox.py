"""The transactional outbox: an event is written with the change it announces,
then relayed to Redis; every committed event reaches its stream, eventually.

Each service that publishes events declares ``class self._model(OutboxColumns,
Base)`` on its own metadata and runs an :class:`OutboxRelay`.

Events are read in commit order, published, then marked published. If Redis
is down the rows stay and the relay retries with backoff; an event may be
published twice after a crash between XADD and the mark (at-least-once;
consumers deduplicate by ``event_id``). Replicas relaying from one database take
turns: row locks on PostgreSQL, a lock file beside a SQLite database.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO, Any

import redis.asyncio as aioredis
from faststream.redis import RedisBroker
from opentelemetry import context
from opentelemetry.propagate import extract, inject
from sqlalchemy import JSON, Index, String, Uuid, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from shared.contracts.events import Event
from shared.contracts.streams import Streams
from shared.messaging.replication import Replication
from shared.storage.engines import BIG_ID, UtcDateTime, sqlite_file

log = logging.getLogger(__name__)


class OutboxColumns:
    """Columns of a service's ``outbox`` table (mix into a model on the service's Base)."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    #: Logical stream name (e.g. ``articles``); the relay adds the namespace.
    stream: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: The W3C trace context of the request or message that caused the event.
    traceparent: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        # Named after the table: services sharing one database keep apart.
        return (Index(f"ix_{cls.__tablename__}_pending", "published_at", "id"),)


def outbox_row(event: Event, stream: str) -> dict[str, Any]:
    """The outbox row for ``event``, carrying the current trace (for bulk inserts)."""
    carrier: dict[str, str] = {}
    inject(carrier)  # the current request's trace continues through the relay
    return {
        "stream": stream,
        "event_id": event.event_id,
        "event_type": event.type,  # type: ignore[attr-defined]
        "payload": event.model_dump(mode="json"),
        "traceparent": carrier.get("traceparent"),
        "created_at": event.occurred_at,
    }


def add_to_outbox(
    session: AsyncSession, model: type[OutboxColumns], event: Event, stream: str
) -> None:
    """Stage ``event`` for ``stream`` in the caller's transaction, with the current trace."""
    session.add(model(**outbox_row(event, stream)))


def create_outbox_table(op: Any, table: str) -> None:
    """Version 1 of an outbox table, for migrations (a later change gets a function of its own)."""
    import sqlalchemy as sa

    op.create_table(
        table,
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("stream", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("traceparent", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
    )
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(f"ix_{table}_pending", ["published_at", "id"], unique=False)


def drop_outbox_table(op: Any, table: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_index(f"ix_{table}_pending")
    op.drop_table(table)


class OutboxRelay:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        model: type[OutboxColumns],
        broker: RedisBroker,
        streams: Streams,
        *,
        maxlen: int,
        batch_size: int = 200,
        poll_interval: float = 1.0,
        redis: aioredis.Redis,
        replication: Replication | None = None,
    ) -> None:
        #: A batch goes out in one pipeline of it: one round trip, not one per event.
        self._redis = redis
        self._sessions = sessions
        self._replication = replication
        self._model = model
        self._broker = broker
        self._streams = streams
        self._maxlen = maxlen
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._wake = asyncio.Event()
        self.failing_since: datetime | None = None
        self._lock_file: IO[str] | None = None

    def wake(self) -> None:
        """Called after a commit so the event goes out now, not at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        backoff = 0.1
        while True:
            try:
                sent = await self.relay_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.failing_since is None:  # one line per outage, not per retry
                    self.failing_since = datetime.now(UTC)
                    log.warning("outbox relay cannot publish, will retry: %r", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if self.failing_since is not None:
                log.info("outbox relay publishing again (down since %s)", self.failing_since)
                self.failing_since = None
            backoff = 0.1
            if sent < self._batch_size:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), self._poll_interval)
                except TimeoutError:
                    pass

    async def relay_once(self) -> int:
        """Publish up to one batch of pending events; returns how many went out."""
        async with self._sessions() as session:
            if session.bind.dialect.name == "postgresql":
                # Several replicas relay at once: each row is locked by one of them
                # while it publishes, and the others skip it.
                async with session.begin():
                    rows = list(
                        await session.execute(self._pending().with_for_update(skip_locked=True))
                    )
                    sent, error = await self._publish_all(rows)
                    await self._mark(session, rows[:sent])
            else:
                # SQLite: holding its single write lock while publishing would stall
                # every other writer. Read, publish, then mark, in short steps, one
                # replica at a time (another one relaying now: its turn).
                with self._turn(str(session.get_bind().engine.url)) as mine:
                    if not mine:
                        return 0
                    rows = list(await session.execute(self._pending()))
                    await session.rollback()
                    sent, error = await self._publish_all(rows)
                    async with session.begin():
                        await self._mark(session, rows[:sent])
        if error is not None:  # the marks of what did go out are committed
            raise error
        return sent

    @contextlib.contextmanager
    def _turn(self, url: str) -> Iterator[bool]:
        """This relay's turn at a SQLite database's outbox table (a lock file beside it,
        opened once; the kernel frees the lock if the process dies)."""
        if self._lock_file is None:
            database = sqlite_file(url)
            if database is None:
                yield True
                return
            # Held for the relay's life: not opened again every round.
            lock_path = f"{database}.{self._model.__tablename__}.relay.lock"
            self._lock_file = open(lock_path, "a")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)

    def _pending(self) -> Any:
        m = self._model
        return (
            select(m.id, m.stream, m.event_id, m.event_type, m.payload, m.traceparent)
            .where(m.published_at.is_(None))
            .order_by(m.id)
            .limit(self._batch_size)
        )

    async def _mark(self, session: AsyncSession, rows: list[Any]) -> None:
        if rows:
            await session.execute(
                update(self._model)
                .where(self._model.id.in_([r.id for r in rows]))
                .values(published_at=datetime.now(UTC))
            )

    async def _publish_all(self, rows: list[Any]) -> tuple[int, Exception | None]:
        if self._streams.cluster:
            # FastStream's cluster broker takes no pipeline (it would publish at once and
            # warn): one event at a time, stopping at the first refusal.
            for sent, row in enumerate(rows):
                try:
                    await self._publish(row, None)
                except Exception as exc:
                    return await self._replicated(sent, exc)
            return await self._replicated(len(rows), None)
        async with self._redis.pipeline(transaction=False) as pipe:
            for row in rows:
                await self._publish(row, pipe)
            try:
                results = await pipe.execute(raise_on_error=False)
            except Exception as exc:
                return await self._replicated(0, exc)
        # In order: what stands before the first failure went out.
        for sent, result in enumerate(results):
            if isinstance(result, Exception):
                return await self._replicated(sent, result)
        return await self._replicated(len(rows), None)

    async def _replicated(self, sent: int, error: Exception | None) -> tuple[int, Exception | None]:
        """What was sent counts as sent once a replica has it (else all of it goes again:
        consumers deduplicate on ``event_id``)."""
        if sent and self._replication is not None:
            try:
                await self._replication.fence(self._streams.key("outbox-fence"))
            except Exception as exc:
                return 0, exc
        return sent, error

    async def _publish(self, row: Any, pipeline: Any) -> None:
        token = context.attach(extract({"traceparent": row.traceparent} if row.traceparent else {}))
        try:
            await self._broker.publish(
                row.payload,
                stream=self._streams.key(row.stream),
                maxlen=self._maxlen,
                headers={"event_type": row.event_type, "event_id": str(row.event_id)},
                correlation_id=str(row.event_id),
                # Named only when there is one: the cluster broker warns at any value.
                **({"pipeline": pipeline} if pipeline is not None else {}),
            )
        finally:
            context.detach(token)

    async def pending(self) -> int:
        async with self._sessions() as session:
            return int(
                await session.scalar(
                    select(func.count())
                    .select_from(self._model)
                    .where(self._model.published_at.is_(None))
                )
                or 0
            )
