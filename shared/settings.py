"""Settings every service reads (env prefix ``NEWSROOM_``).

Each service subclasses :class:`NewsroomSettings` and adds only what it owns.
Nothing here is instantiated at import time: composition roots build settings.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.contracts.streams import Streams


class NewsroomSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSROOM_", extra="ignore")

    #: The service this process runs; subclasses pin it.
    service_name: str = "newsroom"

    namespace: str = "newsroom"
    redis_url: str = "redis://localhost:6379/0"
    #: ``NEWSROOM_REDIS_URL`` names any node of a Redis Cluster: cluster clients and broker,
    #: every key under the namespace's hash tag (docs/scaling.md).
    redis_cluster: bool = False
    #: Replicas that must hold a write before it is answered ``202`` (views, comments) or
    #: an outbox row is marked sent (Redis ``WAIT``); None: 1 on a cluster, 0 on one Redis.
    redis_wait_replicas: int | None = Field(default=None, ge=0)
    #: How long a write waits for them; not confirmed by then: ``503`` with Retry-After.
    redis_wait_ms: int = Field(default=250, ge=1)
    #: Partitions of the ``views`` stream, each in a slot of its own; None: 64 on a cluster
    #: (spread over its masters), 1 on one Redis. Fixed for a deployment's life: changing
    #: it moves readers to other partitions (drain the views streams first).
    view_partitions: int | None = Field(default=None, ge=1, le=1024)
    data_dir: Path = Path("./var")
    #: Shared fallback for every service's database (each service prefers its own).
    database_url: str | None = None
    #: A service's own database (``NEWSROOM_<SERVICE>_DATABASE_URL``), over the shared one.
    ingest_database_url: str | None = None
    views_database_url: str | None = None
    comments_database_url: str | None = None
    search_database_url: str | None = None
    webhooks_database_url: str | None = None
    #: Where the gateway finds each service (``NEWSROOM_<SERVICE>_URL``); default: its port here.
    ingest_url: str | None = None
    views_url: str | None = None
    comments_url: str | None = None
    search_url: str | None = None
    webhooks_url: str | None = None

    host: str = "127.0.0.1"
    ingest_port: int = 8001
    views_port: int = 8002
    comments_port: int = 8003
    search_port: int = 8004
    webhooks_port: int = 8005
    gateway_port: int = 8000
    #: Metrics and health on a port of their own (the metrics port), for Prometheus and the
    #: probes; 0: none. Then internal services serve /metrics on their port, and the gateway,
    #: whose port is public, serves it nowhere.
    metrics_port: int = 0
    #: ``newsroom up --scale``: extra replicas of an internal service listen at its port
    #: plus this step times their index (gateway replicas share the gateway's port).
    replica_port_step: int = 100
    #: Gateway processes sharing its port (SO_REUSEPORT; the kernel spreads connections):
    #: ``newsroom up`` starts them, and so does ``python -m services.gateway`` (the
    #: container's command). 0: one per core this process may use. ``--scale gateway=N``
    #: wins in ``newsroom up``.
    gateway_workers: int = Field(default=0, ge=0)

    #: Approximate cap (XADD MAXLEN ~) of every stream we publish to.
    stream_maxlen: int = 1_000_000
    #: A reader's repeat views of one article within this window count once (the
    #: gateway names the reader by it, the views service deduplicates by it).
    dedupe_window_minutes: int = 30
    #: Outbox relays: events published per round, and seconds between polls when
    #: nothing woke the relay.
    relay_batch_size: int = 200
    relay_poll_interval: float = 1.0
    #: Days personal data (emails, user agents, client keys) stays in the streams that
    #: carry it (``comments.submitted`` and its dead letters): trimmed by age after that.
    personal_data_days: float = 7.0
    #: Deliveries after which an entry moves to ``<stream>.dlq``.
    max_deliveries: int = 5
    #: Idle time after which a live replica reclaims a dead replica's entries.
    claim_idle_ms: int = 30_000
    #: Unique per replica; defaults to host-pid.
    consumer_name: str = Field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")

    #: Run this service's migrations at start-up (embedded mode). Off where a
    #: deploy step runs ``newsroom migrate`` first; then an older schema stops the start.
    migrate_on_start: bool = True

    editor_token: str | None = None
    moderator_token: str | None = None

    log_level: str = "INFO"
    #: ``json`` (one object per line, with trace ids) or ``text``.
    log_format: str = "json"
    #: Bind with SO_REUSEPORT: several replicas share one port, the kernel spreads
    #: connections over them (``newsroom up --scale gateway=N``).
    reuse_port: bool = False
    #: Proxies whose X-Forwarded-For is believed (uvicorn's forwarded_allow_ips).
    forwarded_allow_ips: str = "127.0.0.1"
    #: What a request may hold before it reaches the app (shared/service/http_guard.py):
    #: a larger head is refused with 431.
    max_header_bytes: int = 32 * 1024
    #: From a request's first byte to the end of its headers: 408 after that.
    header_timeout_seconds: float = 10.0
    #: Longest wait for the next piece of a request body: 408 after that.
    body_timeout_seconds: float = 30.0
    #: An idle keep-alive connection is closed after this.
    keep_alive_seconds: int = 5
    #: Open connections one client address may hold (429 beyond); 0: no limit. The
    #: proxies of ``forwarded_allow_ips`` are exempt. The gateway's default is 64.
    connections_per_client: int = 0

    @property
    def own_database_url(self) -> str:
        """This service's database: its own URL, the shared one, or a SQLite file."""
        own = getattr(self, f"{self.service_name}_database_url", None)
        if own:
            return own
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / f'{self.service_name}.db').resolve()}"

    @property
    def streams(self) -> Streams:
        """This deployment's stream and key names."""
        return Streams(self.namespace, cluster=self.redis_cluster, partitions=self.partitions)

    @property
    def partitions(self) -> int:
        if self.view_partitions is not None:
            return self.view_partitions
        return 64 if self.redis_cluster else 1

    @property
    def wait_replicas(self) -> int:
        if self.redis_wait_replicas is not None:
            return self.redis_wait_replicas
        return 1 if self.redis_cluster else 0

    def worker_count(self) -> int:
        """Gateway processes to run: the setting, or one per core this process may use."""
        return self.gateway_workers or len(os.sched_getaffinity(0))

    def service_url(self, service: str) -> str:
        """Internal base URL of another service, overridable by ``NEWSROOM_<SVC>_URL``."""
        explicit = getattr(self, f"{service}_url")
        if explicit:
            return explicit.rstrip("/")
        port = getattr(self, f"{service}_port")
        return f"http://127.0.0.1:{port}"

    @property
    def port(self) -> int:
        return int(getattr(self, f"{self.service_name}_port"))


def settings_env(**values: object) -> dict[str, str]:
    """This process's environment plus ``values`` as ``NEWSROOM_*`` variables: what a
    parent (``newsroom up``, a bench, a test) hands the service processes it starts."""
    return {**os.environ, **{f"NEWSROOM_{k.upper()}": _as_env(v) for k, v in values.items()}}


def _as_env(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value)  # pydantic-settings reads complex fields as JSON
    return str(value)
