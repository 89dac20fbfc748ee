"""One delivery: an event POSTed to a subscription's URL, signed as Standard Webhooks says.

The URL is checked (:mod:`.addresses`) just before, and the connection goes to the
address that was checked (the ``Host`` header and TLS name stay the URL's). Redirects
are not followed; at most ``max_response_bytes`` of an answer are read; the whole
exchange is bounded by ``timeout``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

import httpx
from standardwebhooks.webhooks import Webhook

from .addresses import AddressPolicy, Refused, Target

log = logging.getLogger(__name__)
USER_AGENT = "Newsroom-Webhooks/1"


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def signed_headers(secret: str, event_id: str, at: datetime, payload: bytes) -> dict[str, str]:
    signature = Webhook(secret).sign(event_id, at, payload.decode())
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


def pinned_url(target: Target) -> str:
    """The URL with its host replaced by the checked address."""
    parts = urlsplit(target.url)
    host = target.address
    if isinstance(ipaddress.ip_address(host.split("%", 1)[0]), ipaddress.IPv6Address):
        host = f"[{host}]"
    netloc = f"{host}:{target.port}"
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))


def host_header(target: Target) -> str:
    default = 443 if target.scheme == "https" else 80
    host = f"[{target.host}]" if ":" in target.host else target.host
    return host if target.port == default else f"{host}:{target.port}"


@dataclass
class Sender:
    client: httpx.AsyncClient
    policy: AddressPolicy
    timeout: float
    max_response_bytes: int

    async def send(
        self, url: str, secret: str, event_id: str, payload: bytes, at: datetime
    ) -> Outcome:
        started = time.monotonic()

        def done(status: int | None, error: str | None) -> Outcome:
            return Outcome(status, error, int((time.monotonic() - started) * 1000))

        try:
            target = await self.policy.check(url)
        except Refused as exc:
            log.warning("webhook to %s refused before connecting: %s", url, exc)
            return done(None, f"refused: {exc}")
        headers = {**signed_headers(secret, event_id, at, payload), "host": host_header(target)}
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        request = self.client.build_request(
            "POST", pinned_url(target), content=payload, headers=headers, extensions=extensions
        )
        try:
            async with asyncio.timeout(self.timeout):
                response = await self.client.send(request, stream=True, follow_redirects=False)
                try:
                    read = 0
                    async for chunk in response.aiter_raw():
                        read += len(chunk)
                        if read >= self.max_response_bytes:
                            break  # the rest is not ours to hold
                finally:
                    await response.aclose()
        except TimeoutError:
            return done(None, f"no answer in {self.timeout:g} s")
        except httpx.HTTPError as exc:
            return done(None, f"{type(exc).__name__}: {exc}"[:500])
        if response.is_redirect:
            where = response.headers.get("location", "")[:300]
            return done(response.status_code, f"redirect to {where} not followed")
        return done(
            response.status_code, None if response.is_success else f"HTTP {response.status_code}"
        )
