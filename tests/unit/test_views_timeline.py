"""bench.views_timeline: steps timed from call to answer, and the report read off them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bench.timed_views import Spans, timed
from bench.views_timeline import report

pytestmark = pytest.mark.unit


class Client:
    """As redis-py's commands: a plain method that returns a coroutine."""

    def command(self) -> Any:
        return self._answer()

    async def _answer(self) -> str:
        await asyncio.sleep(0)
        return "OK"


def test_a_step_is_timed_to_its_answer_whether_it_is_sync_async_or_returns_an_awaitable() -> None:
    spans: Spans = []

    def plain(x: int) -> int:
        return x + 1

    async def coroutine(x: int) -> int:
        await asyncio.sleep(0)
        return x * 2

    command = timed(spans, "command", Client.command)

    async def run() -> tuple[int, int, str]:
        return (
            timed(spans, "plain", plain)(1),
            await timed(spans, "coroutine", coroutine)(2),
            await command(Client()),
        )

    assert asyncio.run(run()) == (2, 4, "OK")
    assert [step for step, _began, _ended in spans] == ["plain", "coroutine", "command"]
    assert all(began <= ended for _step, began, ended in spans)


def test_the_report_gives_each_step_and_how_long_claims_were_in_flight() -> None:
    spans: Spans = [
        ("apply a batch", 0.0, 1.0),
        ("apply a batch", 1.0, 2.0),
        ("window claim", 0.0, 0.5),  # one claim for a quarter of the two seconds
        ("window claim", 1.0, 1.5),  # two at once for a quarter
        ("window claim", 1.0, 1.5),
        ("commit", 0.5, 0.6),
    ]
    lines = report(spans)
    assert lines[0] == "counting: 2.00 s, 2 batches"
    assert any(line.split()[:2] == ["commit", "1"] for line in lines)
    assert lines[-1] == "  window claims in flight: 0: 50 %, 1: 25 %, 2: 25 %"
    assert report([]) == ["no batch was applied"]
