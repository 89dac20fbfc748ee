"""The console as an app of its own, mounted at ``/admin``: its own error pages, its
own CSRF protection (asgi-csrf: a signed token in a cookie and in every form), and
nothing of it on the reader's hot paths."""

from __future__ import annotations

from typing import Any

from asgi_csrf import asgi_csrf
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.web.problems import Problem

from ..parts import GatewayParts, gateway
from .routes import LoginRequired, page, router


def make_console(parts: GatewayParts) -> ASGIApp:
    console = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    console.state.parts = parts
    console.include_router(router)

    async def to_login(request: Request, exc: Exception) -> Response:
        return RedirectResponse("/admin/login", status_code=303)

    async def problem_page(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)
        return page(gateway(request), request, "denied.html", exc.status, problem=exc)

    console.add_exception_handler(LoginRequired, to_login)
    console.add_exception_handler(Problem, problem_page)
    return _Csrf(console, parts)


class _Csrf:
    """asgi-csrf around the console, built at the first request: its key is the one the
    replicas share, known only once the gateway has started."""

    def __init__(self, app: ASGIApp, parts: GatewayParts) -> None:
        self.app = app
        self.parts = parts
        self.protected: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.protected is None:
            self.protected = asgi_csrf(
                self.app,
                signing_secret=self.parts.console_keys.secret,
                cookie_path="/admin",
                cookie_samesite="Strict",
                cookie_secure=self.parts.settings.console_secure_cookies,
            )
        await self.protected(scope, receive, send)
