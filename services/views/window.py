"""The dedupe window and unique visitors, in Redis, in one round trip per batch.

A visitor's view of an article counts unless another counted view of theirs
lies within ``window`` of it, by the events' own times. The key
``seen:{article}:{visitor}`` holds the counted views as `` entry@ms`` items
(the stream entry id and the event time), and expires an hour after the window. The decision is
idempotent: a redelivered event finds its own token there and counts again,
in a database transaction that the ledger then skips if it already
committed. Unique visitors per day are HyperLogLogs (PFADD is idempotent).

The work is done in Redis, not in Python: one JSON argument for the whole batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import orjson
import redis.asyncio as aioredis

from shared.contracts.streams import Streams

# ARGV: window_ms, ttl_ms, unique_ttl_s, prefix, then one JSON array of the views, each
# [ms, token, article, visitor, previous_visitor, day] (cjson decodes it in C: cheaper than
# an argument per field or a pattern match per view, and Redis's CPU is the one-shard limit).
# Returns one character per view: "1" counts, "0" does not. KEYS[1] is the partition's views
# stream: every key the script builds lies in its slot (the partition's hash tag on a
# cluster), and names it, so that a cluster client sends the script to the node holding them.
CLAIM_WINDOW = """
local window, ttl, unique_ttl, prefix = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local views = cjson.decode(ARGV[5])
local function near(value, ts)
  if not value then return false end
  for at in string.gmatch(value, '@(%d+)') do
    if math.abs(ts - tonumber(at)) < window then return true end
  end
  return false
end
local out, uniques = {}, {}
for i, view in ipairs(views) do
  local ts, token, article, visitor, previous, day = view[1], view[2], view[3], view[4], view[5], view[6]
  local seen = prefix .. 'seen:' .. article .. ':' .. visitor
  local value = redis.call('GET', seen)
  local counts = '0'
  if value and string.find(value, ' ' .. token .. '@', 1, true) then
    counts = '1'
  elseif not near(value, ts)
      and (previous == '' or not near(redis.call('GET', prefix .. 'seen:' .. article .. ':' .. previous), ts)) then
    redis.call('SET', seen, (value or '') .. ' ' .. token .. '@' .. string.format('%d', ts), 'PX', ttl)
    counts = '1'
  end
  out[i] = counts
  local ukey = prefix .. 'unique:' .. article .. ':' .. day
  local list = uniques[ukey]
  if not list then list = {}; uniques[ukey] = list end
  list[#list + 1] = visitor
end
for ukey, visitors in pairs(uniques) do
  for first = 1, #visitors, 1000 do  -- unpack() is limited to a few thousand values
    redis.call('PFADD', ukey, unpack(visitors, first, math.min(first + 999, #visitors)))
  end
  redis.call('EXPIRE', ukey, unique_ttl)
end
return table.concat(out)
"""


# Each key's PFCOUNT (one key per call: counted apart, not merged).
COUNT_UNIQUES = """
local out = {}
for i, key in ipairs(KEYS) do out[i] = redis.call('PFCOUNT', key) end
return out
"""


#: Views judged per script call. A script holds Redis for everyone while it runs:
#: this bounds that hold whatever NEWSROOM_BATCH_SIZE an operator sets (smaller chunks
#: cost counting speed: docs/benchmarks.md).
CLAIM_CHUNK = 1000


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
        self.count_uniques = client.register_script(COUNT_UNIQUES)
        # Batches are applied two at a time; their claims still reach Redis in the order
        # the batches were read (a FIFO lock per partition), so a reader's views spread
        # over adjacent batches are judged in stream order, as with one batch at a time.
        self._in_order = [asyncio.Lock() for _ in range(streams.partitions)]

    def prefix(self, partition: int) -> str:
        """Where a partition's window and sketches live: its stream's slot."""
        return self.streams.in_partition(partition, "views", "")

    def unique_key(self, article_id: str, day: str, partition: int = 0) -> str:
        return f"{self.prefix(partition)}unique:{article_id}:{day}"

    async def claim(self, views: Sequence[Any], partition: int = 0) -> list[bool]:
        """For each view, whether it counts (the same answer every time it is asked).

        Each view has ``token`` (its stream entry id: a redelivery has the same,
        a resend does not), ``article``, ``visitor``, ``previous_visitor``, ``ms``
        (event time) and ``day``.
        """
        if not views:
            return []
        rows = [(v.ms, v.token, v.article, v.visitor, v.previous_visitor, v.day) for v in views]
        prefix = self.prefix(partition)
        route = self.streams.in_partition(partition, "views")
        head: list[bytes | str | int] = [self.window_ms, self.ttl_ms, self.unique_ttl, prefix]
        counts: list[bool] = []
        async with self._in_order[partition]:
            # In chunks, so that no call holds Redis for long (see CLAIM_CHUNK).
            for start in range(0, len(rows), CLAIM_CHUNK):
                chunk = orjson.dumps(rows[start : start + CLAIM_CHUNK])
                reply = await self.script(keys=[route], args=[*head, chunk])
                counts += [c == 49 for c in reply]  # b"1"
        return counts

    async def unique_counts(self, article_ids: Sequence[str], day: str) -> list[int]:
        if not article_ids:
            return []
        # A reader is in one partition only: an article's readers are the sum of its
        # partitions' sketches. One script per partition (its keys share its slot), not a
        # pipeline: a cluster client refuses to pipeline PFCOUNT.
        per_partition = await asyncio.gather(
            *(
                self.count_uniques(keys=[self.unique_key(a, day, p) for a in article_ids])
                for p in range(self.streams.partitions)
            )
        )
        return [sum(int(counts[i]) for counts in per_partition) for i in range(len(article_ids))]
