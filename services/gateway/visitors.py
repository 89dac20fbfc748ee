"""Who is viewing, without knowing who: keyed hashes with a salt that rotates daily.

The salt of each UTC day lives in Redis (shared by every gateway replica) and is
deleted when its day is over (plus the dedupe window, so a reader's view just
after midnight still finds yesterday's id): nobody can recompute its ids, or
guess the addresses behind them, after that. No raw IP address is stored or
published anywhere.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import UTC, date, datetime, timedelta

import redis.asyncio as aioredis
from cachetools import LRUCache
from crawlerdetect import CrawlerDetect

from shared.contracts.streams import Streams


class DailySalts:
    def __init__(
        self, client: aioredis.Redis, streams: Streams, grace: timedelta = timedelta(0)
    ) -> None:
        self.client = client
        self.streams = streams
        self.grace = grace
        self._cache: dict[date, bytes] = {}

    def expires_at(self, day: date) -> datetime:
        """When the day's salt is deleted: the day's end, plus the dedupe window."""
        end = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
        return end + self.grace

    async def salt(self, day: date) -> bytes:
        if (cached := self._cache.get(day)) is not None:
            return cached
        key = self.streams.key("views", "salt", day.isoformat())
        # First replica to ask creates the day's salt; the others read the same one.
        await self.client.set(
            key, secrets.token_hex(32), nx=True, exat=int(self.expires_at(day).timestamp())
        )
        value = await self.client.get(key)
        if value is None:  # expired in between: only possible for a stale day
            raise RuntimeError(f"no salt for {day}")
        salt = value if isinstance(value, bytes) else str(value).encode()
        self._cache = {d: s for d, s in self._cache.items() if d >= day - timedelta(days=1)}
        self._cache[day] = salt
        return salt


def keyed_hash(salt: bytes, *parts: str) -> str:
    return hmac.new(salt, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()[:32]


class VisitorIds:
    def __init__(self, salts: DailySalts, window: timedelta) -> None:
        self.salts = salts
        self.window = window

    async def for_view(
        self, ip: str, user_agent: str, article_id: str, now: datetime
    ) -> tuple[str, str | None]:
        """Today's visitor id and, just after midnight, yesterday's (to keep the window)."""
        today = now.astimezone(UTC).date()
        current = keyed_hash(await self.salts.salt(today), ip, user_agent, article_id)
        previous = None
        midnight = datetime(today.year, today.month, today.day, tzinfo=UTC)
        if now - midnight < self.window:
            previous = keyed_hash(
                await self.salts.salt(today - timedelta(days=1)), ip, user_agent, article_id
            )
        return current, previous

    async def client_key(self, ip: str, now: datetime) -> str:
        """A rate-limit key per client that is not its IP address."""
        return keyed_hash(await self.salts.salt(now.astimezone(UTC).date()), "client", ip)


# Every browser in use says "Mozilla/5.0 (platform…) engine/version…": the platform in
# parentheses and an engine or browser token. "x" or a bare "Mozilla" is a script.
_BROWSER = re.compile(
    r"^Mozilla/5\.0 \([^)]{3,}\).*\b(Gecko|AppleWebKit|Chrome|Firefox|Safari|Edg|OPR|Trident)/"
)


class BotFilter:
    """Crawlers (the maintained Crawler-Detect patterns) and user agents no browser sends,
    cached per user agent (least recently used out first)."""

    def __init__(self, cache_size: int = 20_000) -> None:
        self._detector = CrawlerDetect()
        self._cache: LRUCache[str, bool] = LRUCache(cache_size)

    def is_bot(self, user_agent: str) -> bool:
        cached = self._cache.get(user_agent)
        if cached is None:
            cached = not _BROWSER.match(user_agent) or bool(self._detector.isCrawler(user_agent))
            self._cache[user_agent] = cached
        return cached
