"""Where a webhook may be sent: never into our own networks (server-side request forgery).

A subscription's host is resolved and every address it resolves to is checked, at
registration and again before each delivery (a name may resolve elsewhere by then);
the delivery then connects to the address that was checked, never resolving twice.
Only addresses routed on the public internet pass: loopback, private, link-local
(cloud metadata), shared, reserved, multicast and unspecified ranges are refused, and
an IPv6 address that embeds an IPv4 one (mapped, 6to4, Teredo, NAT64) is judged by it.
Hosts named in ``NEWSROOM_WEBHOOK_ALLOW_HOSTS`` are let through (a receiver inside).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
#: A host and port to the addresses they resolve to (tests give their own).
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
#: NAT64's well-known prefix (RFC 6052): the last 32 bits are an IPv4 address.
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class Refused(ValueError):
    """A URL a webhook may not be sent to, and why."""


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def forbidden(address: Address) -> str | None:
    """Why no webhook may reach ``address``, or None when it is a public one."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None:
            why = forbidden(inner)
            return f"{why} (inside {address})" if why else None
    for test, why in (
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address (cloud metadata lives there)"),
        ("is_private", "a private network address"),
        ("is_multicast", "a multicast address"),
        ("is_unspecified", "the unspecified address"),
        ("is_reserved", "a reserved address"),
    ):
        if getattr(address, test):
            return f"{address} is {why}"
    if not address.is_global:  # 100.64.0.0/10 (carrier NAT) and the like
        return f"{address} is not a public address"
    return None


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (one of the checked addresses) and as whom."""

    url: str
    host: str
    port: int
    address: str
    scheme: str


def host_of(url: str) -> tuple[str, int, str]:
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise Refused("the URL has no host")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return host, port, parts.scheme


@dataclass(frozen=True)
class AddressPolicy:
    allow_hosts: Collection[str] = ()
    require_https: bool = True
    resolver: Resolver = system_resolver

    def allowed(self, host: str) -> bool:
        return host in {h.strip("[]").lower() for h in self.allow_hosts}

    async def check(self, url: str) -> Target:
        """The URL's target, or :class:`Refused`. Resolves the host; connects nowhere."""
        host, port, scheme = host_of(url)
        if scheme != "https" and self.require_https:
            raise Refused("the URL must use https")
        try:
            literal: Address | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            found = [str(literal)]
        else:
            try:
                found = list(await self.resolver(host, port))
            except (OSError, UnicodeError) as exc:
                raise Refused(f"{host} does not resolve ({exc})") from exc
            if not found:
                raise Refused(f"{host} does not resolve")
        if not self.allowed(host):
            for text in found:
                why = forbidden(ipaddress.ip_address(text.split("%", 1)[0]))
                if why:
                    raise Refused(f"{host} resolves to {why}" if literal is None else why)
        return Target(url=url, host=host, port=port, address=found[0], scheme=scheme)
