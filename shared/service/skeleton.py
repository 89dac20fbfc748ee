"""One skeleton for every service: a service declares what it is, :func:`build_app` makes it.

A :class:`Service` names its routers, its stream handlers (plain functions,
given what they need by parameter name), its background tasks and readiness
checks. The builder makes from settings what every service has: tracer,
broker, Redis client, engines, metrics, consumers, outbox relay, lifespan, and
the health, readiness and metrics routes. Nothing is built at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, Literal, TypeVar, cast

import redis.asyncio as aioredis
from fastapi import Depends, FastAPI, Request
from faststream.redis import RedisBroker, StreamSub
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy import Engine, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.contracts.streams import BY_NAME, Streams, consumer_groups
from shared.messaging.broker import make_broker
from shared.messaging.consuming import StreamConsumer, start_consumers, stop_consumers
from shared.messaging.outbox import OutboxColumns, OutboxRelay
from shared.messaging.redis_client import make_redis
from shared.messaging.replication import Replication
from shared.observability.metrics import Metrics, add_metrics_route
from shared.observability.tracing import TracedApp, instrument_engine, make_tracer_provider
from shared.settings import NewsroomSettings
from shared.storage.engines import Sessions, make_engine, make_sync_engine, session_factory
from shared.storage.migrations import Schema, prepare_schema
from shared.web.auth import bearer_guard
from shared.web.docs import install_offline_docs
from shared.web.edge import Edge
from shared.web.health import add_health_routes
from shared.web.lean_route import FirstRoute
from shared.web.problems import install_problem_handlers

S = TypeVar("S", bound=NewsroomSettings)
D = TypeVar("D")
log = logging.getLogger(__name__)
Fn = Callable[..., Awaitable[Any]]
#: How long a synchronous writer waits for SQLite's lock at once, on the event loop.
LOOP_BUSY_MS = 50


@dataclass(frozen=True)
class StreamHandler:
    """Read ``stream`` in the service's consumer group; ``apply(entries, **needs)``
    gets the batches. ``event_type`` defaults to the stream map's."""

    stream: str
    apply: Callable[..., Awaitable[Collection[str] | None]]
    batch_size: int | Callable[[Any], int] = 100
    workers: int | Callable[[Any], int] = 1
    event_type: Any = None


@dataclass(frozen=True)
class Follower:
    """Every replica reads every entry of ``stream`` (no group): ``handle(body, **needs)``."""

    stream: str
    handle: Fn
    polling_ms: int = 100


@dataclass
class Kit:
    """What the builder makes for every service; the service's own pieces are made from it."""

    settings: Any
    tracer_provider: TracerProvider
    streams: Streams
    broker: RedisBroker
    redis: aioredis.Redis
    metrics: Metrics
    #: How writes answered 202 wait for a replica (settings ``redis_wait_*``).
    replication: Replication
    reads: AsyncEngine | None = None
    writer: AsyncEngine | Engine | None = None
    #: Sessions on the async writer (``writer="async"``).
    writes: async_sessionmaker[AsyncSession] | None = None
    relay: OutboxRelay | None = None

    @functools.cached_property
    def read_sessions(self) -> Sessions:
        """Sessions on the read engine (a service with a database), made once."""
        assert self.reads is not None, "the service declares no writer, so no database"
        return session_factory(self.reads)

    @property
    def write_sessions(self) -> Sessions:
        """Sessions on the async writer (``writer="async"``)."""
        assert self.writes is not None, 'the service declares no writer="async"'
        return self.writes

    def guard(self, role: Literal["editor", "moderator"]) -> Fn:
        """The bearer-token check of ``role``, with the token its settings give."""
        return bearer_guard(getattr(self.settings, f"{role}_token"), role)


