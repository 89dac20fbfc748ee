"""What a parent process hands the services it starts is what they read back."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.gateway.settings import GatewaySettings
from shared.settings import settings_env

pytestmark = pytest.mark.unit


def test_a_service_reads_back_every_kind_of_setting_it_was_given(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env = settings_env(
        namespace="ns-1",
        data_dir=tmp_path,
        gateway_port=8123,
        redis_cluster=True,
        cors_origins=["https://example.org"],
        min_submit_seconds=0,
    )
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = GatewaySettings()
    assert (settings.namespace, settings.data_dir, settings.port) == ("ns-1", tmp_path, 8123)
    assert settings.redis_cluster is True
    assert settings.cors_origins == ["https://example.org"]
    assert settings.min_submit_seconds == 0


def test_false_is_false_and_the_parent_environment_is_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NEWSROOM_EDITOR_TOKEN", "from-the-parent")
    env = settings_env(redis_cluster=False)
    assert env["NEWSROOM_REDIS_CLUSTER"] == "false"
    assert env["NEWSROOM_EDITOR_TOKEN"] == "from-the-parent"
