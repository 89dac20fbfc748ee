"""What a client can hold of a server before its request reaches the app: the head's
size, the time to send it and the body, idle keep-alive connections, and connections
per address (an attacker found a 10 MB header answered 200, 20 unfinished 40 MB
headers taking the gateway from 154 MB to 1 GB, and 500 slowloris connections open
for a minute). The gateway alone is enough: the limits live in every service's server."""

from __future__ import annotations

import select
import socket
import threading
from pathlib import Path

import pytest

from tests.drills.conftest import Report
from tests.e2e.platform import Services
from tests.support import wait_for

pytestmark = pytest.mark.drill

HEADER_LIMIT = 32 * 1024
CONNECTIONS = 20
TIMEOUT = 2.0
HEAD = b"GET /healthz HTTP/1.1\r\nHost: drill\r\n"


@pytest.fixture
def gateway(services: Services) -> int:
    services.extra_env.update(
        {
            # Loopback is the attacker here, so no proxy address is trusted.
            "NEWSROOM_FORWARDED_ALLOW_IPS": "192.0.2.1",
            "NEWSROOM_CONNECTIONS_PER_CLIENT": str(CONNECTIONS),
            "NEWSROOM_HEADER_TIMEOUT_SECONDS": str(TIMEOUT),
            "NEWSROOM_BODY_TIMEOUT_SECONDS": str(TIMEOUT),
            "NEWSROOM_KEEP_ALIVE_SECONDS": str(int(TIMEOUT)),
        }
    )
    services.start("gateway")
    return services.ports["gateway"]


def _connect(port: int, source: str = "127.0.0.1") -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=30, source_address=(source, 0))


def _status(sock: socket.socket) -> int | None:
    """The status the server answered, or None when it closed without a word."""
    try:
        head = sock.recv(64)
    except ConnectionResetError:
        return None
    return int(head.split()[1]) if head.startswith(b"HTTP/1.1 ") else None


def _answer(port: int, source: str = "127.0.0.1") -> int | None:
    with _connect(port, source) as sock:
        sock.sendall(HEAD + b"\r\n")
        return _status(sock)


def _push_unfinished_head(port: int, size: int) -> tuple[int, int | None]:
    """Send up to ``size`` bytes of one header, never ending it; stop when answered."""
    sent = 0
    with _connect(port) as sock:
        sock.sendall(HEAD + b"X-Padding: ")
        chunk = b"a" * 65536
        try:
            while sent < size and not select.select([sock], [], [], 0)[0]:
                sock.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return sent, _status(sock)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _gateway_pid(port: int) -> int:
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(f":{port:04X}") and fields[3] == "0A":  # LISTEN
            inode = fields[9]
    assert inode, f"nothing listens on {port}"
    for fd in Path("/proc").glob("[0-9]*/fd/*"):
        try:
            if fd.readlink().name == f"socket:[{inode}]":
                return int(fd.parts[2])
        except OSError:
            continue
    raise AssertionError(f"no process holds port {port}")


