"""The ASGI layer every request passes through first."""

from __future__ import annotations

import json
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.observability.metrics import Metrics
from shared.web.problems import PROBLEM_JSON, Problem

STRICT_CSP = (
    # Images from anywhere on HTTPS: articles' lead images live on the newsroom's CDN.
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# The /docs and /redoc pages run inline code (their assets are ours: shared/web/docs.py).
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; frame-ancestors 'none'"
)
_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


class _TooLarge(Exception):
    pass


class Edge:
    """What every request passes through, in one ASGI layer: the body-size limit (413
    before the body is read whole), security headers with a CSP without inline
    scripts (except on the API docs), and the request metrics by route template.

    One layer rather than three: on the hottest routes each layer's wrapped
    ``send`` costs an extra closure call and await per message.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics | None = None,
        max_body_bytes: int | None = None,
        security_headers: bool = False,
        docs_paths: tuple[str, ...] = ("/docs", "/redoc"),
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.security_headers = security_headers
        self.docs_paths = docs_paths
        self._strict = [*_SECURITY_HEADERS, (b"content-security-policy", STRICT_CSP.encode())]
        self._docs = [*_SECURITY_HEADERS, (b"content-security-policy", DOCS_CSP.encode())]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        extra: list[tuple[bytes, bytes]] = []
        if self.security_headers:
            extra = self._docs if scope["path"].startswith(self.docs_paths) else self._strict

        async def edge_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if extra:
                    message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        try:
            limit = self.max_body_bytes
            if limit is None or scope["method"] in ("GET", "HEAD", "OPTIONS"):
                await self.app(scope, receive, edge_send)
            elif _declared_length(scope) > limit:
                await _reject_too_large(edge_send, limit)
            else:
                await self._limited(scope, receive, edge_send, limit)
        finally:
            if self.metrics is not None:
                route = getattr(scope.get("route"), "path", None) or "unmatched"
                self.metrics.observe_request(
                    scope["method"], route, status, time.perf_counter() - started
                )

    async def _limited(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            await _reject_too_large(send, limit)


def _declared_length(scope: Scope) -> int:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


async def _reject_too_large(send: Send, limit: int) -> None:
    body = Problem(413, "Request body too large", f"The body may be at most {limit} bytes.").body()
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
