"""Run ``newsroom up`` as a subprocess on free ports, for end-to-end tests."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from shared.settings import settings_env
from tests.support import DEADLINE_SCALE, free_port, newsroom_cli, wait_for

SERVICES = ("ingest", "views", "comments", "search", "webhooks", "gateway")


@dataclass
class Platform:
    data_dir: Path
    redis_url: str
    namespace: str
    extra_args: tuple[str, ...] = ()
    ports: dict[str, int] = field(default_factory=lambda: {s: free_port() for s in SERVICES})
    editor_token: str = "e2e-editor-token"
    moderator_token: str = "e2e-moderator-token"
    process: subprocess.Popen[str] | None = None
    output: list[str] = field(default_factory=list)
    extra_env: dict[str, str] = field(default_factory=dict)
    #: One gateway unless a test asks for ``newsroom up``'s default (one per core, None):
    #: a test reading twice would otherwise meet two gateways' caches, each up to its TTL
    #: old (tests/e2e/test_platform_up.py and test_scale_out.py run several).
    gateway_workers: int | None = 1

    @property
    def env(self) -> dict[str, str]:
        env = settings_env(
            data_dir=self.data_dir,
            redis_url=self.redis_url,
            namespace=self.namespace,
            claim_idle_ms=2000,
            **{f"{s}_port": p for s, p in self.ports.items()},
        )
        env.update(self.extra_env)
        if self.gateway_workers is not None:
            env["NEWSROOM_GATEWAY_WORKERS"] = str(self.gateway_workers)
        else:
            env.pop("NEWSROOM_GATEWAY_WORKERS", None)
        # Empty tokens: `newsroom up` makes its own under the data directory.
        for name, token in (("EDITOR", self.editor_token), ("MODERATOR", self.moderator_token)):
            if token:
                env[f"NEWSROOM_{name}_TOKEN"] = token
            else:
                env.pop(f"NEWSROOM_{name}_TOKEN", None)
        return env

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def start(self, timeout: float = 90) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "newsroom.cli", "up", *self.extra_args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        threading.Thread(target=self._pump, daemon=True).start()
        wait_for(
            lambda: any("Editor token:" in line for line in self.output) or self._exited(),
            timeout=timeout,
            what="newsroom up",
        )
        if self._exited():
            raise AssertionError("newsroom up exited:\n" + "".join(self.output))

    def _pump(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            sys.stdout.write(f"[up] {line}")

    def _exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def cli(
        self, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        return newsroom_cli(env if env is not None else self.env, *args, cwd=cwd)

    def stop(self, timeout: float = 30) -> int:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


@dataclass
class Services:
    """Each service as its own process (not under ``newsroom up``), to stop one at a time."""

    data_dir: Path
    redis_url: str
    namespace: str
    extra_env: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=lambda: {s: free_port() for s in SERVICES})
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    editor_token: str = "e2e-editor-token"
    moderator_token: str = "e2e-moderator-token"
    #: When set, each service's output goes to ``<log_dir>/<service>.log``.
    log_dir: Path | None = None
    #: Settings of one service only (e.g. its metrics port).
    service_env: dict[str, dict[str, str]] = field(default_factory=dict)
    #: Another version's source tree to run (an upgrade drill's previous commit).
    source: Path | None = None

    @property
    def env(self) -> dict[str, str]:
        code = {"PYTHONPATH": str(self.source)} if self.source else {}
        settings = settings_env(
            data_dir=self.data_dir,
            redis_url=self.redis_url,
            namespace=self.namespace,
            gateway_workers=1,  # one process each, stopped one at a time
            editor_token=self.editor_token,
            moderator_token=self.moderator_token,
            log_level="WARNING",
            **{f"{s}_port": p for s, p in self.ports.items()},
        )
        return settings | code | self.extra_env

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"

    def article_events(self, article_id: str) -> list[dict[str, Any]]:
        """The events about ``article_id`` on the ``articles`` stream, oldest first."""
        import redis

        client = redis.Redis.from_url(self.redis_url)
        try:
            entries = client.xrange(f"{self.namespace}:articles")
        finally:
            client.close()
        events = [orjson.loads(fields[b"__data__"])["data"] for _id, fields in entries]
        return [e for e in events if e["data"]["article_id"] == article_id]

    def import_seed(self) -> dict[str, Any]:
        """The seed page, imported through the gateway as an editor would."""
        import httpx

        from newsroom.cli import demo_article_path

        response = httpx.post(
            f"{self.gateway}/api/v1/articles/import",
            content=demo_article_path().read_bytes(),
            headers={"Authorization": f"Bearer {self.editor_token}", "Content-Type": "text/plain"},
            timeout=30,
        )
        assert response.status_code in (200, 201), response.text
        article: dict[str, Any] = response.json()["article"]
        return article

    def start(self, *services: str) -> None:
        import httpx

        for service in services or SERVICES:
            output = None
            if self.log_dir is not None:
                self.log_dir.mkdir(parents=True, exist_ok=True)
                output = (self.log_dir / f"{service}.log").open("ab")
            self.processes[service] = subprocess.Popen(
                [sys.executable, "-m", f"services.{service}"],
                env={**self.env, **self.service_env.get(service, {})},
                cwd=self.source,
                stdout=output,
                stderr=subprocess.STDOUT if output else None,
            )
        for service in services or SERVICES:
            url = f"http://127.0.0.1:{self.ports[service]}/healthz"

            def up(url: str = url) -> bool:
                return _answers(httpx, url)

            wait_for(up, timeout=60, what=f"{service} up")

    def stop(self, service: str, sig: int = signal.SIGTERM) -> int:
        process = self.processes.pop(service)
        process.send_signal(sig)
        # A graceful stop waits up to 10 s for connections, then stops consumers: on a
        # loaded machine more than 30 s were seen.
        try:
            return process.wait(30 * DEADLINE_SCALE)
        except subprocess.TimeoutExpired:
            _dump_stacks(process.pid, service)
            raise

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return newsroom_cli(self.env, *args, cwd=self.source)

    def stop_all(self) -> None:
        for service in list(self.processes):
            self.stop(service)


def _answers(httpx: Any, url: str) -> bool:
    try:
        return bool(httpx.get(url, timeout=1).status_code == 200)
    except httpx.HTTPError:
        return False


def _dump_stacks(pid: int, service: str) -> None:
    """What a service that would not stop was doing (py-spy, when installed)."""
    import shutil

    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if Path(spy).exists():
        done = subprocess.run([spy, "dump", "--pid", str(pid)], capture_output=True, text=True)
        print(
            f"--- {service} (pid {pid}) did not stop:\n{done.stdout}{done.stderr}", file=sys.stderr
        )


@contextlib.contextmanager
def platform_on_cluster(
    data_dir: Path, cluster_url: str, namespace: str, *args: str, env: dict[str, str]
) -> Iterator[Platform]:
    """``newsroom up --redis-cluster`` on the cluster at ``cluster_url``, stopped after."""
    running = Platform(data_dir, cluster_url, namespace, ("--redis-cluster", *args), extra_env=env)
    running.start()
    try:
        yield running
    finally:
        running.stop()
