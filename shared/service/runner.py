"""Run one service's FastAPI app under uvicorn: the entry point of each ``__main__``."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import socket
from collections.abc import Callable, Iterator

import uvicorn
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.instrumentation.redis import RedisInstrumentor

from shared.observability.logs import configure_logging
from shared.observability.tracing import make_tracer_provider, tracing_disabled
from shared.service.http_guard import HttpLimits, guarded_protocol
from shared.settings import NewsroomSettings

log = logging.getLogger(__name__)


def serve(settings: NewsroomSettings, build: Callable[..., FastAPI]) -> None:
    configure_logging(settings.service_name, settings.log_level, settings.log_format)
    provider = make_tracer_provider(settings.service_name, settings.namespace)
    trace.set_tracer_provider(provider)
    if not tracing_disabled():
        # redis-py commands become CLIENT spans (process-wide: one provider per process).
        RedisInstrumentor().instrument(tracer_provider=provider)
    app = build(settings, tracer_provider=provider)
    # Everything built so far lives as long as the process: keep the garbage
    # collector from scanning it again and again under load.
    gc.collect()
    gc.freeze()
    # A batch of views makes thousands of short-lived objects, freed by reference
    # counting, not by the collector: at the default 700 allocations it ran several
    # times per batch for nothing (docs/benchmarks.md).
    gc.set_threshold(50_000, 50, 1000)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        log_config=None,  # uvicorn logs through our JSON handler too
        access_log=False,
        timeout_graceful_shutdown=10,
        # No "server: uvicorn" on every answer: it tells an attacker what to try, and
        # costs a header line per response.
        server_header=False,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        http=guarded_protocol(HttpLimits.from_settings(settings)),
        timeout_keep_alive=settings.keep_alive_seconds,
    )
    server = uvicorn.Server(config)
    sockets = [_shared_socket(settings.host, settings.port)] if settings.reuse_port else None
    if not settings.metrics_port:
        server.run(sockets=sockets)
        return
    ops = OpsServer(
        uvicorn.Config(
            app.state.ops,
            host=settings.host,
            port=settings.metrics_port,
            log_level="warning",
            log_config=None,
            access_log=False,
            lifespan="off",  # the service's app owns the lifespan; this one only reads it
            server_header=False,
            timeout_keep_alive=settings.keep_alive_seconds,
        )
    )
    ops_sockets = (
        [_shared_socket(settings.host, settings.metrics_port)] if settings.reuse_port else None
    )
    asyncio.run(_serve_both(server, sockets, ops, ops_sockets))


class OpsServer(uvicorn.Server):
    """The metrics port's server: it leaves the signals to the service's server, and stops
    after it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _serve_both(
    server: uvicorn.Server,
    sockets: list[socket.socket] | None,
    ops: OpsServer,
    ops_sockets: list[socket.socket] | None,
) -> None:
    async def serve_ops() -> None:
        try:
            await ops.serve(sockets=ops_sockets)
        except SystemExit:  # uvicorn exits when it cannot bind: the service goes on without
            log.error("the metrics port %s could not be opened", ops.config.port)

    ops_task = asyncio.create_task(serve_ops())
    try:
        await server.serve(sockets=sockets)
    finally:
        ops.should_exit = True
        await ops_task


def _shared_socket(host: str, port: int) -> socket.socket:
    """A listening socket other replicas can bind too (the kernel balances between them)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock
