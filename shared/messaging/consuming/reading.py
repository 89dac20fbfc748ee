"""Reading new entries: a FastStream batch subscriber (XREADGROUP ``>``), manual acks,
each batch validated once, in FastStream's own parser step."""

from __future__ import annotations

import asyncio
from typing import Any, Generic, TypeVar

from faststream import AckPolicy
from faststream.redis import RedisBroker, StreamSub
from faststream.redis.message import RedisBatchStreamMessage
from opentelemetry import context as otel_context
from opentelemetry import trace

from .entries import EntryValidator, Parsed, sampled, text_ids
from .member import Member

T = TypeVar("T")


class _ReadBatch(RedisBatchStreamMessage):
    """A batch as read by FastStream, validated by :meth:`BatchReader.parse`."""

    def __init__(self, *args: Any, parsed: Parsed[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.parsed = parsed


class BatchReader(Generic[T]):
    """Hands each validated batch, with its trace context, to ``queue``.

    ``AckPolicy.MANUAL`` on purpose: an entry is acked only after its effect is
    committed (with the default policy a failed entry stays pending forever).
    """

    def __init__(
        self,
        *,
        broker: RedisBroker,
        member: Member,
        validator: EntryValidator[T],
        queue: asyncio.Queue[tuple[Parsed[T], otel_context.Context]],
        batch_size: int,
        polling_ms: int,
    ) -> None:
        self.member = member
        self.validator = validator
        self.subscriber: Any = broker.subscriber(
            stream=StreamSub(
                member.stream,
                group=member.group,
                consumer=member.consumer,
                batch=True,
                max_records=batch_size,
                polling_interval=polling_ms,
            ),
            ack_policy=AckPolicy.MANUAL,
            parser=self.parse,
            decoder=self.decode,
            title=f"{member.stream}:{member.group}:read",
        )

        @self.subscriber
        async def on_batch(body: Parsed[T]) -> None:
            # FastStream's process span lacks these two messaging conventions.
            span = trace.get_current_span()
            span.set_attribute("messaging.consumer.group.name", member.group)
            span.set_attribute("messaging.operation.type", "process")
            await queue.put((body, otel_context.get_current()))

    @property
    def running(self) -> bool:
        return bool(self.subscriber.running)

    async def start(self) -> None:
        await self.subscriber.start()

    async def parse(self, raw: Any) -> _ReadBatch:
        """FastStream parser of a batch read: validate it here, once.

        A coroutine on purpose: FastStream runs a plain function in a worker thread,
        a thread hop per batch that costs more than the validation. The batch headers
        handed on to FastStream's tracing are those of sampled producers only: it links
        the batch's span to each of them (and reads baggage from each), and a link to an
        unrecorded span is worth nothing.
        """
        parsed, joined = self.validator.validate(text_ids(raw["message_ids"]), raw["data"])
        return _ReadBatch(
            raw_message=raw,
            body=joined,  # as FastStream's own batch parser: a JSON array of the bodies
            parsed=parsed,
            headers={"content-type": "application/json"},
            batch_headers=[e.headers for e in parsed.good if sampled(e.headers)],
            content_type="application/json",
            consumer=self.member.client,
            group=self.member.group,
        )

    @staticmethod
    async def decode(msg: _ReadBatch) -> Parsed[Any]:
        return msg.parsed  # the parser validated it already
