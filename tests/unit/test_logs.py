from __future__ import annotations

import json
import logging

import pytest
from opentelemetry.sdk.trace import TracerProvider

from shared.observability.logs import JsonFormatter, OutageNoise

pytestmark = pytest.mark.unit


def test_log_lines_are_json_with_the_current_trace() -> None:
    formatter = JsonFormatter("views")
    record = logging.LogRecord("newsroom.x", logging.WARNING, __file__, 1, "counted %d", (3,), None)
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("work") as span:
        line = json.loads(formatter.format(record))
    assert (
        line["service"] == "views" and line["level"] == "WARNING" and line["message"] == "counted 3"
    )
    assert line["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert line["span_id"] == format(span.get_span_context().span_id, "016x")
    outside = json.loads(formatter.format(record))
    assert "trace_id" not in outside


def _fetch_error(exc: BaseException) -> logging.LogRecord:
    try:
        raise exc
    except BaseException:
        import sys

        info = sys.exc_info()
    return logging.LogRecord(
        "newsroom.broker", logging.ERROR, __file__, 1, "Message fetch error", None, info
    )


def test_a_redis_outage_logs_one_short_warning_not_a_traceback_a_second() -> None:
    import redis

    noise = OutageNoise(every=30)
    records = [_fetch_error(redis.ConnectionError("Connection refused")) for _ in range(20)]
    kept = [r for r in records if noise.filter(r)]
    assert len(kept) == 1
    line = json.loads(JsonFormatter("views").format(kept[0]))
    assert line["level"] == "WARNING" and "exception" not in line
    assert "ConnectionError: Connection refused" in line["message"]


def test_other_errors_keep_their_traceback() -> None:
    noise = OutageNoise()
    record = _fetch_error(ValueError("a bug"))
    assert noise.filter(record) and noise.filter(_fetch_error(ValueError("again")))
    line = json.loads(JsonFormatter("views").format(record))
    assert line["level"] == "ERROR" and "ValueError: a bug" in line["exception"]
