"""Routes that take the request (and at most one path parameter, passed first), called
without per-request dependency solving.

The article JSON, its page and ``POST …/views`` are most of the traffic and
need nothing but those two; FastAPI's dependency solving costs more than their
handlers. ``get_route_handler`` is FastAPI's documented hook for a route class
of one's own; the route stays in the router (matching, OpenAPI, telemetry,
metrics by template) like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.routing import APIRoute

from shared.web.problems import Problem, problem_response


class LeanRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint = self.endpoint
        params = list(self.param_convertors)
        if len(params) > 1:
            raise TypeError(f"a lean route takes at most one path parameter: {self.path}")
        param = params[0] if params else None

        async def handle(request: Request) -> Response:
            try:
                if param is None:
                    response: Response = await endpoint(request)
                else:
                    response = await endpoint(request.path_params[param], request)
            except Problem as problem:
                return problem_response(problem, request)
            return response

        return handle


@dataclass(frozen=True)
class FirstRoute:
    """A route the app's own router tries first, before the included routers.

    FastAPI walks included routers for every request (each is matched, then handled);
    the few hottest routes are cheaper as routes of the app itself, tried first. A
    literal sibling (``/articles/popular`` beside ``/articles/{id}``) must come first.
    """

    path: str
    endpoint: Callable[..., Any]
    methods: tuple[str, ...]
    lean: bool = True
    options: dict[str, Any] = field(default_factory=dict)

    def register(self, app: FastAPI) -> None:
        app.router.add_api_route(
            self.path,
            self.endpoint,
            methods=list(self.methods),
            route_class_override=LeanRoute if self.lean else None,
            **self.options,
        )
