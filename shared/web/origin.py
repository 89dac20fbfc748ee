"""Where a browser says a request comes from: refuse what another site made it send.

Browsers send ``Sec-Fetch-Site`` (and ``Origin`` on posts) on their own; a page on
another site cannot forge them. Clients that are not browsers send neither and are
judged by their tokens instead.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping


def cross_site(headers: Mapping[str, str], own_origin: str, allowed: Collection[str] = ()) -> bool:
    """Whether another site's page made the browser send this request."""
    fetch_site = headers.get("sec-fetch-site")
    origin = headers.get("origin")
    if fetch_site == "cross-site":
        return origin is None or (origin != own_origin and origin not in allowed)
    if origin is None:
        return False
    if origin == "null":  # a sandboxed frame, a data: URL, a file
        return True
    return origin != own_origin and origin not in allowed


def own_origin(scheme: str, host: str) -> str:
    return f"{scheme}://{host}"