@dataclass(frozen=True)
class Service(Generic[S, D]):
    name: str
    #: The service's own pieces (desks, policies, caches), made once from the kit.
    parts: Callable[[Kit], D]
    #: Routes of the app itself, tried before the routers' (the hottest ones).
    first_routes: Sequence[FirstRoute] = ()
    routers: Sequence[Any] = ()
    handlers: Sequence[StreamHandler] = ()
    followers: Sequence[Follower] = ()
    #: Run from start to stop; given what they name, from the parts or the kit.
    tasks: Sequence[Fn] = ()
    on_start: Sequence[Fn] = ()
    on_stop: Sequence[Fn] = ()
    ready: Mapping[str, Fn] = field(default_factory=dict)
    schema: Schema | None = None
    #: Writes: an async engine, or a synchronous one (run in a thread, see views).
    #: Both take SQLite's write lock at BEGIN: a service reads, then writes.
    writer: Literal["async", "sync"] | None = None
    outbox: type[OutboxColumns] | None = None
    #: Largest request body, read from the settings.
    body_limit: Callable[[Any], int | None] = lambda settings: None
    security_headers: bool = False
    #: Its port faces the internet (the gateway): /metrics is never served there.
    public: bool = False
    #: Report every group's lag, not only this service's (the gateway does).
    reports_all_groups: bool = False
    #: Start even when Redis is down (reads can still be served).
    optional_broker: bool = False
    redis_options: Mapping[str, Any] = field(default_factory=dict)
    title: str | None = None  # default: "Newsroom <name> (internal)"
    description: str | None = None
    #: Anything the app needs that is not a router (middleware, mounts, OpenAPI).
    configure: Callable[[FastAPI, D], None] | None = None


def parts_of(request: Request) -> Any:
    """The service's parts (for its typed ``Annotated`` dependencies)."""
    return request.app.state.parts


async def all_parts(request: Request) -> Any:
    """The service's parts as a dependency: ``Annotated[XParts, Depends(all_parts)]``."""
    return request.app.state.parts


def part(name: str) -> Callable[[Request], Awaitable[Any]]:
    """A dependency giving one of the service's parts: ``Annotated[X, Depends(part("x"))]``.

    Dependencies here are coroutines: FastAPI runs a plain function in its thread pool,
    a thread hop per dependency per request.
    """

    async def dependency(request: Request) -> Any:
        return getattr(request.app.state.parts, name)

    dependency.__name__ = name
    return dependency


def requires(role: Literal["editor", "moderator"]) -> Callable[[Request], Awaitable[None]]:
    """A route dependency: the parts' ``<role>_guard`` (see :meth:`Kit.guard`) lets it in."""

    async def dependency(request: Request) -> None:
        await getattr(request.app.state.parts, f"{role}_guard")(request)

    dependency.__name__ = role
    return dependency


#: A service's sessions, as its routes are given them.
Reads = Annotated[Sessions, Depends(part("reads"))]
Writes = Annotated[Sessions, Depends(part("writes"))]


def needs(fn: Callable[..., Any], *sources: Any, skip: int = 0) -> dict[str, Any]:
    """The arguments ``fn`` names (after the first ``skip``), found by name in ``sources``."""
    found: dict[str, Any] = {}
    for name in list(inspect.signature(fn).parameters)[skip:]:
        for source in sources:
            if hasattr(source, name):
                found[name] = getattr(source, name)
                break
        else:
            raise TypeError(f"{fn.__qualname__} needs {name!r}, which no part provides")
    return found


@dataclass(frozen=True, slots=True)
class _Partition:
    """What a handler of a partitioned stream is told: which partition it applies."""

    partition: int


def _setting(value: int | Callable[[Any], int], settings: Any) -> int:
    return value(settings) if callable(value) else value


def _apply_with(handler: StreamHandler, kw: dict[str, Any]) -> Callable[..., Any]:
    apply = handler.apply

    async def bound(entries: Any) -> Any:
        return await apply(entries, **kw)

    return bound


#: How long a partition's blocked read waits for entries (one stream: the consumer's default).
PARTITION_POLLING_MS = 1000

#: A follower starts this far back: replaying recent events only drops cache entries again,
#: and it covers a clock a little ahead of Redis's and the time until the broker starts.
FOLLOW_FROM_SECONDS_AGO = 30.0


def _recent_entry_id(seconds_ago: float) -> str:
    """A stream id from ``seconds_ago``: a follower begins there, not at ``$``. With ``$``
    XREAD is asked for entries newer than the last one *at each call* until one arrives,
    so on a quiet stream an entry written between two calls was never seen (a scheduled
    article stayed hidden in the gateway's cache for the whole ttl)."""
    return f"{int((time.time() - seconds_ago) * 1000)}-0"


