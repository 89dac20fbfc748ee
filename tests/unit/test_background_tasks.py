"""What the log says of a background task that does not stop when cancelled."""

from __future__ import annotations

import asyncio

import pytest

from shared.service.skeleton import awaiting

pytestmark = pytest.mark.unit


async def test_a_stuck_task_is_reported_with_where_it_waits() -> None:
    reached, release = asyncio.Event(), asyncio.Event()

    async def read_once() -> None:
        reached.set()
        await release.wait()

    async def follow_streams() -> None:
        await read_once()

    task = asyncio.create_task(follow_streams())
    await reached.wait()
    try:
        where = awaiting(task)
    finally:
        release.set()
        await task
    # Outermost first, down to the wait itself: the operator sees which call hung.
    names = [step.split(":")[0] for step in where.split(" > ")]
    assert names[:3] == ["follow_streams", "read_once", "wait"]
    assert awaiting(task) == "unknown"  # a finished task waits nowhere
