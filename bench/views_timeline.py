"""Where counting a batch of views spends its time: the views service's steps, timed.

    .venv/bin/python -m bench.views_timeline [--views 300000] [--tracing on] [--window-noop]

Runs the bare batch consumer (the floor) and then the views service (bench.timed_views)
on the same views, as bench.views_bench does, and prints, for each step of counting a
batch, how often it ran and how long it took from call to answer (a wait on Redis or
on the loop included), and how long the window's claims kept Redis busy (none, one or two
in flight). ``--window-noop``: the window's script counts every view without its Redis
work, to show what that work costs (docs/benchmarks.md, "Where views and comments wait").
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import uuid
from collections import defaultdict
from pathlib import Path

from bench.report import bench_redis, tracing_env
from bench.views_bench import floor_rate, forget, payloads, views_rate
from services.views.settings import ViewsSettings


def report(spans: list[tuple[str, float, float]]) -> list[str]:
    applied = [s for s in spans if s[0] == "apply a batch"]
    if not applied:
        return ["no batch was applied"]
    start, end = min(s[1] for s in applied), max(s[2] for s in applied)
    lines = [f"counting: {end - start:.2f} s, {len(applied)} batches"]
    steps: dict[str, list[float]] = defaultdict(list)
    for step, began, ended in spans:
        if start <= began and ended <= end:
            steps[step].append((ended - began) * 1000)
    for step, took in steps.items():
        took.sort()
        lines.append(
            f"  {step:26s} {len(took):6d} × mean {statistics.fmean(took):6.2f} ms, "
            f"p50 {took[len(took) // 2]:6.2f}, p90 {took[int(len(took) * 0.9)]:6.2f}, "
            f"all {sum(took) / 1000:5.2f} s"
        )
    changes = sorted(
        [(b, 1) for s, b, _e in spans if s == "window claim" and b >= start]
        + [(e, -1) for s, b, e in spans if s == "window claim" and b >= start]
    )
    in_flight: dict[int, float] = defaultdict(float)
    now, claims = start, 0
    for at, change in changes:
        in_flight[claims] += at - now
        now, claims = at, claims + change
    in_flight[claims] += end - now
    lines.append(
        "  window claims in flight: "
        + ", ".join(f"{n}: {100 * t / (end - start):.0f} %" for n, t in sorted(in_flight.items()))
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--views", type=int, default=300_000)
    parser.add_argument(
        "--batch", type=int, default=ViewsSettings.model_fields["batch_size"].default
    )
    parser.add_argument("--tracing", choices=["on", "off"], default="on")
    parser.add_argument("--window-noop", action="store_true")
    args = parser.parse_args()
    redis_url, ns = bench_redis()
    entries = payloads(args.views, [uuid.uuid4() for _ in range(50)])
    with tempfile.TemporaryDirectory(prefix="views-timeline-") as tmp:
        timeline = Path(tmp) / "timeline.json"
        env = {"BENCH_TIMELINE": str(timeline), **tracing_env(args.tracing)}
        if args.window_noop:
            env["BENCH_WINDOW_NOOP"] = "1"
        try:
            floor = floor_rate(redis_url, f"{ns}-floor", entries, args.batch)
            rate = views_rate(
                redis_url, f"{ns}-views", entries, args.batch, env, module="bench.timed_views"
            )
        finally:
            forget(redis_url, ns)
        print(
            f"{args.views:,} views, batches of {args.batch}, tracing {args.tracing}"
            f"{', window no-op' if args.window_noop else ''}: floor {floor:,.0f}/s, "
            f"views {rate:,.0f}/s = {rate / floor:.2f}"
        )
        print("\n".join(report(json.loads(timeline.read_text()))))


if __name__ == "__main__":
    main()
