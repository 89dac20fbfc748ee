"""Comments benchmark: comments decided and stored per second by one replica, against floors.

    .venv/bin/python -m bench.comments_bench [--comments 20000]

Publishes N ``comment.submitted`` events (Arabic text, some links, distinct
readers) for one known article and times until the comments service has
decided and stored all of them (SQLite embedded default). The floors, in the
same run and on the same stream shape: a bare FastStream consumer that only
acks, one message at a time and in batches. Prints both ratios.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import redis

from bench.report import Figure, bench_redis, command_line
from bench.views_bench import PY, _ok, floor_rate, forget, free_port, publish, wait_until
from shared.contracts.events import (
    ArticleData,
    ArticlePublished,
    BodyBlock,
    CommentSubmission,
    CommentSubmitted,
)
from shared.contracts.wire import encode_envelope
from shared.settings import settings_env

TEXTS = [
    "مقال ممتاز، شكراً للكاتب على هذا التحليل.",
    "أتفق مع الكاتب في معظم النقاط، لكن المصدر https://example.org/news يقول غير ذلك.",
    "<b>مهم</b> جداً أن نتابع هذه القضية.",
    "Great reporting, thank you!",
]


def submissions(n: int, article_id: uuid.UUID) -> list[bytes]:
    return [
        encode_envelope(
            CommentSubmitted(
                data=CommentSubmission(
                    comment_id=uuid.uuid4(),
                    article_id=article_id,
                    name=f"قارئ {i}",
                    email=f"reader{i}@example.com",
                    text=f"{TEXTS[i % len(TEXTS)]} ({i})",
                    client_key=f"client-{i:08d}",
                    user_agent="Mozilla/5.0",
                )
            )
            .model_dump_json()
            .encode(),
            {},
        )
        for i in range(n)
    ]


def comments_rate(redis_url: str, ns: str, entries: list[bytes], article_id: uuid.UUID) -> float:
    data_dir = Path(tempfile.mkdtemp(prefix="comments-bench-"))
    port = free_port()
    env = settings_env(
        namespace=ns,
        redis_url=redis_url,
        data_dir=data_dir,
        comments_port=port,
        log_level="WARNING",
    )
    client = redis.Redis.from_url(redis_url)
    article = ArticlePublished(
        data=ArticleData(
            article_id=article_id,
            slug="s",
            title="t",
            body=(BodyBlock(kind="paragraph", text="x"),),
        )
    )
    publish(client, f"{ns}:articles", [encode_envelope(article.model_dump_json().encode(), {})])
    proc = subprocess.Popen([PY, "-m", "services.comments"], env=env)
    try:
        wait_until(lambda: _ok(f"http://127.0.0.1:{port}/readyz"), timeout=60, interval=0.1)
        db = data_dir / "comments.db"
        wait_until(lambda: _count(db, "known_articles") == 1, timeout=30)
        t0 = time.perf_counter()
        publish(client, f"{ns}:comments.submitted", entries)
        wait_until(lambda: _count(db, "comments") >= len(entries), timeout=600, interval=0.05)
        return len(entries) / (time.perf_counter() - t0)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        shutil.rmtree(data_dir, ignore_errors=True)


def _count(db: Path, table: str) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    except sqlite3.Error:
        return 0


def options(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Comments benchmark (ratios against same-run floors)"
    )
    parser.add_argument("--comments", type=int, default=20_000)
    return parser.parse_args(argv)


def measure(args: argparse.Namespace) -> list[Figure]:
    redis_url, ns = bench_redis()
    try:
        article_id = uuid.uuid4()
        entries = submissions(args.comments, article_id)
        single = floor_rate(redis_url, f"{ns}-single", entries, 1)
        batched = floor_rate(redis_url, f"{ns}-batch", entries, 100)
        rate = comments_rate(redis_url, ns, entries, article_id)
    finally:
        forget(redis_url, ns)
    note = f"{args.comments:,} comments, one replica"
    return [
        Figure(
            "comments",
            "comments decided and stored",
            "comments/s",
            "bare FastStream consumer, one at a time",
            [(rate, single)],
            target=0.5,
            note=note,
        ),
        Figure(
            "comments",
            "comments decided and stored",
            "comments/s",
            "bare FastStream consumer, batches of 100",
            [(rate, batched)],
            target=0.25,
            note=note,
        ),
    ]


if __name__ == "__main__":
    command_line(measure, options)
