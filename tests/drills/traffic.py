"""Readers' traffic through the gateway, each request from its own client address.

Every view and comment is a distinct visitor (an address of its own), so each
one accepted with ``202`` must be counted or decided exactly once.
"""

from __future__ import annotations

import itertools
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support import post_comment

BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
#: What the drills' services need on top of the defaults: quick reclaims, no form delay.
DRILL_ENV = {"NEWSROOM_CLAIM_IDLE_MS": "1000", "NEWSROOM_MIN_SUBMIT_SECONDS": "0"}


@dataclass
class Readers:
    gateway: str
    article_id: str
    #: Addresses in 198.18.0.0/15 (benchmarking range): never a real reader's.
    _addresses: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    accepted_views: int = 0
    accepted_comments: int = 0
    refused: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _address(self) -> str:
        n = next(self._addresses)
        return f"198.{18 + n // 65536}.{n // 256 % 256}.{n % 256}"

    def _headers(self) -> dict[str, str]:
        return {"X-Forwarded-For": self._address(), "User-Agent": BROWSER_UA}

    def view(self, client: httpx.Client) -> int:
        url = f"{self.gateway}/api/v1/articles/{self.article_id}/views"
        try:
            status = client.post(url, headers=self._headers()).status_code
        except httpx.HTTPError:
            status = 0
        return self._tally(status, "accepted_views")

    def comment(self, client: httpx.Client, n: int) -> int:
        try:
            status = post_comment(
                self.gateway,
                self.article_id,
                f"تعليق رقم {n} على الخبر",
                name=f"قارئ {n}",
                email=f"reader{n}@example.com",
                headers=self._headers(),
                client=client,
            ).status_code
        except (httpx.HTTPError, ValueError, KeyError):
            status = 0
        return self._tally(status, "accepted_comments")

    def _tally(self, status: int, accepted: str) -> int:
        """Count the answer: a 202 as ``accepted``, anything else (or none) as refused."""
        with self._lock:
            counter = accepted if status == 202 else "refused"
            setattr(self, counter, getattr(self, counter) + 1)
        return status


class Traffic:
    """Views (and every tenth request a comment) in a background thread until stopped."""

    def __init__(self, readers: Readers, comments: bool = True) -> None:
        self.readers = readers
        self.comments = comments
        self._stop = threading.Event()
        self.requests = 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=10) as client:
            for n in itertools.count():
                if self._stop.is_set():
                    return
                if self.comments and n % 10 == 9:
                    self.readers.comment(client, n)
                else:
                    self.readers.view(client)
                self.requests += 1

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread.ident is not None:  # (stopping twice, or before a start, is fine)
            self._thread.join(30)


def total_views(views_port: int, article_id: str) -> int:
    try:
        body = httpx.get(f"http://127.0.0.1:{views_port}/counts/{article_id}", timeout=5).json()
        return int(body.get("total", 0))
    except (httpx.HTTPError, ValueError):
        return -1


def count_rows(db: Path, sql: str) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return int(conn.execute(sql).fetchone()[0] or 0)
    except sqlite3.Error:
        return -1
