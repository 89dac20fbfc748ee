from __future__ import annotations

from shared.settings import NewsroomSettings


class GatewaySettings(NewsroomSettings):
    service_name: str = "gateway"
    #: Seconds the gateway waits for a downstream service before degrading.
    upstream_timeout: float = 2.0
    #: Largest request body the gateway accepts (article imports are the biggest).
    max_body_bytes: int = 5 * 1024 * 1024
    site_name: str = "نيوزروم"
