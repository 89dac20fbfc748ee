from __future__ import annotations

from shared.settings import NewsroomSettings


class IngestSettings(NewsroomSettings):
    service_name: str = "ingest"
    #: Largest article upload accepted (HTML pages are rarely over 2 MB).
    max_upload_bytes: int = 5 * 1024 * 1024
    #: Refuse an edit (PUT, PATCH) that does not name the version it changes (If-Match): 428.
    require_if_match: bool = False
    #: Seconds between looks for scheduled articles whose time has come.
    schedule_poll_seconds: float = 1.0
    #: Hours an Idempotency-Key's first answer is kept.
    idempotency_hours: float = 24.0
