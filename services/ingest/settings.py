from __future__ import annotations

from shared.settings import NewsroomSettings


class IngestSettings(NewsroomSettings):
    service_name: str = "ingest"
    #: Largest article upload accepted (HTML pages are rarely over 2 MB).
    max_upload_bytes: int = 5 * 1024 * 1024
