"""Routes that take a path parameter and the request, called without per-request
dependency solving.

The article JSON, its page and ``POST …/views`` are most of the traffic and
need nothing but those two; FastAPI's dependency solving costs more than their
handlers. ``get_route_handler`` is FastAPI's documented hook for a route class
of one's own; the route stays in the router (matching, OpenAPI, telemetry,
metrics by template) like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute

from shared.web.problems import Problem, problem_response


class LeanRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint = self.endpoint
        (param,) = self.param_convertors  # one path parameter, passed first

        async def handle(request: Request) -> Response:
            try:
                response: Response = await endpoint(request.path_params[param], request)
            except Problem as problem:
                return problem_response(problem, request)
            return response

        return handle


F = TypeVar("F", bound=Callable[..., Any])


def lean(router: APIRouter, path: str, *, methods: list[str], **options: Any) -> Callable[[F], F]:
    """``@router.get(path)``, but the route is a :class:`LeanRoute`."""

    def register(endpoint: F) -> F:
        router.add_api_route(
            path, endpoint, methods=methods, route_class_override=LeanRoute, **options
        )
        return endpoint

    return register
