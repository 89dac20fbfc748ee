"""What every benchmark reports: figures against a floor measured in the same run, and the
wrk runs most of them are made of; written to docs/benchmarks.md by ``python -m bench``."""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

#: A browser's User-Agent: the gateway answers bots' views without counting them.
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def bench_redis() -> tuple[str, str]:
    """The Redis to measure on (``NEWSROOM_REDIS_URL``, else this machine's), and a key
    namespace of this run's own."""
    url = os.environ.get("NEWSROOM_REDIS_URL", "redis://127.0.0.1:6379/0")
    return url, f"bench-{uuid.uuid4().hex[:8]}"


def command_line(
    measure: Callable[[argparse.Namespace], list[Figure]],
    options: Callable[[], argparse.Namespace],
    banner: str = "",
) -> None:
    """One benchmark run from its command line: options parsed, ``banner`` (formatted
    with them) said first, each figure printed as it is written to docs/benchmarks.md."""
    args = options()
    if banner:
        print(banner.format(**vars(args)))
    for figure in measure(args):
        print(figure.line())


class Load(NamedTuple):
    """One wrk run: requests per second and the latency percentiles, in milliseconds."""

    rps: float
    p50_ms: float
    p99_ms: float


def _ms(latency: str) -> float:
    """wrk's latency ("850.00us", "13.23ms", "1.02s") in milliseconds."""
    for unit, scale in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if latency.endswith(unit):
            return float(latency.removesuffix(unit)) * scale
    return float(latency)


def tracing_env(mode: str) -> dict[str, str]:
    """A service's environment for tracing ``on`` (the default sampling) or ``off``."""
    return {"OTEL_SDK_DISABLED": "true"} if mode == "off" else {}


def require(*tools: str) -> None:
    """Stop at once, saying how to install them, when Debian tools a bench drives are missing
    (nginx lives in /usr/sbin, often not on a user's PATH)."""
    missing = [t for t in tools if not (shutil.which(t) or Path("/usr/sbin", t).exists())]
    if missing:
        raise SystemExit(
            f"missing: {' '.join(missing)}; install with: apt-get install {' '.join(missing)}"
        )


def run_wrk(url: str, seconds: int, connections: int, *, post: bool = False, lua: str = "") -> Load:
    """wrk with one thread against ``url`` (a POST from a browser when ``post``; ``lua``:
    more of wrk's script); every answer must be 2xx or 3xx."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    script = None
    if post or lua:
        script = Path(tempfile.mkstemp(suffix=".lua")[1])
        head = f'wrk.method = "POST"\nwrk.headers["User-Agent"] = "{BROWSER}"\n' if post else ""
        script.write_text(head + lua)
        command += ["-s", str(script)]
    try:
        out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    finally:
        if script is not None:
            script.unlink()
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        raise RuntimeError(f"{m.group(1)} failed requests against {url}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    # The latency distribution's lines only ("…99%" also ends a column of the thread stats).
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)  # type: ignore[union-attr]
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)  # type: ignore[union-attr]
    return Load(rps, _ms(p50), _ms(p99))


@dataclass
class Figure:
    """A measured rate and its floor, the median over rounds that pair them seconds apart."""

    bench: str
    name: str
    unit: str
    floor: str
    #: (measured, floor) per round.
    rounds: list[tuple[float, float]]
    target: float | None = None
    #: Latency percentiles of the measured runs and of the floor's, medians over rounds.
    latency: tuple[float, float] | None = None
    floor_latency: tuple[float, float] | None = None
    note: str = ""
    ratios: list[float] = field(init=False)

    def __post_init__(self) -> None:
        self.ratios = sorted(m / f if f else float("inf") for m, f in self.rounds)

    @classmethod
    def of_loads(
        cls,
        bench: str,
        name: str,
        floor: str,
        pairs: Sequence[tuple[Load, Load]],
        target: float | None = None,
    ) -> Figure:
        return cls(
            bench,
            name,
            "req/s",
            floor,
            [(m.rps, f.rps) for m, f in pairs],
            target,
            latency=_median_latency(m for m, _ in pairs),
            floor_latency=_median_latency(f for _, f in pairs),
        )

    @property
    def value(self) -> float:
        return statistics.median(m for m, _ in self.rounds)

    @property
    def floor_value(self) -> float:
        return statistics.median(f for _, f in self.rounds)

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    @property
    def shown_ratio(self) -> str:
        """Two decimals, rounded down: a ratio short of its target never reads as reaching it."""
        if not math.isfinite(self.ratio):
            return "∞ (the floor did nothing)"
        return f"{math.floor(self.ratio * 100) / 100:.2f}"

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.ratio >= self.target

    def line(self) -> str:
        text = f"  {self.name:<34} {self.value:10.0f} {self.unit}"
        if self.latency:
            text += f" (p50 {self.latency[0]:.1f} ms, p99 {self.latency[1]:.1f} ms)"
        text += f" | floor {self.floor}: {self.floor_value:.0f}"
        if self.floor_latency:
            text += f" (p99 {self.floor_latency[1]:.1f} ms)"
        text += f" | ratio {self.shown_ratio} (rounds {', '.join(f'{r:.2f}' for r in self.ratios)})"
        if self.target is not None:
            text += f", target ≥ {self.target:.2f}: {'met' if self.met else 'NOT met'}"
        return text + (f"; {self.note}" if self.note else "")


def _median_latency(loads: Iterable[Load]) -> tuple[float, float]:
    found = list(loads)
    return (
        statistics.median(load.p50_ms for load in found),
        statistics.median(load.p99_ms for load in found),
    )


def markdown(figures: Sequence[Figure], command: str, commit: str, date: str, machine: str) -> str:
    """The table ``python -m bench`` writes into docs/benchmarks.md."""
    lines = [
        f"`{command}` — commit {commit}, {date}, {machine}. Each ratio is the median of its "
        "rounds (measured and floor seconds apart); p50/p99 are the measured runs' medians.",
        "",
        "| bench | figure | measured | p50 / p99 | floor | floor value | ratio (rounds) | target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for f in figures:
        latency = f"{f.latency[0]:.1f} / {f.latency[1]:.1f} ms" if f.latency else "—"
        floor_value = f"{f.floor_value:,.0f} {f.unit}"
        if f.floor_latency:
            floor_value += f" (p99 {f.floor_latency[1]:.1f} ms)"
        target = "—" if f.target is None else f"≥ {f.target:.2f} ({'met' if f.met else 'not met'})"
        rounds = ", ".join(f"{r:.2f}" for r in f.ratios)
        name = f.name + (f" ({f.note})" if f.note else "")
        lines.append(
            f"| {f.bench} | {name} | {f.value:,.0f} {f.unit} | {latency} | {f.floor} | "
            f"{floor_value} | {f.shown_ratio} ({rounds}) | {target} |"
        )
    return "\n".join(lines) + "\n"
