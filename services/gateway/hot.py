"""The three hottest routes, dispatched without FastAPI's routing and request machinery.

An article's JSON, its page and ``POST …/views`` are most of the traffic, and
their handlers take nothing but a path segment and the request. For them,
FastAPI's router, dependency solving and wrapper layers cost more than the
handlers themselves. :class:`HotRoutes` matches these three paths and calls the
very same endpoint functions (so there is one implementation of each), turns a
:class:`Problem` into the same problem response, and leaves everything else,
including each route's OpenAPI description, to FastAPI.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.web.problems import Problem, problem_response

try:  # FastAPI's native telemetry names the span after the route it selected
    from fastapi.telemetry._api import _route_selected
except ImportError:  # pragma: no cover - another FastAPI: spans keep the method name only

    def _route_selected(
        *, scope: MutableMapping[str, Any], path: str | None, mount: bool = False
    ) -> None:
        return None


from . import api, pages

Endpoint = Callable[[str, Request], Awaitable[Response]]

# (method, path pattern, the FastAPI route template it stands for, endpoint)
HOT: list[tuple[str, re.Pattern[str], str, Endpoint]] = [
    (
        "POST",
        re.compile(r"^/api/v1/articles/([^/]+)/views$"),
        "/api/v1/articles/{id_or_slug}/views",
        api.post_view,
    ),
    (
        "GET",
        re.compile(r"^/api/v1/articles/([^/]+)$"),
        "/api/v1/articles/{id_or_slug}",
        api.get_article,
    ),
    ("GET", re.compile(r"^/articles/([^/]+)$"), "/articles/{slug}", pages.article_page),
]


class HotRoutes:
    def __init__(self, app: ASGIApp, fastapi: FastAPI) -> None:
        self.app = app
        self.fastapi = fastapi
        routes = {
            r.path: r for r in [*api.router.routes, *pages.router.routes] if isinstance(r, APIRoute)
        }
        self.hot = [(m, pattern, routes[template], fn) for m, pattern, template, fn in HOT]
        # Literal siblings (``/api/v1/articles/popular``) are other routes, not articles.
        self.literals = {path for path in routes if "{" not in path}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] not in self.literals:
            method, path = scope["method"], scope["path"]
            for hot_method, pattern, route, endpoint in self.hot:
                if method == hot_method and (match := pattern.match(path)):
                    await self._call(scope, receive, send, route, endpoint, match.group(1))
                    return
        await self.app(scope, receive, send)

    async def _call(
        self, scope: Scope, receive: Receive, send: Send, route: Any, endpoint: Endpoint, arg: str
    ) -> None:
        # What FastAPI's router would have done: the route in the scope (metrics label
        # by its template), the app's router, and the SERVER span named after the route.
        scope["route"] = route
        scope.setdefault("router", self.fastapi.router)
        _route_selected(scope=scope, path=route.path)
        request = Request(scope, receive)
        try:
            response = await endpoint(arg, request)
        except Problem as problem:
            response = problem_response(problem, request)
        await response(scope, receive, send)
