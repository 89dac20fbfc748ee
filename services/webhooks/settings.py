from __future__ import annotations

from pydantic import Field

from shared.settings import NewsroomSettings


class WebhooksSettings(NewsroomSettings):
    service_name: str = "webhooks"
    #: Hosts a subscription may name although they resolve to a private, loopback or
    #: link-local address (a receiver inside the cluster; the tests' own receiver).
    webhook_allow_hosts: list[str] = Field(default_factory=list)
    webhook_require_https: bool = True
    #: Connecting and reading one answer, in all.
    webhook_timeout_seconds: float = 10.0
    #: Of an answer, only this much is read (the rest is dropped, the connection closed).
    webhook_max_response_bytes: int = 64 * 1024
    #: A failing subscription's deliveries are retried for this long, then given up on.
    webhook_retry_hours: float = 24.0
    #: Back-off: the first wait, doubled each attempt up to the longest, with jitter.
    webhook_backoff_first_seconds: float = 5.0
    webhook_backoff_max_seconds: float = 3600.0
    #: A subscription failing this long is disabled (and says why).
    webhook_disable_after_hours: float = 72.0
    #: Subscriptions one replica delivers to at once (each in its own order).
    webhook_concurrency: int = 32
    #: Seconds between looks for due deliveries when nothing woke the dispatcher.
    webhook_poll_seconds: float = 0.5
    #: How long a replica holds a subscription without renewing (a dead one's are taken).
    webhook_lease_seconds: float = 30.0
    #: Delivered deliveries and their attempts are kept this long.
    webhook_keep_days: float = 7.0
