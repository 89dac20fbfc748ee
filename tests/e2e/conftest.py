from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.platform import Platform, Services


@pytest.fixture
def platform_factory(tmp_path: Path, redis_url: str, namespace: str) -> Iterator[type[Platform]]:
    started: list[Platform] = []

    def make(*extra_args: str, **kwargs: object) -> Platform:
        platform = Platform(tmp_path / "var", redis_url, namespace, tuple(extra_args), **kwargs)  # type: ignore[arg-type]
        platform.start()
        started.append(platform)
        return platform

    yield make  # type: ignore[misc]
    for platform in started:
        platform.stop()


@pytest.fixture
def services(tmp_path: Path, redis_url: str, namespace: str) -> Iterator[Services]:
    running = Services(tmp_path / "var", redis_url, namespace)
    yield running
    running.stop_all()
