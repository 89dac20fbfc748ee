from __future__ import annotations

from shared.settings import NewsroomSettings


class ViewsSettings(NewsroomSettings):
    service_name: str = "views"
    #: Entries read (and committed) per batch. Each batch costs about a millisecond
    #: whatever its size (one transaction, one dedupe script, one XACK), hence 1000.
    batch_size: int = 1000
    #: Batches applied at once: while one waits on Redis (the dedupe window), the
    #: next one is validated and committed. Counting stays exactly-once (see counting.py).
    apply_workers: int = 2
    #: Days the per-day unique-visitor sketches are kept.
    unique_retention_days: int = 40
    #: Hours the ledger remembers applied entries (redeliveries come much sooner).
    processed_retention_hours: int = 48
    #: Days of hourly buckets kept for the popular lists.
    hourly_retention_days: int = 8
    housekeeping_interval_seconds: float = 600.0
