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
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


class BodySizeLimit:
    """Reject request bodies over ``max_bytes`` with 413, before reading them whole."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._reject(send)
                return
        received = 0
        too_large = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    too_large = True
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            await self._reject(send)

    async def _reject(self, send: Send) -> None:
        body = Problem(
            413, "Request body too large", f"The body may be at most {self.max_bytes} bytes."
        ).body()
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


class SecurityHeaders:
    """Security headers on every response; a CSP without inline scripts except on the API docs."""

    def __init__(self, app: ASGIApp, docs_paths: tuple[str, ...] = ("/docs", "/redoc")) -> None:
        self.app = app
        self.docs_paths = docs_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = (DOCS_CSP if scope["path"].startswith(self.docs_paths) else STRICT_CSP).encode()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    *_SECURITY_HEADERS,
                    (b"content-security-policy", csp),
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


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
