"""The Redis Cluster deployment (deploy/redis-cluster): its manifests say what the
platform's do, on a cluster, and agree with the stream map and with each other."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.contracts.streams import STREAM_MAP, Streams
from shared.settings import NewsroomSettings

pytestmark = pytest.mark.unit
DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
CLUSTER = DEPLOY / "redis-cluster"


def docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def one(path: Path, kind: str, name: str) -> dict[str, Any]:
    [found] = [d for d in docs(path) if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def test_the_cluster_config_is_the_platform_config_on_a_cluster() -> None:
    base = one(DEPLOY / "k8s" / "config.yaml", "ConfigMap", "newsroom")["data"]
    cluster = one(CLUSTER / "k8s" / "config.yaml", "ConfigMap", "newsroom")["data"]
    changed = {k: v for k, v in cluster.items() if base.get(k) != v}
    assert set(base) - set(cluster) == set()  # nothing left out
    assert changed == {
        "NEWSROOM_REDIS_URL": "redis://redis-cluster:6379/0",
        "NEWSROOM_REDIS_CLUSTER": "true",
        "NEWSROOM_VIEW_PARTITIONS": "64",
        "NEWSROOM_REDIS_WAIT_REPLICAS": "1",
    }
    settings = NewsroomSettings(
        **{k.removeprefix("NEWSROOM_").lower(): v for k, v in changed.items()}
    )
    assert settings.redis_cluster and settings.partitions == 64 and settings.wait_replicas == 1


def test_cluster_autoscaling_follows_the_stream_map() -> None:
    namespace = one(DEPLOY / "k8s" / "config.yaml", "ConfigMap", "newsroom")["data"][
        "NEWSROOM_NAMESPACE"
    ]
    streams = Streams(namespace, cluster=True, partitions=64)
    nodes = one(CLUSTER / "k8s" / "redis-cluster.yaml", "StatefulSet", "redis-cluster")
    scaled = {d["metadata"]["name"]: d for d in docs(CLUSTER / "k8s" / "autoscaling.yaml")}
    expected = {group for spec in STREAM_MAP if spec.lag_per_replica for group in spec.groups}
    assert set(scaled) == expected
    for spec in STREAM_MAP:
        for group in spec.groups if spec.lag_per_replica else ():
            [trigger] = scaled[group]["spec"]["triggers"]
            meta = trigger["metadata"]
            if spec.partitioned:  # the lag of every partition's stream, summed
                assert trigger["type"] == "prometheus"
                assert meta["query"] == (
                    f'sum(max by (stream) (newsroom_consumer_lag{{group="{group}"}}))'
                )
                assert int(meta["threshold"]) == spec.lag_per_replica
            else:
                assert trigger["type"] == "redis-cluster-streams"
                assert meta["stream"] == streams.of(spec) and meta["consumerGroup"] == group
                assert int(meta["lagCount"]) == spec.lag_per_replica
                for address in meta["addresses"].split(","):
                    pod, _, rest = address.partition(".")
                    assert rest == f"{nodes['spec']['serviceName']}:6379"
                    assert int(pod.rpartition("-")[2]) < nodes["spec"]["replicas"]


def test_the_nodes_the_job_and_the_policies_agree() -> None:
    path = CLUSTER / "k8s" / "redis-cluster.yaml"
    nodes = one(path, "StatefulSet", "redis-cluster")
    service = one(path, "Service", "redis-cluster")
    job = one(path, "Job", "redis-cluster-create")
    script = job["spec"]["template"]["spec"]["containers"][0]["command"][-1]
    [ordinals] = re.findall(r"for i in ([\d ]+); do", script)
    assert len(ordinals.split()) == nodes["spec"]["replicas"] == 6  # 3 masters, 3 replicas
    assert "--cluster-replicas 1" in script
    assert (
        service["spec"]["clusterIP"] == "None" and nodes["spec"]["serviceName"] == "redis-cluster"
    )
    labels = nodes["spec"]["template"]["metadata"]["labels"]
    # The platform's own policy (deploy/k8s/network-policies.yaml) admits the services to
    # pods named "redis"; the cluster's adds its bus between its nodes, and the Job.
    assert labels["app.kubernetes.io/name"] == "redis"
    bus = one(path, "NetworkPolicy", "redis-cluster-bus")
    peers = {
        (tuple(sorted(peer["podSelector"]["matchLabels"].items())), p["port"])
        for rule in bus["spec"]["ingress"]
        for peer in rule["from"]
        for p in rule["ports"]
    }
    node = (("app.kubernetes.io/component", "cluster-node"),)
    assert {(node, 6379), (node, 16379)} <= peers
    assert (tuple(job["spec"]["template"]["metadata"]["labels"].items()), 6379) in peers


def test_compose_on_a_cluster_moves_every_service_to_it() -> None:
    base = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    cluster = yaml.safe_load((CLUSTER / "compose.yaml").read_text())["services"]
    ours = {name for name, s in base.items() if str(s.get("image", "")).startswith("newsroom:")}
    assert ours and ours <= set(cluster)
    for name in ours:
        assert cluster[name]["environment"]["NEWSROOM_REDIS_CLUSTER"] == "true"
        assert cluster[name]["depends_on"]["redis-cluster"] == {
            "condition": "service_completed_successfully"
        }
    nodes = {n for n, s in cluster.items() if "--cluster-enabled" in s.get("command", [])}
    assert "redis" in nodes and len(nodes) == 6  # the services' NEWSROOM_REDIS_URL names one
    script = cluster["redis-cluster"]["command"][-1]
    assert set(re.findall(r"for host in ([\w\- ]+); do", script)[0].split()) == nodes
    assert set(cluster["redis-cluster"]["depends_on"]) == nodes


def test_a_clusters_ports_are_all_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """Free ports drawn one by one may repeat (or land on another node's bus port)."""
    from newsroom import embedded_redis

    draws = iter([30_000, 30_000, 40_000, 20_000, 31_000, 32_000, 45_000])
    monkeypatch.setattr(embedded_redis, "cluster_port", lambda: next(draws))
    ports = embedded_redis.cluster_ports(4)
    # Not 30,000 again, nor 40,000 (its bus port), nor 20,000 (whose bus port is 30,000).
    assert ports == [30_000, 31_000, 32_000, 45_000]
    buses = {p + 10_000 for p in ports}
    assert len(set(ports)) == 4 and not buses & set(ports)
