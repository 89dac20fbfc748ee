"""Start every service as its own process, watch them, and stop them cleanly."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx

from shared.service.workers import die_with_parent

from .ports import PortTaken, check_free

SERVICES = (
    "ingest",
    "views",
    "comments",
    "search",
    "webhooks",
    "gateway",
)  # start order: gateway last


def available_services() -> list[str]:
    found = []
    for service in SERVICES:
        try:
            if importlib.util.find_spec(f"services.{service}.__main__") is not None:
                found.append(service)
        except ModuleNotFoundError:
            continue
    return found


@dataclass
class Replica:
    service: str
    index: int
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_at: float = 0.0

    @property
    def name(self) -> str:
        return f"{self.service}-{self.index}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", f"services.{self.service}"],
            env=self.env,
            preexec_fn=die_with_parent(os.getpid()),
        )
        self.started_at = time.monotonic()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class Supervisor:
    base_env: Mapping[str, str]
    ports: Mapping[str, int]
    scale: Mapping[str, int] = field(default_factory=dict)
    replicas: list[Replica] = field(default_factory=list)
    #: Extra replicas of an internal service listen at its port + step × index.
    port_step: int = 100

    def port_of(self, service: str, index: int) -> int:
        return self.ports[service] + (0 if service == "gateway" else self.port_step * index)

    def check_ports(self, host: str = "127.0.0.1") -> None:
        """Every port free before anything starts: a clash names the port and its owner."""
        for service in available_services():
            for index in range(max(1, self.scale.get(service, 1))):
                port = self.port_of(service, index)
                try:
                    check_free(host, port)
                except PortTaken as taken:
                    raise RuntimeError(f"{service}-{index} cannot listen: {taken}") from taken

    def start_all(self) -> None:
        self.check_ports()
        for service in available_services():
            for index in range(max(1, self.scale.get(service, 1))):
                env = dict(self.base_env)
                env["NEWSROOM_CONSUMER_NAME"] = f"{service}-{index}-{os.getpid()}"
                if service == "gateway":
                    # Every gateway replica serves the one public port (SO_REUSEPORT).
                    env["NEWSROOM_REUSE_PORT"] = "true"
                    env["NEWSROOM_GATEWAY_WORKERS"] = "1"  # each replica one process
                elif index > 0:
                    # Extra replicas of internal services listen on their own ports.
                    env[f"NEWSROOM_{service.upper()}_PORT"] = str(self.port_of(service, index))
                if metrics := int(self.base_env.get("NEWSROOM_METRICS_PORT") or 0):
                    # One metrics port given: the gateway's; each service's offset from it.
                    offset = self.port_of(service, index) - self.ports["gateway"]
                    env["NEWSROOM_METRICS_PORT"] = str(metrics + offset)
                replica = Replica(service, index, env)
                replica.start()
                self.replicas.append(replica)

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        pending = {r.name: r for r in self.replicas}
        while pending and time.monotonic() < deadline:
            for name, replica in list(pending.items()):
                if not replica.alive():
                    code = replica.process.returncode if replica.process else "?"
                    raise RuntimeError(f"{name} exited during start-up (code {code})")
                port = int(
                    replica.env.get(
                        f"NEWSROOM_{replica.service.upper()}_PORT", self.ports[replica.service]
                    )
                )
                try:
                    answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5)
                    # Gateway replicas share a port: wait until this one has answered.
                    pid = replica.process.pid if replica.process else -1
                    if answer.status_code == 200 and answer.json()["instance"].endswith(f"-{pid}"):
                        del pending[name]
                except (httpx.HTTPError, ValueError, KeyError):
                    pass
            time.sleep(0.1)
        if pending:
            raise RuntimeError(f"not healthy in {timeout:.0f}s: {', '.join(pending)}")

    def restart_dead(self) -> list[str]:
        """Restart replicas that died on their own, with a short back-off against crash loops."""
        restarted = []
        for replica in self.replicas:
            if replica.alive():
                continue
            if time.monotonic() - replica.started_at < min(30.0, 2.0**replica.restarts):
                continue
            replica.restarts += 1
            replica.start()
            restarted.append(replica.name)
        return restarted

    def stop_all(self, timeout: float = 10.0) -> None:
        # Gateway first, so no new work comes in while consumers finish theirs.
        for replica in reversed(self.replicas):
            if replica.alive() and replica.process is not None:
                replica.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for replica in self.replicas:
            if replica.process is None:
                continue
            try:
                replica.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                replica.process.kill()
                replica.process.wait()