def test_oversized_headers_get_431_and_cost_no_memory(gateway: int, report: Report) -> None:
    port = gateway
    assert _answer(port) == 200
    # One 10 MB header: refused once the head passes the limit.
    sent, status = _push_unfinished_head(port, 10 * 1024 * 1024)
    assert status == 431, (sent, status)
    # A head over the limit that arrives whole in one read is refused as well.
    with _connect(port) as sock:
        sock.sendall(HEAD + b"X-Padding: " + b"a" * (HEADER_LIMIT + 1000) + b"\r\n\r\n")
        assert _status(sock) == 431
    # A URL over the limit is the URL's fault: 414.
    with _connect(port) as sock:
        sock.sendall(b"GET /" + b"a" * (HEADER_LIMIT + 1000) + b" HTTP/1.1\r\nHost: drill\r\n\r\n")
        assert _status(sock) == 414
    # 20 clients pushing 40 MB unfinished headers at once.
    pid = _gateway_pid(port)
    before = _rss_mb(pid)
    results: list[tuple[int, int | None]] = []
    threads = [
        threading.Thread(target=lambda: results.append(_push_unfinished_head(port, 40 << 20)))
        for _ in range(CONNECTIONS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    grown = _rss_mb(pid) - before
    refused = sum(1 for _, status in results if status == 431)
    assert refused == CONNECTIONS, results
    assert grown < 50, f"the gateway grew {grown:.0f} MB"  # it was 850 MB before the limit
    assert _answer(port) == 200  # and it still serves
    report(
        sent=CONNECTIONS + 2,
        stored=refused + 2,
        note=f"10 MB and 20×40 MB heads: 431; gateway grew {grown:.1f} MB",
    )


def test_slowloris_is_cut_off_and_one_address_cannot_hold_the_site(
    gateway: int, report: Report
) -> None:
    port = gateway
    attackers = [_connect(port) for _ in range(5 * CONNECTIONS)]
    refused = 0
    for sock in attackers:
        sock.setblocking(False)
        try:
            sock.sendall(HEAD)
        except OSError:
            pass

    # Beyond the per-address limit, a connection is answered 429 at once.
    def answered() -> list[socket.socket]:
        ready = select.select(attackers, [], [], 0)[0]
        return ready if len(ready) >= 4 * CONNECTIONS else []

    turned_away = wait_for(answered, timeout=10, what="connections over the limit answered")
    for sock in turned_away:
        sock.setblocking(True)
        refused += _status(sock) == 429
    assert refused == 4 * CONNECTIONS
    held = [sock for sock in attackers if sock not in turned_away]
    assert len(held) == CONNECTIONS
    # Another reader is served meanwhile.
    assert _answer(port, source="127.0.0.2") == 200

    def all_cut_off() -> bool:
        for sock in held:
            try:
                sock.send(b"X-Slow: 1\r\n")  # slowloris keeps sending a line at a time
            except OSError:
                pass
        return all(select.select([sock], [], [], 0)[0] for sock in held)

    wait_for(all_cut_off, timeout=TIMEOUT * 5, interval=0.25, what="slow heads cut off")
    answers = []
    for sock in held:
        sock.setblocking(True)
        answers.append(_status(sock))
        sock.close()
    for sock in turned_away:
        sock.close()
    # The held connections were released: the address may connect again.
    wait_for(lambda: _answer(port) == 200, timeout=TIMEOUT * 2, what="the address served again")
    timed_out = sum(1 for status in answers if status in (408, None))
    assert timed_out == CONNECTIONS, answers
    report(
        sent=len(attackers),
        stored=refused + timed_out,
        note=f"{refused} refused 429, {timed_out} cut off after {TIMEOUT} s (408)",
    )


def test_a_stalled_body_and_idle_connections_are_closed(gateway: int, report: Report) -> None:
    port = gateway
    with _connect(port) as stalled:
        stalled.sendall(
            b"POST /api/v1/articles/any/comments HTTP/1.1\r\nHost: drill\r\n"
            b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"na'
        )
        assert _status(stalled) == 408
    with _connect(port) as silent:
        assert silent.recv(64) == b""  # connected, said nothing: closed
    with _connect(port) as idle:
        idle.sendall(HEAD + b"\r\n")
        assert _status(idle) == 200
        while idle.recv(65536):  # the rest of the answer, then the close
            pass
    report(sent=3, stored=3, note=f"stalled body 408, silent and idle closed after {TIMEOUT} s")


def test_a_forged_forwarded_for_from_an_untrusted_peer_is_judged_by_its_real_address(
    services: Services, report: Report
) -> None:
    """Only the proxies of NEWSROOM_FORWARDED_ALLOW_IPS name a reader's address: from any
    other peer, ``X-Forwarded-For`` is ignored, so naming a new address per request does
    not get around the per-address view limit."""
    import httpx

    services.extra_env.update(
        {
            "NEWSROOM_FORWARDED_ALLOW_IPS": "127.0.0.1",  # the proxy; 127.0.0.2 is a client
            "NEWSROOM_VIEWS_PER_MINUTE": "3",
        }
    )
    services.start("ingest", "gateway")
    article = services.import_seed()
    url = f"{services.gateway}/api/v1/articles/{article['id']}/views"
    browser = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Firefox/128.0"}

    def views_from(source: str, prefix: str) -> list[int]:
        transport = httpx.HTTPTransport(local_address=source)
        with httpx.Client(transport=transport, timeout=10) as client:
            return [
                client.post(
                    url, headers={**browser, "X-Forwarded-For": f"{prefix}.{n}"}
                ).status_code
                for n in range(1, 6)
            ]

    # A client naming five addresses is still one address: three views a minute.
    assert views_from("127.0.0.2", "198.51.100") == [202, 202, 202, 429, 429]
    # The trusted proxy's forwarded addresses are five readers.
    assert views_from("127.0.0.1", "203.0.113") == [202] * 5
    report(sent=8, stored=8, note="2 refused: forged X-Forwarded-For ignored")
