"""The gateway's clients for the services behind it, over their internal HTTP APIs.

Every call is bounded by ``upstream_timeout``; a service that is down or slow
becomes :class:`Unavailable`, which routes turn into a degraded answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx


class Unavailable(Exception):
    """A downstream service did not answer in time or answered with a 5xx."""

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(f"{service}: {reason}")
        self.service = service


class NotFound(Exception):
    pass


class Gone(NotFound):
    """The article was deleted: readers get ``410``."""


class Upstream:
    def __init__(self, name: str, client: httpx.AsyncClient) -> None:
        self.name = name
        self.client = client

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - passed on to httpx as its bound
    ) -> httpx.Response:
        """``timeout``: this call's own bound, else the client's (``upstream_timeout``)."""
        try:
            response = await self.client.request(
                method,
                path,
                params=params,
                headers=headers,
                content=content,
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.HTTPError as exc:
            raise Unavailable(self.name, type(exc).__name__) from exc
        if response.status_code >= 500:
            raise Unavailable(self.name, f"HTTP {response.status_code}")
        return response

    async def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        response = await self.request("GET", path, params=params)
        if response.status_code == 404:
            raise NotFound(path)
        response.raise_for_status()
        return response.json()


class Upstreams:
    def __init__(self, urls: Mapping[str, str], timeout: float) -> None:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        self._clients = {
            name: httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits)
            for name, url in urls.items()
        }
        self.ingest = Upstream("ingest", self._clients["ingest"])
        self.views = Upstream("views", self._clients["views"])
        self.comments = Upstream("comments", self._clients["comments"])
        self.search = Upstream("search", self._clients["search"])
        self.webhooks = Upstream("webhooks", self._clients["webhooks"])

    @property
    def clients(self) -> list[httpx.AsyncClient]:
        return list(self._clients.values())

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
