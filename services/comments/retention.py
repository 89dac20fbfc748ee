"""Personal data leaves the streams by age: ``comments.submitted`` (emails, user agents,
client keys) and its dead letters keep ``personal_data_days`` of entries, not the
million-entry cap's worth. What the comments database keeps is in docs/privacy.md."""

from __future__ import annotations

import asyncio
import logging
import time

import redis.asyncio as aioredis

from shared.contracts.streams import Streams
from shared.messaging.consuming import is_transient
from shared.settings import NewsroomSettings

log = logging.getLogger(__name__)
PERSONAL = ("comments.submitted",)


async def trim_personal_data(
    redis: aioredis.Redis, streams: Streams, settings: NewsroomSettings
) -> int:
    """Delete entries older than the retention from every stream that carries personal data."""
    oldest_ms = int((time.time() - settings.personal_data_days * 86_400) * 1000)
    removed = 0
    for name in PERSONAL:
        for key in (streams.of(name), Streams.dlq(streams.of(name))):
            # Exact MINID (not "~"): every entry past the retention goes, not most.
            removed += int(await redis.xtrim(key, minid=f"{oldest_ms}-0", approximate=False))
    return removed


async def run_retention(
    redis: aioredis.Redis, streams: Streams, settings: NewsroomSettings
) -> None:
    while True:
        try:
            if removed := await trim_personal_data(redis, streams, settings):
                log.info(
                    "trimmed %d entries past %s days of retention",
                    removed,
                    settings.personal_data_days,
                )
        except Exception as exc:  # the next round tries again
            if not is_transient(exc):
                log.exception("trimming personal data failed: %r", exc)
        await asyncio.sleep(600)
