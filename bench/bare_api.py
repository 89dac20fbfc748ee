"""The HTTP floor: a bare FastAPI endpoint that makes one Redis call.

Served with the same uvicorn settings as the gateway by ``bench/views_bench.py``.
"""

from __future__ import annotations

import os

import redis.asyncio as aioredis
from fastapi import FastAPI

app = FastAPI()
client = aioredis.Redis.from_url(os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"))
KEY = os.environ.get("BENCH_KEY", "bench:bare")


@app.post("/bare/{item_id}/views", status_code=202)
async def bare(item_id: str) -> dict[str, bool]:
    await client.incr(KEY)
    return {"counted": True}


@app.get("/hello")
async def hello() -> dict[str, str]:
    return {"hello": "world"}
