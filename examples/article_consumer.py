#!/usr/bin/env python3
"""Read Newsroom's article events with nothing but redis-py and json.

    pip install redis
    python examples/article_consumer.py --redis redis://localhost:6379/0 --namespace newsroom
    python examples/article_consumer.py --cluster --redis redis://any-node:7000 --namespace newsroom

It joins its own consumer group (so it gets every event once, and resumes
where it stopped), prints each event, and acknowledges it. See docs/events.md.
"""

from __future__ import annotations

import argparse
import json
import socket
from typing import Any

import redis


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default="redis://localhost:6379/0")
    parser.add_argument("--namespace", default="newsroom")
    parser.add_argument("--group", default="example-consumer")
    parser.add_argument("--count", type=int, default=0, help="stop after N events (0: never)")
    parser.add_argument(
        "--cluster", action="store_true", help="a Redis Cluster (--redis names any node)"
    )
    args = parser.parse_args()

    client: Any
    if args.cluster:
        # On a cluster every key of the namespace carries its hash tag: {newsroom}:articles.
        client = redis.RedisCluster.from_url(args.redis, decode_responses=True)
        stream = f"{{{args.namespace}}}:articles"
    else:
        client = redis.Redis.from_url(args.redis, decode_responses=True)
        stream = f"{args.namespace}:articles"
    consumer = f"{socket.gethostname()}-example"
    try:
        # id="0": a new group starts with the whole retained history.
        client.xgroup_create(stream, args.group, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise

    seen = 0
    while not args.count or seen < args.count:
        reply: Any = client.xreadgroup(args.group, consumer, {stream: ">"}, count=10, block=1000)
        for _stream, entries in reply or []:
            for entry_id, fields in entries:
                envelope = json.loads(fields["__data__"])
                event = envelope["data"]
                print(
                    json.dumps(
                        {
                            "entry": entry_id,
                            "type": event["type"],
                            "event_id": event["event_id"],
                            "title": event["data"].get("title"),
                            "traceparent": envelope["headers"].get("traceparent"),
                        },
                        ensure_ascii=False,
                    ),
                    flush=True,
                )
                client.xack(stream, args.group, entry_id)
                seen += 1


if __name__ == "__main__":
    main()
