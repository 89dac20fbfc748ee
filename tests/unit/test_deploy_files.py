"""The deployment files parse, and every setting they pass exists in our settings classes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from services.comments.settings import CommentsSettings
from services.gateway.settings import GatewaySettings
from services.ingest.settings import IngestSettings
from services.views.settings import ViewsSettings

pytestmark = pytest.mark.unit
DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
PER_SERVICE = {"DATABASE_URL", "URL", "PORT"}  # NEWSROOM_<SERVICE>_* forms the settings read


def known_names() -> set[str]:
    names = set()
    for cls in (IngestSettings, ViewsSettings, CommentsSettings, GatewaySettings):
        names |= {f"NEWSROOM_{field.upper()}" for field in cls.model_fields}
    for service in ("INGEST", "VIEWS", "COMMENTS", "GATEWAY"):
        names |= {f"NEWSROOM_{service}_{suffix}" for suffix in PER_SERVICE}
    return names


def env_names(doc: object) -> set[str]:
    found: set[str] = set()
    if isinstance(doc, dict):
        for key, value in doc.items():
            if isinstance(key, str) and key.startswith("NEWSROOM_"):
                found.add(key)
            if key == "name" and isinstance(value, str) and value.startswith("NEWSROOM_"):
                found.add(value)
            found |= env_names(value)
    elif isinstance(doc, list):
        for item in doc:
            found |= env_names(item)
    return found


@pytest.mark.parametrize("path", sorted(DEPLOY.rglob("*.yaml")), ids=lambda p: p.name)
def test_deploy_file_parses_and_uses_only_real_settings(path: Path) -> None:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    assert docs
    unknown = set().union(*(env_names(d) for d in docs)) - known_names()
    assert not unknown, f"{path.name} sets settings that do not exist: {sorted(unknown)}"


def test_kubernetes_objects_have_probes_resources_and_budgets() -> None:
    kinds: dict[str, list[dict[str, object]]] = {}
    for path in (DEPLOY / "k8s").glob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                kinds.setdefault(doc["kind"], []).append(doc)
    assert {d["metadata"]["name"] for d in kinds["Deployment"]} == {
        "gateway",
        "ingest",
        "views",
        "comments",
    }  # type: ignore[index]
    for deployment in kinds["Deployment"]:
        container = deployment["spec"]["template"]["spec"]["containers"][0]  # type: ignore[index]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["resources"]["requests"] and container["resources"]["limits"]
    assert len(kinds["PodDisruptionBudget"]) == 4
    assert {d["metadata"]["name"] for d in kinds["ScaledObject"]} == {"views", "comments"}  # type: ignore[index]
    assert kinds["HorizontalPodAutoscaler"][0]["spec"]["scaleTargetRef"]["name"] == "gateway"  # type: ignore[index]
