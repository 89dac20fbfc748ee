"""Prometheus metrics every service serves at ``/metrics``.

HTTP requests (rate, errors, duration) come from an ASGI middleware;
messages processed and dead-lettered per stream from the consumers; consumer
lag, pending entries and dead-letter stream sizes are read from Redis when
Prometheus scrapes (XINFO GROUPS, XLEN), so they are right even while a
consumer is stopped.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from fastapi import FastAPI, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from shared.contracts.streams import Streams
from shared.service.workers import MULTIPROC_DIR


class Metrics:
    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "newsroom_http_requests",
            "HTTP requests",
            ["service", "method", "route", "status"],
            registry=self.registry,
        )
        self.http_duration = Histogram(
            "newsroom_http_request_duration_seconds",
            "HTTP request duration",
            ["service", "method", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self._request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self.messages = Counter(
            "newsroom_messages",
            "Stream entries handled",
            ["service", "stream", "outcome"],
            registry=self.registry,
        )
        self.lag = self._from_redis("consumer_lag", "Entries not yet delivered to the group")
        self.pending = self._from_redis("consumer_pending", "Entries delivered, not acked")
        self.dlq = self._from_redis("dead_letters", "Entries in a dead-letter stream", "stream")

    def _from_redis(self, name: str, doc: str, *labels: str) -> Gauge:
        """A gauge of what Redis says about a stream (the last scrape's figure is right)."""
        return Gauge(
            f"newsroom_{name}",
            doc,
            list(labels or ("stream", "group")),
            registry=self.registry,
            multiprocess_mode="mostrecent",
        )

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count and time one request (label children cached: ``labels()`` is slow)."""
        key = (method, route, status)
        children = self._request_children.get(key)
        if children is None:
            children = (
                self.http_requests.labels(self.service, method, route, str(status)),
                self.http_duration.labels(self.service, method, route),
            )
            self._request_children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def message_outcome(self, stream: str, outcome: str, n: int = 1) -> None:
        self.messages.labels(self.service, stream, outcome).inc(n)

    async def refresh_streams(
        self, client: aioredis.Redis, groups: Sequence[tuple[str, str]]
    ) -> None:
        for stream, group in groups:
            try:
                infos: Any = await client.xinfo_groups(stream)
            except aioredis.ResponseError:  # no stream yet
                infos = []
            for info in infos:
                name = info["name"].decode() if isinstance(info["name"], bytes) else info["name"]
                if name == group:
                    self.lag.labels(stream, group).set(info.get("lag") or 0)
                    self.pending.labels(stream, group).set(info.get("pending") or 0)
            self.dlq.labels(Streams.dlq(stream)).set(await client.xlen(Streams.dlq(stream)))


def add_metrics_route(
    app: FastAPI,
    metrics: Metrics,
    client: aioredis.Redis | None = None,
    groups: Sequence[tuple[str, str]] = (),
) -> None:
    @app.get("/metrics", tags=["ops"], summary="Prometheus metrics", include_in_schema=False)
    async def prometheus() -> Response:
        if client is not None and groups:
            try:
                await metrics.refresh_streams(client, groups)
            except (aioredis.ConnectionError, aioredis.TimeoutError):
                pass  # serve what we have; Redis being down shows in /readyz
        return Response(generate_latest(scraped(metrics)), media_type=CONTENT_TYPE_LATEST)


def scraped(metrics: Metrics) -> CollectorRegistry:
    """What a scrape reads: this process's registry, or, when the service runs as several
    workers (shared/service/workers.py), every worker's values summed from their files."""
    if not os.environ.get(MULTIPROC_DIR):
        return metrics.registry
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry
