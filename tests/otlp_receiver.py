"""A minimal OTLP/HTTP trace receiver for tests: services export real spans to it."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

KINDS = {1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    name: str
    kind: str
    trace_id: str
    span_id: str
    parent_id: str
    links: tuple[tuple[str, str], ...]
    attributes: dict[str, Any]


@dataclass
class OtlpReceiver:
    spans: list[ReceivedSpan] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> str:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                receiver._add(request)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()

    def _add(self, request: ExportTraceServiceRequest) -> None:
        found = []
        for resource_spans in request.resource_spans:
            attrs = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            service = attrs.get("service.name", "?")
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    found.append(
                        ReceivedSpan(
                            service=service,
                            name=span.name,
                            kind=KINDS.get(span.kind, str(span.kind)),
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_id=span.parent_span_id.hex(),
                            links=tuple(
                                (link.trace_id.hex(), link.span_id.hex()) for link in span.links
                            ),
                            attributes={a.key: _value(a.value) for a in span.attributes},
                        )
                    )
        with self._lock:
            self.spans.extend(found)

    def connected(self, root: ReceivedSpan) -> list[ReceivedSpan]:
        """Every span reachable from ``root`` by parent/child edges and links, either way."""
        with self._lock:
            spans = list(self.spans)
        by_id = {s.span_id: s for s in spans}
        edges: dict[str, set[str]] = {s.span_id: set() for s in spans}
        for s in spans:
            for other in [s.parent_id, *[sid for _t, sid in s.links]]:
                if other in by_id:
                    edges[s.span_id].add(other)
                    edges[other].add(s.span_id)
        seen, todo = {root.span_id}, [root.span_id]
        while todo:
            for nxt in edges[todo.pop()] - seen:
                seen.add(nxt)
                todo.append(nxt)
        return [by_id[i] for i in seen]


def _value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


def tree(spans: list[ReceivedSpan], root: ReceivedSpan) -> str:
    """The spans as an indented tree (children under parents; links marked)."""
    children: dict[str, list[ReceivedSpan]] = {}
    for s in spans:
        parent = s.parent_id if s.parent_id in {x.span_id for x in spans} else None
        if parent is None:
            for _t, sid in s.links:
                if sid in {x.span_id for x in spans}:
                    parent = sid
                    break
        if parent and s is not root:
            children.setdefault(parent, []).append(s)
    lines: list[str] = []

    def walk(span: ReceivedSpan, depth: int) -> None:
        link = (
            " (linked)"
            if span.parent_id not in {x.span_id for x in spans} and span is not root
            else ""
        )
        lines.append(f"{'  ' * depth}{span.service}: {span.name} [{span.kind}]{link}")
        for child in children.get(span.span_id, []):
            walk(child, depth + 1)

    walk(root, 0)
    return "\n".join(lines)
