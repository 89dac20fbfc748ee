"""Several processes of one service on one port: the gateway's workers in a container.

The parent builds nothing: it starts ``workers`` copies of the service's ``__main__``, each
binding the port with SO_REUSEPORT (the kernel spreads the connections), restarts one that
dies, and passes SIGTERM/SIGINT on. Metrics of every worker are summed through
prometheus_client's multiprocess mode (a directory of this parent's, wiped at start), so a
scrape of the shared metrics port answers for the whole pod, whichever worker serves it.
"""

from __future__ import annotations

import ctypes
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.settings import NewsroomSettings

log = logging.getLogger(__name__)

#: The environment variable prometheus_client reads at import to switch to multiprocess mode.
MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> Callable[[], None]:
    """In the child, before it runs: ask Linux for SIGTERM when the parent dies, even by
    SIGKILL (PR_SET_PDEATHSIG); and exit at once if it is already gone."""

    def arrange() -> None:
        if sys.platform.startswith("linux"):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return arrange


def worker_env(base: Mapping[str, str], index: int, metrics_dir: Path) -> dict[str, str]:
    """One worker's environment: a single process on the shared port, its own consumer
    name, the pod's metrics directory."""
    env = dict(base)
    env["NEWSROOM_GATEWAY_WORKERS"] = "1"
    env["NEWSROOM_REUSE_PORT"] = "true"
    env[MULTIPROC_DIR] = str(metrics_dir)
    if name := env.get("NEWSROOM_CONSUMER_NAME"):
        env["NEWSROOM_CONSUMER_NAME"] = f"{name}-w{index}"
    return env


@dataclass
class Workers:
    """``count`` processes of ``python -m module``, kept running until stopped."""

    module: str
    count: int
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    #: Seconds a worker has to finish its requests after SIGTERM before it is killed.
    grace: float = 15.0
    processes: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)
    metrics_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="metrics-")))
    stopping: threading.Event = field(default_factory=threading.Event)

    def start(self, index: int) -> None:
        from prometheus_client import multiprocess

        if (old := self.processes.get(index)) is not None:
            multiprocess.mark_process_dead(old.pid, str(self.metrics_dir))
        self.processes[index] = subprocess.Popen(
            [sys.executable, "-m", self.module],
            env=worker_env(self.env, index, self.metrics_dir),
            preexec_fn=die_with_parent(os.getpid()),
        )

    def run(self) -> int:
        """Start every worker, restart the ones that die, return when told to stop."""
        shutil.rmtree(self.metrics_dir, ignore_errors=True)
        self.metrics_dir.mkdir(parents=True)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stopping.set())
        for index in range(self.count):
            self.start(index)
        log.info("%d workers of %s started", self.count, self.module)
        try:
            while not self.stopping.wait(0.5):
                for index, process in list(self.processes.items()):
                    if process.poll() is not None:
                        log.error(
                            "worker %d exited (code %s): restarted", index, process.returncode
                        )
                        self.start(index)
        finally:
            self.stop()
        return 0

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.grace
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(self.metrics_dir, ignore_errors=True)


def run_workers(settings: NewsroomSettings, module: str, count: int) -> None:
    from shared.observability.logs import configure_logging

    configure_logging(settings.service_name, settings.log_level, settings.log_format)
    raise SystemExit(Workers(module, count).run())
