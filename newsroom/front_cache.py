"""Debian's nginx as the front cache of a local platform (`newsroom front-cache`), with the
configuration that compose and Kubernetes run (deploy/nginx/newsroom.conf.template)."""

from __future__ import annotations

import grp
import os
import pwd
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent.parent / "deploy" / "nginx" / "newsroom.conf.template"
#: What the template leaves to its runner (the official image fills them from the environment).
PLACEHOLDERS = ("FRONT_LISTEN", "FRONT_GATEWAY", "FRONT_CACHE_DIR")


def render(values: dict[str, str], template: Path = TEMPLATE) -> str:
    """The template with every ``${FRONT_…}`` filled in, as envsubst would."""
    missing = set(PLACEHOLDERS) - values.keys()
    if missing:
        raise ValueError(f"no value for {', '.join(sorted(missing))}")
    return re.sub(r"\$\{(FRONT_\w+)\}", lambda m: values[m.group(1)], template.read_text())


@dataclass
class FrontCache:
    """One nginx master process under ``workdir``, in front of ``gateway`` (host:port)."""

    gateway: str
    port: int
    workdir: Path
    workers: int = 1
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def configure(self) -> Path:
        cache, temp = self.workdir / "cache", self.workdir / "temp"
        for path in (cache, temp):
            path.mkdir(parents=True, exist_ok=True)
        server = render(
            {
                "FRONT_LISTEN": f"127.0.0.1:{self.port}",
                "FRONT_GATEWAY": self.gateway,
                "FRONT_CACHE_DIR": str(cache),
            }
        )
        (self.workdir / "newsroom.conf").write_text(server)
        # A root master would run its workers as nobody, who cannot reach a private
        # workdir: they run as whoever started it, like the services beside it.
        me = pwd.getpwuid(os.geteuid())
        user = f"user {me.pw_name} {grp.getgrgid(me.pw_gid).gr_name};\n" if me.pw_uid == 0 else ""
        main = self.workdir / "nginx.conf"
        main.write_text(
            f"{user}daemon off;\nworker_processes {self.workers};\n"
            f"pid {self.workdir / 'nginx.pid'};\nerror_log {self.workdir / 'error.log'} warn;\n"
            "events { worker_connections 4096; }\n"
            "http {\n    access_log off;\n"
            + "".join(
                f"    {kind}_temp_path {temp / kind};\n"
                for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
            )
            + f"    include {self.workdir / 'newsroom.conf'};\n}}\n"
        )
        return main

    def start(self) -> FrontCache:
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(nginx).exists():
            raise FileNotFoundError("nginx is not installed (Debian: apt-get install nginx)")
        main = self.configure()
        command = [nginx, "-p", str(self.workdir), "-e", str(self.workdir / "error.log")]
        subprocess.run([*command, "-c", str(main), "-t", "-q"], check=True)
        self.process = subprocess.Popen([*command, "-c", str(main)])
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: nginx's fast shutdown
            self.process.wait(30)
