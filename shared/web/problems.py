"""Errors in one JSON shape everywhere: RFC 9457 problem details, with
``errors`` listing one message per field for validation failures."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.storage.pagination import BadCursor
from shared.web.field_messages import field_errors

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


T = TypeVar("T")


def found(value: T | None, title: str, detail: str) -> T:
    """``value``; none there is the client's ``404`` with ``title`` and ``detail``."""
    if value is None:
        raise Problem(404, title, detail)
    return value


def problem_response(problem: Problem, request: Request | None = None) -> JSONResponse:
    return JSONResponse(
        problem.body(request.url.path if request else None),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=problem.headers,
    )


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
            Problem(
                422,
                "Invalid request",
                "Some fields are invalid.",
                errors=field_errors(exc.errors(), request=True),
            ),
            request,
        )

    async def on_bad_cursor(request: Request, exc: Exception) -> JSONResponse:
        # A cursor is ours to hand out: one that does not decode is the client's 400.
        return problem_response(Problem(400, "Invalid cursor", str(exc)), request)

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(BadCursor, on_bad_cursor)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
