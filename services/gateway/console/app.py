"""The console as an app of its own, mounted at ``/admin``: its own error pages, its
own CSRF protection (asgi-csrf: a signed token in a cookie and in every form), and
nothing of it on the reader's hot paths."""

from __future__ import annotations

from typing import Any

from asgi_csrf import asgi_csrf
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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

    async def http_error_page(request: Request, exc: Exception) -> Response:
        # An unknown console URL or method: the console's own page, not FastAPI's JSON.
        assert isinstance(exc, HTTPException)
        message = CONSOLE_ERRORS.get(exc.status_code, CONSOLE_ERRORS[400])
        problem = Problem(exc.status_code, str(exc.detail), message)
        return page(gateway(request), request, "denied.html", exc.status_code, problem=problem)

    async def crash_page(request: Request, exc: Exception) -> Response:
        # Starlette still logs the exception and re-raises it after this answer.
        problem = Problem(500, "Internal Server Error", CONSOLE_ERRORS[500])
        return page(gateway(request), request, "denied.html", 500, problem=problem)

    console.add_exception_handler(LoginRequired, to_login)
    console.add_exception_handler(Problem, problem_page)
    console.add_exception_handler(HTTPException, http_error_page)
    console.add_exception_handler(Exception, crash_page)
    return _Csrf(console, parts)


#: What an editor or moderator reads when the console cannot answer, in both languages.
CONSOLE_ERRORS = {
    400: "تعذّر تنفيذ الطلب. / The request could not be carried out.",
    404: "هذه الصفحة غير موجودة في اللوحة. / There is no such page in the console.",
    405: "لا يمكن طلب هذه الصفحة بهذه الطريقة. / This page does not take that method.",
    500: "حدث خطأ في اللوحة؛ حاول بعد قليل. / The console failed; try again shortly.",
}
#: A post without this console's form token (an old tab, a form from elsewhere).
FORM_EXPIRED = (
    "انتهت صلاحية النموذج أو لم يُرسل من هذه اللوحة: أعد تحميل الصفحة وحاول مرة أخرى. / "
    "The form expired or did not come from this console: reload the page and try again."
)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


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
                send_csrf_failed=self._refused,
            )
        await self.protected(scope, receive, send)

    async def _refused(self, scope: Scope, send: Send, _reason: object) -> None:
        """asgi-csrf's refusal as the console's own 403 page (its default is one English line)."""
        problem = Problem(403, "Forbidden", FORM_EXPIRED)
        response = page(self.parts, Request(scope), "denied.html", 403, problem=problem)
        await response(scope, _no_body, send)
