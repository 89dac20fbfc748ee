"""Every benchmark in one run, its figures written to docs/benchmarks.md.

    .venv/bin/python -m bench [--quick] [--only views,comments,gateway,gateway-cpu,cluster,front-cache] [--no-write]

Needs Redis (NEWSROOM_REDIS_URL, default the local one) and Debian's wrk and nginx:
``apt-get install wrk nginx``. ``--quick`` runs each with fewer rounds and shorter loads
(a few minutes in all; its ratios are noisier); without it, about half an hour. The table
replaces the section between the markers in docs/benchmarks.md; the rest of that file
(older runs, figures behind design choices) stays as it is.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench import (
    cluster_bench,
    comments_bench,
    front_cache_bench,
    gateway_bench,
    gateway_cpu,
    views_bench,
)
from bench.report import Figure, markdown, require

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
BEGIN, END = "<!-- python -m bench: begin -->", "<!-- python -m bench: end -->"

Bench = tuple[Callable[[argparse.Namespace], list[Figure]], Callable[..., argparse.Namespace]]
BENCHES: dict[str, tuple[Bench, list[str], list[str]]] = {
    # name: ((measure, options), quick arguments, full arguments)
    "views": (
        (views_bench.measure, views_bench.options),
        ["--views", "30000", "--repeat", "1", "--http-seconds", "4", "--tracing", "on"],
        ["--views", "150000", "--repeat", "3"],
    ),
    "comments": (
        (comments_bench.measure, comments_bench.options),
        ["--comments", "3000"],
        ["--comments", "20000"],
    ),
    "gateway": (
        (gateway_bench.measure, gateway_bench.options),
        ["--rounds", "1", "--seconds", "3", "--articles", "200", "--tracing", "on"],
        ["--rounds", "3", "--seconds", "8"],
    ),
    "gateway-cpu": (
        (gateway_cpu.measure, gateway_cpu.options),
        ["--calls", "5000", "--rounds", "3"],
        ["--calls", "20000", "--rounds", "5"],
    ),
    "cluster": (
        (cluster_bench.measure, cluster_bench.options),
        ["--views", "20000", "--seconds", "3"],
        ["--views", "60000", "--seconds", "8"],
    ),
    "front-cache": (
        (front_cache_bench.measure, front_cache_bench.options),
        ["--rounds", "1", "--seconds", "3", "--articles", "100", "--beacons", "500"],
        ["--rounds", "3", "--seconds", "5"],
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="a few minutes, noisier ratios")
    parser.add_argument("--only", default=",".join(BENCHES), help="comma-separated benches")
    parser.add_argument("--no-write", action="store_true", help="print only; leave the doc")
    args = parser.parse_args()
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(chosen) - BENCHES.keys()
    if unknown:
        parser.error(f"no such bench: {', '.join(sorted(unknown))} (known: {', '.join(BENCHES)})")
    require("wrk", "nginx")

    figures: list[Figure] = []
    started = time.monotonic()
    for name in chosen:
        (measure, options), quick, full = BENCHES[name]
        print(f"== {name} {' '.join(quick if args.quick else full)}", flush=True)
        for figure in measure(options(quick if args.quick else full)):
            print(figure.line(), flush=True)
            figures.append(figure)
    minutes = (time.monotonic() - started) / 60
    print(f"{len(figures)} figures in {minutes:.1f} min")
    if not args.no_write:
        command = "python -m bench" + "".join(f" {a}" for a in sys.argv[1:])
        write(markdown(figures, command, _commit(), _today(), _machine()))
        print(f"written to {DOC}")


def write(table: str) -> None:
    text = DOC.read_text()
    section = f"{BEGIN}\n{table}{END}"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section + rest.split(END, 1)[1]
    else:  # the first run: after the introduction
        intro, _, rest = text.partition("\n## ")
        heading = "## The latest run of every benchmark (`python -m bench`)"
        text = f"{intro}\n{heading}\n\n{section}\n\n## {rest}"
    DOC.write_text(text)


def _commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + (" with uncommitted changes" if git("status", "--porcelain", "-uno") else "")


def _today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _machine() -> str:
    cores = len(os.sched_getaffinity(0))
    return f"{cores} cores, Python {platform.python_version()}"


if __name__ == "__main__":
    main()
