from __future__ import annotations

from shared.settings import NewsroomSettings


class SearchSettings(NewsroomSettings):
    service_name: str = "search"
    #: Articles fetched from ingest per round of a rebuild.
    rebuild_batch: int = 50
