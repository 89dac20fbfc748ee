"""The deployment files parse, and every setting they pass exists in our settings classes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from services.comments.settings import CommentsSettings
from services.gateway.settings import GatewaySettings
from services.ingest.settings import IngestSettings
from services.search.settings import SearchSettings
from services.views.settings import ViewsSettings
from services.webhooks.settings import WebhooksSettings

pytestmark = pytest.mark.unit
DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
PER_SERVICE = {"DATABASE_URL", "URL", "PORT"}  # NEWSROOM_<SERVICE>_* forms the settings read


def known_names() -> set[str]:
    names = set()
    for cls in (
        IngestSettings,
        ViewsSettings,
        CommentsSettings,
        SearchSettings,
        WebhooksSettings,
        GatewaySettings,
    ):
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
        "search",
        "webhooks",
        "otel-collector",
        "front-cache",
    }  # type: ignore[index]
    for deployment in kinds["Deployment"]:
        if deployment["metadata"]["name"] in ("otel-collector", "front-cache"):
            continue  # their own health checks (nginx: alive while it listens)
        container = deployment["spec"]["template"]["spec"]["containers"][0]  # type: ignore[index]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["resources"]["requests"] and container["resources"]["limits"]
    assert len(kinds["PodDisruptionBudget"]) == 8
    assert {d["metadata"]["name"] for d in kinds["ScaledObject"]} == {"views", "comments"}  # type: ignore[index]
    assert kinds["HorizontalPodAutoscaler"][0]["spec"]["scaleTargetRef"]["name"] == "gateway"  # type: ignore[index]


SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"


def k8s_documents(root: Path = DEPLOY / "k8s") -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{path.name}:{doc['kind']}:{doc['metadata']['name']}", doc)
        for path in sorted(root.rglob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]


#: Every manifest: the platform's, and the Redis Cluster deployment's (deploy/redis-cluster).
ALL_K8S = k8s_documents() + k8s_documents(DEPLOY / "redis-cluster" / "k8s")


@pytest.mark.parametrize("doc", [d for _, d in ALL_K8S], ids=[n for n, _ in ALL_K8S])
def test_kubernetes_manifest_matches_its_schema_offline(doc: dict[str, Any]) -> None:
    if doc["apiVersion"].startswith("keda.sh/"):  # a CRD: its schema is vendored in tests/schemas
        schema = json.loads((SCHEMAS / "keda-scaledobject.json").read_text())
        errors = [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(doc)]
        assert errors == []
        return
    kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)


def test_a_misspelt_manifest_field_is_caught() -> None:
    deployment = next(d for n, d in k8s_documents() if n.startswith("views.yaml:Deployment"))
    broken = json.loads(json.dumps(deployment))
    broken["spec"]["replica"] = 3
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, kubernetes_validate.latest_version(), strict=True)


def test_the_front_cache_runs_the_one_nginx_configuration_everywhere() -> None:
    template = (DEPLOY / "nginx" / "newsroom.conf.template").read_text()
    [config] = [
        d
        for _, d in k8s_documents()
        if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "front-cache"
    ]
    assert config["data"]["default.conf.template"] == template
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]["front-cache"]
    assert compose["volumes"] == [
        "./nginx/newsroom.conf.template:/etc/nginx/templates/default.conf.template:ro"
    ]
    # What the template asks for, each runner gives (and nothing it does not ask for).
    asked = set(re.findall(r"\$\{(\w+)\}", template))
    [deployment] = [
        d
        for _, d in k8s_documents()
        if d["kind"] == "Deployment" and d["metadata"]["name"] == "front-cache"
    ]
    given = {e["name"] for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert asked == given == set(compose["environment"])


def compose_validator() -> jsonschema.Draft201909Validator:
    schema = json.loads((SCHEMAS / "compose-spec.json").read_text())
    schema.pop("$schema", None)  # the vendored copy names a draft-2019 URL; validate as 2019-09
    return jsonschema.Draft201909Validator(schema)


@pytest.mark.parametrize("path", ["compose.yaml", "redis-cluster/compose.yaml"])
def test_compose_file_matches_the_compose_specification(path: str) -> None:
    compose = yaml.safe_load((DEPLOY / path).read_text())
    validator = compose_validator()
    assert [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(compose)] == []
    compose["services"]["views"]["restrat"] = "no"  # and a typo would be caught
    assert list(validator.iter_errors(compose))


def test_every_database_owner_migrates_before_it_serves() -> None:
    for name, doc in k8s_documents():
        if doc["kind"] == "Deployment" and doc["metadata"]["name"] not in (
            "gateway",
            "otel-collector",
            "front-cache",
        ):
            init = doc["spec"]["template"]["spec"]["initContainers"][0]
            assert init["command"] == ["newsroom", "migrate", doc["metadata"]["name"]], name
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert compose["services"]["migrate"]["command"] == ["newsroom", "migrate"]


def test_alert_rules_use_only_metrics_the_services_export() -> None:
    from shared.observability.metrics import Metrics

    exported = set()
    for metric in Metrics("test").registry.collect():
        exported |= {sample_name for sample_name in (s.name for s in metric.samples)}
        exported.add(metric.name)
    # Counters and histograms also export _total / _bucket / _sum / _count series.
    exported |= {
        f"{n}_{suffix}" for n in set(exported) for suffix in ("total", "bucket", "sum", "count")
    }
    rules = yaml.safe_load((DEPLOY / "alerts.yaml").read_text())["groups"][0]["rules"]
    assert rules
    for rule in rules:
        used = set(re.findall(r"\b(newsroom_[a-z_]+)", rule["expr"]))
        assert used and used <= exported, f"{rule['alert']}: {sorted(used - exported)}"
    prometheus = yaml.safe_load((DEPLOY / "prometheus.yaml").read_text())
    assert prometheus["rule_files"] == ["/etc/prometheus/alerts.yaml"]


def _images(doc: object) -> list[str]:
    if isinstance(doc, dict):
        found = [doc["image"]] if isinstance(doc.get("image"), str) else []
        return found + [i for value in doc.values() for i in _images(value)]
    if isinstance(doc, list):
        return [i for item in doc for i in _images(item)]
    return []


def test_our_images_are_tagged_with_the_project_version_and_no_secret_is_committed() -> None:
    import tomllib

    version = tomllib.loads((DEPLOY.parent / "pyproject.toml").read_text())["project"]["version"]
    ours: list[str] = []
    for path in sorted(DEPLOY.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            ours += [i for i in _images(doc) if i.split(":")[0] == "newsroom"]
            if isinstance(doc, dict) and doc.get("kind") == "Secret":
                values = {**doc.get("stringData", {}), **doc.get("data", {})}
                assert values and not any(values.values()), f"{path.name} holds a secret value"
    assert ours and set(ours) == {f"newsroom:{version}"}, sorted(set(ours))
