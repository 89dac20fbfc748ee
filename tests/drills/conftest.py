"""Drills print one row each: drill, events sent, stored, lost, duplicated, result."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import platform_factory, services  # noqa: F401  (fixtures for drills)
from tests.e2e.platform import Services

ROWS: list[tuple[str, int, int, int, int, str, str]] = []


@dataclass
class Report:
    drill: str

    def __call__(self, sent: int, stored: int, duplicated: int = 0, note: str = "") -> None:
        lost = max(sent - stored, 0)
        result = "ok" if lost == 0 and duplicated == 0 else "FAILED"
        ROWS.append((self.drill, sent, stored, lost, duplicated, result, note))
        assert (lost, duplicated) == (0, 0), f"{self.drill}: lost {lost}, duplicated {duplicated}"


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Report:
    name = request.node.name.removeprefix("test_").replace("_", " ")
    return Report(name.replace("[", " (").replace("]", ")"))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not ROWS:
        return
    header = ("drill", "sent", "stored", "lost", "duplicated", "result", "note")
    widths = [max(len(str(r[i])) for r in [header, *ROWS]) for i in range(7)]
    terminalreporter.section("drills")
    for row in [header, *ROWS]:
        terminalreporter.write_line(
            "  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True))
        )


@pytest.fixture
def fresh_services(tmp_path: Path, redis_url: str, namespace: str) -> Iterator[Services]:
    running = Services(
        tmp_path / "var", redis_url, namespace, extra_env={"NEWSROOM_CLAIM_IDLE_MS": "1000"}
    )
    yield running
    running.stop_all()
