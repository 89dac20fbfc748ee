"""The floor: a bare FastStream batch consumer that does nothing but ack.

Same stream shape (wire format v1 entries), same batch size, same event
loop as the views service. Prints ``done`` once it has consumed ``--expect``
entries. Run by ``bench/views_bench.py``; not a service.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

import uvloop
from faststream import AckPolicy
from faststream.redis import RedisBroker, StreamSub
from faststream.redis.annotations import RedisBatchStreamMessage

from shared.messaging.broker import JsonEnvelopeFormat


async def main(redis_url: str, stream: str, expect: int, batch: int) -> None:
    broker = RedisBroker(redis_url, message_format=JsonEnvelopeFormat, log_level=logging.DEBUG)
    seen = 0

    def count(n: int) -> None:
        nonlocal seen
        seen += n
        if seen >= expect:
            print("done", flush=True)

    if batch > 1:

        @broker.subscriber(
            stream=StreamSub(
                stream, group="floor", consumer="floor-1", batch=True, max_records=batch
            ),
            ack_policy=AckPolicy.MANUAL,
        )
        async def handle_batch(body: list[object], msg: RedisBatchStreamMessage) -> None:
            await msg.ack()
            count(len(body))

    else:  # one message at a time, FastStream's default way

        @broker.subscriber(
            stream=StreamSub(stream, group="floor", consumer="floor-1"), ack_policy=AckPolicy.ACK
        )
        async def handle_one(body: object) -> None:
            count(1)

    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await broker.start()
    print("ready", flush=True)
    try:
        await stop.wait()
    finally:
        await broker.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis", required=True)
    parser.add_argument("--stream", required=True)
    parser.add_argument("--expect", type=int, required=True)
    parser.add_argument("--batch", type=int, default=500, help="1: one message at a time")
    args = parser.parse_args()
    uvloop.run(main(args.redis, args.stream, args.expect, args.batch))
