"""Liveness and readiness routes."""

from __future__ import annotations

import os
import socket
from collections.abc import Awaitable, Callable, Mapping

from fastapi import FastAPI
from fastapi.responses import JSONResponse

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
