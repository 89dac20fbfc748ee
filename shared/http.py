"""HTTP pieces every service's FastAPI app shares.

Errors use one JSON shape everywhere: RFC 9457 problem details, with
``errors`` listing one message per field for validation failures.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.metrics import Metrics

PROBLEM_JSON = "application/problem+json"


class FieldError(BaseModel):
    field: str = Field(examples=["email"])
    message: str = Field(examples=["البريد الإلكتروني غير صالح."])


class ProblemDetails(BaseModel):
    """Every error, in every service: RFC 9457 problem details (``application/problem+json``)."""

    type: str = Field(default="about:blank")
    title: str = Field(examples=["Invalid comment"])
    status: int = Field(examples=[422])
    detail: str | None = Field(default=None, examples=["بعض الحقول غير صحيحة."])
    instance: str | None = Field(default=None, examples=["/api/v1/articles/…/comments"])
    errors: list[FieldError] | None = Field(
        default=None, description="One message per invalid field"
    )


class Problem(Exception):
    """An error a client should see, as problem details."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors
        self.headers = dict(headers or {})

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"type": "about:blank", "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        if instance:
            body["instance"] = instance
        if self.errors is not None:
            body["errors"] = self.errors
        return body


def problem_response(problem: Problem, request: Request | None = None) -> JSONResponse:
    return JSONResponse(
        problem.body(request.url.path if request else None),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=problem.headers,
    )


def field_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    errors = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        errors.append({"field": ".".join(loc) or "body", "message": str(err.get("msg", ""))})
    return errors


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(exc, request)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        title = exc.detail if isinstance(exc.detail, str) else "Error"
        return problem_response(Problem(exc.status_code, title, headers=exc.headers), request)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return problem_response(
            Problem(422, "Invalid request", "Some fields are invalid.", errors=field_errors(exc)),
            request,
        )

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)


def bearer_guard(expected: str | None, realm: str) -> Callable[[Request], Awaitable[None]]:
    """A dependency that admits only ``Authorization: Bearer <expected>``.

    401 without credentials, 403 with wrong ones; constant-time comparison.
    With no token configured, nobody is admitted.
    """

    async def guard(request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Problem(
                401,
                "Authentication required",
                f"A {realm} bearer token is required.",
                headers={"WWW-Authenticate": f'Bearer realm="{realm}"'},
            )
        if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
            raise Problem(403, "Forbidden", f"This token is not a valid {realm} token.")

    return guard


class _TooLarge(Exception):
    pass


Check = Callable[[], Awaitable[None]]


def add_health_routes(app: FastAPI, checks: Mapping[str, Check]) -> None:
    """``/healthz`` answers while the process lives; ``/readyz`` runs every check."""

    instance = f"{socket.gethostname()}-{os.getpid()}"  # which replica answered

    @app.get("/healthz", tags=["ops"], summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "instance": instance}

    @app.get("/readyz", tags=["ops"], summary="Readiness: dependencies reachable")
    async def readyz() -> JSONResponse:
        results: dict[str, str] = {}
        ready = True
        for name, check in checks.items():
            try:
                await check()
                results[name] = "ok"
            except Exception as exc:  # a failed dependency is an answer, not a crash
                ready = False
                results[name] = f"error: {type(exc).__name__}"
        return JSONResponse(
            {"status": "ok" if ready else "unavailable", "checks": results},
            status_code=200 if ready else 503,
        )


STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# FastAPI's /docs and /redoc pages load their scripts from a CDN and run inline code.
DOCS_CSP = (
    "default-src 'self' https://cdn.jsdelivr.net; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    "frame-ancestors 'none'"
)
_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


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


def etag_for(body: bytes) -> str:
    return 'W/"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def cached_response(
    request: Request, body: bytes, media_type: str, cache_control: str, etag: str | None = None
) -> Response:
    """A response with an ETag; ``304 Not Modified`` when the client already has it."""
    etag = etag or etag_for(body)
    headers = {"ETag": etag, "Cache-Control": cache_control, "Vary": "Accept-Encoding"}
    if_none_match = request.headers.get("if-none-match", "")
    if etag in (t.strip() for t in if_none_match.split(",")) or if_none_match.strip() == "*":
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)
