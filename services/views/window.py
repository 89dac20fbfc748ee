"""The dedupe window and unique visitors, in Redis, in one round trip per batch.

A visitor's view of an article counts unless another counted view of theirs
lies within ``window`` of it, by the events' own times. ``seen:{article}:
{visitor}`` is a hash of the counted events (event id → time), expiring an
hour after the window. The decision is idempotent: a redelivered event finds
its own id there and counts again — in a database transaction that is then
skipped if it already committed. Unique visitors per day are HyperLogLogs
(PFADD is idempotent too).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, timedelta

import redis.asyncio as aioredis

from shared.events import ViewRecorded
from shared.streams import Streams

CLAIM_WINDOW = """
local window, ttl, unique_ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local function near(key, ts)
  for _, v in ipairs(redis.call('HVALS', key)) do
    if math.abs(ts - tonumber(v)) < window then return true end
  end
  return false
end
local out = {}
for i = 4, #ARGV, 6 do
  local seen, prev, token, ts = ARGV[i], ARGV[i+1], ARGV[i+2], tonumber(ARGV[i+3])
  local counts = 0
  if redis.call('HEXISTS', seen, token) == 1 then
    counts = 1
  elseif not near(seen, ts) and (prev == '' or not near(prev, ts)) then
    redis.call('HSET', seen, token, ts)
    redis.call('PEXPIRE', seen, ttl)
    counts = 1
  end
  redis.call('PFADD', ARGV[i+4], ARGV[i+5])
  redis.call('EXPIRE', ARGV[i+4], unique_ttl)
  out[#out + 1] = counts
end
return out
"""


class VisitorWindow:
    def __init__(
        self, client: aioredis.Redis, streams: Streams, window: timedelta, unique_days: int
    ) -> None:
        self.client = client
        self.streams = streams
        self.window_ms = int(window.total_seconds() * 1000)
        # Late redeliveries (claims after a crash) come well within an hour.
        self.ttl_ms = self.window_ms + 3_600_000
        self.unique_ttl = int(timedelta(days=unique_days).total_seconds())
        self.script = client.register_script(CLAIM_WINDOW)

    def seen_key(self, article_id: object, visitor_id: str) -> str:
        return self.streams.key("views", "seen", str(article_id), visitor_id)

    def unique_key(self, article_id: object, day: str) -> str:
        return self.streams.key("views", "unique", str(article_id), day)

    async def claim(self, events: Sequence[ViewRecorded]) -> list[bool]:
        """For each event, whether it counts (same answer every time it is asked)."""
        if not events:
            return []
        args: list[str | int] = [self.window_ms, self.ttl_ms, self.unique_ttl]
        for e in events:
            data = e.data
            prev = (
                self.seen_key(data.article_id, data.previous_visitor_id)
                if data.previous_visitor_id
                else ""
            )
            day = e.occurred_at.astimezone(UTC).date().isoformat()
            args += [
                self.seen_key(data.article_id, data.visitor_id),
                prev,
                e.event_id.hex,
                int(e.occurred_at.timestamp() * 1000),
                self.unique_key(data.article_id, day),
                data.visitor_id,
            ]
        result = await self.script(keys=[], args=args)
        return [bool(r) for r in result]

    async def unique_counts(self, article_ids: Sequence[str], day: str) -> list[int]:
        async with self.client.pipeline(transaction=False) as pipe:
            for article_id in article_ids:
                pipe.pfcount(self.unique_key(article_id, day))
            return [int(n) for n in await pipe.execute()]
