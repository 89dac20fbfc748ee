"""The NetworkPolicies against the paths the platform needs: every path needed is allowed,
and no path is allowed that is not needed (deploy/k8s/network-policies.yaml)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from newsroom.migrate import SERVICES as OWN_A_DATABASE

pytestmark = pytest.mark.unit
K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
#: A connection's source: (namespace, pod labels); ours is "newsroom".
Source = tuple[str, dict[str, str]]


@functools.cache
def documents() -> list[dict[str, Any]]:
    # (after-rollout/: the Jobs an operator runs by hand, e.g. the contract migration)
    return [d for p in sorted(K8S.rglob("*.yaml")) for d in yaml.safe_load_all(p.read_text()) if d]


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [d for d in documents() if d["kind"] == kind]


def config() -> dict[str, str]:
    [found] = [d for d in of_kind("ConfigMap") if d["metadata"]["name"] == "newsroom"]
    return dict(found["data"])


def pods() -> dict[str, dict[str, str]]:
    """Every pod by name, with its labels; Redis and PostgreSQL as the policies name them."""
    found = {
        d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"]
        for d in of_kind("Deployment") + of_kind("Job")
    }
    found["redis"] = {"app.kubernetes.io/name": "redis"}
    found["postgresql"] = {"app.kubernetes.io/name": "postgresql"}
    return found


def ours() -> list[str]:
    """The pods that run our image (the services, the migrations), not nginx or the collector."""
    return [
        d["metadata"]["name"]
        for d in of_kind("Deployment") + of_kind("Job")
        if d["spec"]["template"]["spec"]["containers"][0]["image"].startswith("newsroom:")
    ]


def port_of(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None, url
    return port


def needed() -> set[tuple[str, str, int]]:
    """(source, destination, port) of every connection the platform opens."""
    settings = config()
    paths = set()
    # The internet reaches the gateway through the Ingress only.
    [ingress] = of_kind("Ingress")
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    [service] = [s for s in of_kind("Service") if s["metadata"]["name"] == backend["name"]]
    [port] = [p for p in service["spec"]["ports"] if p["name"] == backend["port"]["name"]]
    paths.add(("ingress-nginx", backend["name"], int(port["port"])))
    # The front cache passes everything on to the gateway it names.
    [front] = [d for d in of_kind("Deployment") if d["metadata"]["name"] == "front-cache"]
    env = {e["name"]: e["value"] for e in front["spec"]["template"]["spec"]["containers"][0]["env"]}
    paths.add(("front-cache", *_host_port(env["FRONT_GATEWAY"])))
    # The gateway calls every service it names; search calls ingest (a rebuild).
    for key, url in settings.items():
        if key.endswith("_URL") and key not in ("NEWSROOM_REDIS_URL",):
            name = key.removeprefix("NEWSROOM_").removesuffix("_URL").lower()
            paths.add(("gateway", name, port_of(url)))
    paths.add(("search", "ingest", port_of(settings["NEWSROOM_INGEST_URL"])))
    for name in ours():
        paths.add((name, "redis", port_of(settings["NEWSROOM_REDIS_URL"])))
        paths.add((name, "otel-collector", port_of(settings["OTEL_EXPORTER_OTLP_ENDPOINT"])))
        paths.add(("monitoring", name, int(settings["NEWSROOM_METRICS_PORT"])))
    for name in OWN_A_DATABASE:
        paths.add((name, "postgresql", 5432))
    for job in of_kind("Job"):  # `newsroom migrate --contract`: every service's database
        paths.add((job["metadata"]["name"], "postgresql", 5432))
    return paths


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


def matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())


def allowed(source: Source, destination: dict[str, str], port: int) -> bool:
    namespace, labels = source
    policies = [
        p for p in of_kind("NetworkPolicy") if matches(p["spec"]["podSelector"], destination)
    ]
    assert policies, f"no policy selects {destination} (the default deny must)"
    for policy in policies:
        for rule in policy["spec"].get("ingress") or []:
            if not any(int(p["port"]) == port for p in rule.get("ports") or []):
                continue
            for peer in rule.get("from") or []:
                if "namespaceSelector" in peer:
                    ns_labels = {"kubernetes.io/metadata.name": namespace}
                    if matches(peer["namespaceSelector"], ns_labels) and "podSelector" not in peer:
                        return True
                elif namespace == "newsroom" and matches(peer["podSelector"], labels):
                    return True
    return False


def sources() -> dict[str, Source]:
    found: dict[str, Source] = {name: ("newsroom", labels) for name, labels in pods().items()}
    for namespace in ("ingress-nginx", "monitoring", "elsewhere"):
        found[namespace] = (namespace, {"app.kubernetes.io/name": "anything"})
    return found


def ports() -> set[int]:
    found = {5432, 6379}
    for deployment in of_kind("Deployment"):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            found |= {int(p["containerPort"]) for p in container.get("ports") or []}
    return found


def test_every_path_the_platform_needs_is_open_and_no_other() -> None:
    destinations = pods()
    open_paths = {
        (name, destination, port)
        for name, source in sources().items()
        for destination, labels in destinations.items()
        for port in ports()
        if allowed(source, labels, port)
    }
    assert needed() <= open_paths, sorted(needed() - open_paths)
    assert open_paths <= needed(), sorted(open_paths - needed())


def test_the_policies_name_ports_the_pods_listen_on() -> None:
    listening = ports()
    for policy in of_kind("NetworkPolicy"):
        for rule in policy["spec"].get("ingress") or []:
            for port in rule.get("ports") or []:
                assert int(port["port"]) in listening, (policy["metadata"]["name"], port)


def test_metrics_are_served_on_the_metrics_port_only() -> None:
    metrics = config()["NEWSROOM_METRICS_PORT"]
    for deployment in of_kind("Deployment"):
        if deployment["metadata"]["name"] not in ours():
            continue
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/port"] == metrics
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert {"name": "metrics", "containerPort": int(metrics)} in container["ports"]
