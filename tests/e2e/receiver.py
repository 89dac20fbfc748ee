"""A webhook receiver written with the standard library only, as a partner would write one:
it verifies every Standard Webhooks signature itself (HMAC-SHA256 over
``id.timestamp.body`` with the secret's bytes, base64, ``v1,`` prefixed)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def verified(secret: str, headers: Any, body: bytes, tolerance: float = 300) -> bool:
    msg_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not (msg_id and timestamp and signatures):
        return False
    if abs(time.time() - int(timestamp)) > tolerance:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        version == "v1" and hmac.compare_digest(sig, expected)
        for version, _, sig in (s.partition(",") for s in signatures.split(" "))
    )


@dataclass
class Receiver:
    """``answer`` is what the next request gets: 200, 500, or a redirect ("redirect")."""

    host: str = "127.0.0.1"
    port: int = 0
    secret: str = ""
    answer: int | str = 200
    redirect_to: str = ""
    keep_alive: bool = False
    #: (webhook-id, event) of every request that got a 2xx, in arrival order.
    delivered: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    requests: int = 0
    failed_answers: int = 0
    bad_signatures: int = 0
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/hooks/newsroom"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            # Keep-alive as most receivers do (the bench); the drills' receiver closes each
            # connection, so that stopping it refuses the next delivery at once.
            protocol_version = "HTTP/1.1" if receiver.keep_alive else "HTTP/1.0"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver._lock:
                    receiver.requests += 1
                    if not verified(receiver.secret, self.headers, body):
                        receiver.bad_signatures += 1
                        self._answer(401)
                        return
                    if receiver.answer == "redirect":
                        self.send_response(307)
                        self.send_header("location", receiver.redirect_to)
                        self.send_header("content-length", "0")
                        self.end_headers()
                        return
                    status = int(receiver.answer)
                    if 200 <= status < 300:
                        receiver.delivered.append((self.headers["webhook-id"], json.loads(body)))
                    else:
                        receiver.failed_answers += 1
                    self._answer(status)

            def _answer(self, status: int) -> None:
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        server_class = ThreadingHTTPServer
        if ":" in self.host:

            class V6(ThreadingHTTPServer):
                import socket

                address_family = socket.AF_INET6

            server_class = V6
        self._server = server_class((self.host, self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Down: connections are refused until started again (on the same port)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def ids(self) -> list[str]:
        with self._lock:
            return [i for i, _ in self.delivered]
