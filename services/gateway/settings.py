from __future__ import annotations

from pydantic import Field

from shared.settings import NewsroomSettings


class GatewaySettings(NewsroomSettings):
    service_name: str = "gateway"
    #: Seconds the gateway waits for a downstream service before degrading.
    upstream_timeout: float = 2.0
    #: Seconds an editor's or moderator's call to a service may take (page imports).
    editor_timeout: float = 30.0
    #: Largest request body the gateway accepts (article imports are the biggest).
    max_body_bytes: int = 5 * 1024 * 1024
    #: The public listener bounds each client address (trusted proxies exempt).
    connections_per_client: int = 64
    site_name: str = "نيوزروم"
    #: One line that says what the site is: the front page's description.
    site_description: str = "آخر الأخبار والتقارير والتحليلات."
    #: The site's public address (``https://news.example``): canonical URLs, feeds and
    #: sitemaps. Unset: the address each request came to.
    public_url: str | None = None
    #: View posts per client per minute before 429. 0: no limit here (the edge's own, e.g.
    #: nginx ``limit_req``: on a cluster that saves the gateway a second Redis call a view).
    views_per_minute: int = Field(default=120, ge=0)
    #: Distinct readers one client address may bring one article per dedupe window;
    #: more are not counted (readers behind one shared address: docs/privacy.md). 0: no bound.
    readers_per_address: int = 50
    #: Seconds a comment form's token is good for, after the page loaded.
    form_token_seconds: float = 7200.0
    #: Honour ``DNT: 1`` / ``Sec-GPC: 1`` by not counting the view.
    honor_dnt: bool = False
    #: Seconds a cached article is served before it is checked again with ingest.
    article_cache_seconds: float = 60.0
    #: Comment posts per client per minute before 429. 0: no limit here (the edge's).
    comments_per_minute: int = Field(default=5, ge=0)
    #: A comment sent sooner than this after the page loaded is likely a bot's.
    min_submit_seconds: float = 3.0
    #: Key that signs the form's page-load time; shared by replicas through Redis when unset.
    form_secret: str | None = None
    #: Tokens that may read every public event type at ``GET /api/v1/events``.
    subscriber_tokens: list[str] = Field(default_factory=list)
    #: Anyone may read the article events there without a token (comment events never).
    public_article_events: bool = False
    #: Seconds between heartbeats on an idle event stream (proxies keep it open).
    events_heartbeat_seconds: float = 15.0
    #: Events an event-stream client may fall behind before it is cut off (it resumes).
    events_buffer: int = 1000
    #: Origins allowed to call the API from a browser (CORS); none by default.
    cors_origins: list[str] = Field(default_factory=list)
    #: Seconds view counts are reused before asking the views service again.
    views_cache_seconds: float = 1.0
    #: Seconds approved comments are reused (comment events drop them sooner).
    comments_cache_seconds: float = 30.0
    #: Approved comments an article shows at most (oldest first), fetched a page at a time.
    comments_per_article: int = Field(default=1000, ge=1)
    #: Hours a console login lasts.
    console_session_hours: float = 8.0
    #: Mark the console's CSRF cookie Secure (set where the console is served over HTTPS;
    #: the session cookie follows the request's scheme by itself).
    console_secure_cookies: bool = False
