"""Structured logs: one JSON object per line, with the current trace and span ids."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import orjson
from opentelemetry import trace


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
    # trafilatura logs a page without an article as an ERROR; for us it is a 422 answer.
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # our own line says what migrated
