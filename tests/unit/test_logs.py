from __future__ import annotations

import json
import logging

import pytest
from opentelemetry.sdk.trace import TracerProvider

from shared.logs import JsonFormatter

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
