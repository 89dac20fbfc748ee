"""Structured logs: one JSON object per line, with the current trace and span ids."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import orjson
from opentelemetry import trace
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            doc["trace_id"] = format(context.trace_id, "032x")
            doc["span_id"] = format(context.span_id, "016x")
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(doc).decode()


class OutageNoise(logging.Filter):
    """A Redis outage makes FastStream log "Message fetch error" with a full traceback,
    every second, for every subscriber. Keep one line per subscriber and error kind
    every ``every`` seconds, at WARNING, without the traceback; the consumers'
    own log says when they recover."""

    def __init__(self, every: float = 30.0) -> None:
        super().__init__()
        self.every = every
        self._last: dict[tuple[str, str], float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None or not _is_connection_error(exc):
            return True
        key = (record.getMessage(), type(exc).__name__)
        now = time.monotonic()
        if now - self._last.get(key, -self.every) < self.every:
            return False
        self._last[key] = now
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.msg = (
            f"{record.getMessage()}: {type(exc).__name__}: {exc} (repeats muted {self.every:.0f} s)"
        )
        record.args, record.exc_info, record.exc_text = None, None, None
        return True


def _is_connection_error(exc: BaseException) -> bool:
    return isinstance(exc, RedisConnectionError | RedisTimeoutError | ConnectionError | OSError)


def configure_logging(service: str, level: str, fmt: str) -> None:
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(
            logging.Formatter(f"%(asctime)s %(levelname)s %(name)s [{service}] %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Request-by-request client logs belong in traces, not in the service log;
    # FastStream's start/stop chatter likewise. Failures still come through.
    for noisy in ("httpx", "faststream", "newsroom.broker"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("newsroom.broker").addFilter(OutageNoise())
    # trafilatura logs a page without an article as an ERROR; for us it is a 422 answer.
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # our own line says what migrated
