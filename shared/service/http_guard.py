"""Limits a server must hold before a request reaches the app: header size, read
times and connections per client address.

uvicorn's httptools parser buffers headers without any bound and waits forever for
the rest of a request (a 10 MB header got 200; 500 slowloris connections stayed
open). These limits cannot live in ASGI middleware, which only sees a request once
its headers are complete, so they live in uvicorn's own protocol, extended here.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from shared.settings import NewsroomSettings

PROBLEM_JSON = b"application/problem+json"

#: status → (title, Arabic and English detail); the detail may name the limit.
REFUSALS: dict[int, tuple[str, str]] = {
    408: (
        "Request timeout",
        "انتهت مهلة استلام الطلب. / The request was not received in time ({limit} s).",
    ),
    429: (
        "Too many connections",
        "اتصالات كثيرة من عنوان واحد. / Too many open connections from one address ({limit}).",
    ),
    414: (
        "URI too long",
        "عنوان الطلب أطول من المسموح. / The request's URL exceeds {limit} bytes.",
    ),
    431: (
        "Request header fields too large",
        "ترويسات الطلب أكبر من المسموح. / The request's headers exceed {limit} bytes.",
    ),
}


@dataclass(frozen=True)
class HttpLimits:
    max_header_bytes: int = 32 * 1024
    #: From a connection's (or a request's) first byte to the end of its headers.
    header_timeout: float = 10.0
    #: Longest wait for the next piece of a request body.
    body_timeout: float = 30.0
    #: Open connections one client address may hold; 0: no limit. Trusted proxies are
    #: exempt: they carry many readers' connections.
    connections_per_client: int = 0
    trusted: Callable[[str], bool] = lambda host: False

    @classmethod
    def from_settings(cls, settings: NewsroomSettings) -> HttpLimits:
        return cls(
            max_header_bytes=settings.max_header_bytes,
            header_timeout=settings.header_timeout_seconds,
            body_timeout=settings.body_timeout_seconds,
            connections_per_client=settings.connections_per_client,
            trusted=trusted_hosts(settings.forwarded_allow_ips),
        )


def trusted_hosts(spec: str) -> Callable[[str], bool]:
    """``forwarded_allow_ips`` as a predicate: ``*``, addresses and networks, comma-separated."""
    entries = [part.strip() for part in spec.split(",") if part.strip()]
    if "*" in entries:
        return lambda host: True
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            continue  # a unix socket path or a name: never a TCP peer's address

    def trusted(host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in networks)

    return trusted


def refusal(status: int, limit: object) -> tuple[list[tuple[bytes, bytes]], bytes]:
    title, detail = REFUSALS[status]
    body = json.dumps(
        {
            "type": "about:blank",
            "title": title,
            "status": status,
            "detail": detail.format(limit=limit),
        },
        ensure_ascii=False,
    ).encode()
    headers = [
        (b"content-type", PROBLEM_JSON),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    if status == 429:
        headers.append((b"retry-after", b"1"))
    return headers, body


def guarded_protocol(limits: HttpLimits) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol holding ``limits`` (one class per server)."""

    class Guarded(GuardedHttpToolsProtocol):
        LIMITS = limits
        OPEN_PER_CLIENT: ClassVar[Counter[str]] = Counter()

    return Guarded


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    LIMITS: ClassVar[HttpLimits] = HttpLimits()
    OPEN_PER_CLIENT: ClassVar[Counter[str]] = Counter()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        self._head_bytes = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._body_seen_at = 0.0
        self._message_done = False
        self._counted_as: str | None = None

    # Connections per client address.
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        limit = self.LIMITS.connections_per_client
        host = self.client[0] if self.client else None
        if limit and host and not self.LIMITS.trusted(host):
            if self.OPEN_PER_CLIENT[host] >= limit:
                self._refuse(429, limit)
                return
            self.OPEN_PER_CLIENT[host] += 1
            self._counted_as = host
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._counted_as is not None:
            self.OPEN_PER_CLIENT[self._counted_as] -= 1
            if self.OPEN_PER_CLIENT[self._counted_as] <= 0:
                del self.OPEN_PER_CLIENT[self._counted_as]
            self._counted_as = None
        self._cancel_timers()
        super().connection_lost(exc)

    # Header size and header read time.
    def data_received(self, data: bytes) -> None:
        if self._in_head:
            self._head_bytes += len(data)
            if self._head_timer is None:
                self._arm_head_timer()
        super().data_received(data)
        if self.transport.is_closing():
            return
        if self._in_head and self._head_bytes > self.LIMITS.max_header_bytes:
            self._refuse(self._too_large(), self.LIMITS.max_header_bytes)
        elif not self._in_head and not self._message_done and self._body_timer is None:
            self._body_seen_at = self.loop.time()
            self._body_timer = self.loop.call_later(self.LIMITS.body_timeout, self._body_late)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._message_done = False

    def on_headers_complete(self) -> None:
        self._in_head = False
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        # The whole head may have come in one read, larger than the limit.
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size <= self.LIMITS.max_header_bytes:
            super().on_headers_complete()
            return
        app, self.app = self.app, _refusing(self._too_large(), self.LIMITS.max_header_bytes)
        try:
            super().on_headers_complete()
        finally:
            self.app = app

    # Body read time.
    def on_body(self, body: bytes) -> None:
        self._body_seen_at = self.loop.time()
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._message_done = True
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        # The next request on this connection starts its head from nothing.
        self._in_head = True
        self._head_bytes = 0
        super().on_message_complete()

    def _too_large(self) -> int:
        # llhttp hands the URL over as it arrives: a long one is the URL's fault, not the headers'.
        return 414 if len(getattr(self, "url", b"")) > self.LIMITS.max_header_bytes else 431

    def _arm_head_timer(self) -> None:
        self._head_timer = self.loop.call_later(self.LIMITS.header_timeout, self._head_late)

    def _head_late(self) -> None:
        self._head_timer = None
        if not self._in_head or self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a response is still being written; its request's head was complete
        if self._head_bytes:
            self._refuse(408, self.LIMITS.header_timeout)
        else:
            self.transport.close()  # connected and said nothing

    def _body_late(self) -> None:
        self._body_timer = None
        if self._message_done or self.transport.is_closing():
            return
        waited = self.loop.time() - self._body_seen_at
        if waited < self.LIMITS.body_timeout or self.flow.read_paused:
            # Body pieces came meanwhile, or we stopped reading ourselves (the app is slow).
            delay = max(self.LIMITS.body_timeout - waited, 0.1)
            self._body_timer = self.loop.call_later(delay, self._body_late)
            return
        if self.cycle is not None and self.cycle.response_started:
            self.transport.close()
        else:
            self._refuse(408, self.LIMITS.body_timeout)

    def _cancel_timers(self) -> None:
        for timer in (self._head_timer, self._body_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._body_timer = None

    def _refuse(self, status: int, limit: object) -> None:
        headers, body = refusal(status, limit)
        head = b"".join(name + b": " + value + b"\r\n" for name, value in headers)
        self.transport.write(STATUS_LINE[status] + head + b"\r\n" + body)
        self._cancel_timers()
        self.transport.close()


def _refusing(status: int, limit: int) -> Any:
    headers, body = refusal(status, limit)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app