def _follow_with(follower: Follower, kw: dict[str, Any]) -> Fn:
    handle = follower.handle

    async def on_event(body: dict[str, Any]) -> None:
        await handle(body, **kw)

    return on_event


def awaiting(task: asyncio.Task[Any]) -> str:
    """Where a suspended task waits, outermost first (``run:106 > _read_once:125 > …``)."""
    where, coro = [], cast(Any, task.get_coro())
    while coro is not None and hasattr(coro, "cr_frame"):
        if coro.cr_frame is not None:
            where.append(f"{coro.cr_code.co_name}:{coro.cr_frame.f_lineno}")
        coro = coro.cr_await
    return " > ".join(where) or "unknown"


def build_app(
    service: Service[S, D], settings: S, tracer_provider: TracerProvider | None = None
) -> FastAPI:
    tracer_provider = tracer_provider or make_tracer_provider(service.name, settings.namespace)
    streams = settings.streams
    client = make_redis(settings.redis_url, cluster=settings.redis_cluster, **service.redis_options)
    kit = Kit(
        settings=settings,
        tracer_provider=tracer_provider,
        streams=streams,
        broker=make_broker(settings, tracer_provider),
        redis=client,
        metrics=Metrics(service.name),
        replication=Replication(
            client, settings.wait_replicas, settings.redis_wait_ms, settings.redis_cluster
        ),
    )
    if service.writer is not None:
        url = settings.own_database_url
        kit.reads = make_engine(url)
        kit.writer = (
            make_engine(url, immediate=True)
            if service.writer == "async"
            # Run on the event loop (see views' run_write): wait for SQLite's lock briefly,
            # then let the loop go on and try again, never hold it for the full timeout.
            else make_sync_engine(url, immediate=True, busy_ms=LOOP_BUSY_MS)
        )
        for engine in (kit.reads, kit.writer):
            instrument_engine(engine, tracer_provider)
        if isinstance(kit.writer, AsyncEngine):
            kit.writes = session_factory(kit.writer)
    if service.outbox is not None:
        assert kit.writes is not None, "an outbox needs an async writer"
        kit.relay = OutboxRelay(
            kit.writes,
            service.outbox,
            kit.broker,
            streams,
            maxlen=settings.stream_maxlen,
            batch_size=settings.relay_batch_size,
            poll_interval=settings.relay_poll_interval,
            redis=kit.redis,
            replication=kit.replication,
        )
    parts = service.parts(kit)

    consumers: dict[str, StreamConsumer[Any]] = {}
    for handler in service.handlers:
        spec = BY_NAME[handler.stream]
        if service.name not in spec.groups:
            raise ValueError(f"the stream map has no {service.name} group on {spec.name}")
        keys = streams.physical(spec)
        for partition, key in enumerate(keys):
            # Each partition is a stream with its own group: every replica reads each one,
            # Redis gives an entry to one of them, and a stopped replica's pending entries
            # are claimed by the others, partition by partition (the consumer's claiming).
            name = spec.name if len(keys) == 1 else f"{spec.name}#{partition}"
            consumers[name] = StreamConsumer[Any](
                broker=kit.broker,
                client=kit.redis,
                stream=key,
                group=service.name,
                consumer=settings.consumer_name,
                event_type=handler.event_type or spec.event_type,
                apply=_apply_with(
                    handler,
                    needs(handler.apply, _Partition(partition), parts, kit, skip=1),
                ),
                batch_size=_setting(handler.batch_size, settings),
                workers=_setting(handler.workers, settings),
                max_deliveries=settings.max_deliveries,
                claim_idle_ms=settings.claim_idle_ms,
                tracer_provider=tracer_provider,
                metrics=kit.metrics,
                # A blocked read returns as soon as entries come: a longer block only
                # spares an idle replica most of its reads of 64 streams (docs/benchmarks.md).
                **({"polling_ms": PARTITION_POLLING_MS} if len(keys) > 1 else {}),
            )
    for follower in service.followers:
        spec = BY_NAME[follower.stream]
        if service.name not in spec.followers:
            raise ValueError(f"the stream map has no {service.name} follower on {spec.name}")
        kit.broker.subscriber(
            stream=StreamSub(
                streams.of(spec),
                polling_interval=follower.polling_ms,
                last_id=_recent_entry_id(FOLLOW_FROM_SECONDS_AGO),
            ),
            title=f"{spec.name}:{service.name}-follower",
        )(_follow_with(follower, needs(follower.handle, parts, kit, skip=1)))

    async def call(fn: Fn) -> Any:
        return await fn(**needs(fn, parts, kit))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if service.schema is not None:
            await prepare_schema(
                service.schema, settings.own_database_url, settings.migrate_on_start
            )
        for hook in service.on_start:
            await call(hook)
        try:
            await start_consumers(kit.broker, list(consumers.values()))
        except (aioredis.ConnectionError, OSError) as exc:
            if not service.optional_broker:
                raise
            log.error("%s started without Redis streams: %r", service.name, exc)
        background: list[asyncio.Task[Any]] = [
            asyncio.create_task(call(task), name=task.__name__)
            for task in [*service.tasks, *([kit.relay.run] if kit.relay else [])]
        ]
        try:
            yield
        finally:
            await stop_consumers(kit.broker, list(consumers.values()))
            for task in background:
                task.cancel()
            # Bounded: one task that does not end when cancelled must not keep the
            # service from stopping (the orchestrator would kill it mid-cleanup).
            done, stuck = await asyncio.wait(background, timeout=5) if background else ((), ())
            for task in stuck:
                log.error(
                    "background task %s did not stop when cancelled; it was at %s",
                    task.get_name(),
                    awaiting(task),
                )
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    log.error("background task %s failed: %r", task.get_name(), task.exception())
            for hook in service.on_stop:
                await call(hook)
            await kit.redis.aclose()
            if isinstance(kit.writer, AsyncEngine):
                await kit.writer.dispose()
            elif kit.writer is not None:
                kit.writer.dispose()
            if kit.reads is not None:
                await kit.reads.dispose()
            tracer_provider.force_flush()

    app = TracedApp(
        tracer_provider=tracer_provider,
        title=service.title or f"Newsroom {service.name} (internal)",
        version="1",
        description=service.description or "",
        lifespan=lifespan,
        docs_url=None,  # served with local assets below
        redoc_url=None,
    )
    app.state.parts = parts
    app.state.kit = kit
    app.state.consumers = consumers
    install_problem_handlers(app)
    fastapi_routes = len(app.router.routes)  # /openapi.json
    for route in service.first_routes:
        route.register(app)
    # The hottest routes are tried before FastAPI's own: a router matches each route in
    # turn, and these are most of the requests.
    routes = app.router.routes
    routes[:] = routes[fastapi_routes:] + routes[:fastapi_routes]
    install_offline_docs(app)
    for router in service.routers:
        app.include_router(router)
    if service.configure is not None:
        service.configure(app, parts)

    checks: dict[str, Fn] = {}
    if kit.reads is not None:
        reads = kit.reads

        async def database() -> None:
            async with reads.connect() as conn:
                await conn.execute(text("SELECT 1"))

        checks["database"] = database
    checks.update({name: (lambda fn=fn: call(fn)) for name, fn in service.ready.items()})

    async def redis() -> None:
        await kit.redis.ping()

    checks["redis"] = redis
    if consumers:

        async def groups() -> None:
            for consumer in consumers.values():
                found = await kit.redis.xinfo_groups(consumer.stream)
                if not any(g["name"] in (service.name, service.name.encode()) for g in found):
                    raise RuntimeError(f"no consumer group on {consumer.stream}")

        checks["groups"] = groups
    reported = (
        [(key, group) for name, group in consumer_groups() for key in streams.physical(name)]
        if service.reports_all_groups
        else [(c.stream, c.group) for c in consumers.values()]
    )
    # The metrics port's app (shared/service/runner.py serves it beside this one).
    ops = FastAPI(title=f"Newsroom {service.name} (metrics)", docs_url=None, redoc_url=None)
    ops.openapi_url = None
    for target in (app, ops):
        add_health_routes(target, checks)
    add_metrics_route(ops, kit.metrics, kit.redis, reported)
    if not settings.metrics_port and not service.public:
        add_metrics_route(app, kit.metrics, kit.redis, reported)
    app.state.ops = ops
    app.add_middleware(
        Edge,
        metrics=kit.metrics,
        max_body_bytes=service.body_limit(settings),
        security_headers=service.security_headers,
    )
    return app
