"""The stream map is the one table of streams: what is derived from it or written
beside it (AsyncAPI, ``newsroom dlq``, KEDA triggers, the services' groups) agrees."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from newsroom import dlq
from services.comments.app import SERVICE as COMMENTS
from services.gateway.app import SERVICE as GATEWAY
from services.ingest.app import SERVICE as INGEST
from services.search.app import SERVICE as SEARCH
from services.views.app import SERVICE as VIEWS
from services.webhooks.app import SERVICE as WEBHOOKS
from shared.contracts.asyncapi import asyncapi_document
from shared.contracts.streams import STREAM_MAP, Streams
from shared.service.skeleton import Service

pytestmark = pytest.mark.unit
DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SERVICES: list[Service[Any, Any]] = [INGEST, VIEWS, COMMENTS, SEARCH, WEBHOOKS, GATEWAY]


def test_asyncapi_documents_every_public_stream_and_each_of_its_events() -> None:
    document = asyncapi_document(Streams("newsroom"))
    channels = {c["address"]: c for c in document["channels"].values()}
    public = [spec for spec in STREAM_MAP if spec.public]
    assert set(channels) == {f"newsroom:{spec.name}" for spec in public}
    assert {"newsroom:articles", "newsroom:comments"} <= set(channels)
    for spec in public:
        refs = channels[f"newsroom:{spec.name}"]["messages"].values()
        names = {
            document["components"]["messages"][r["$ref"].rsplit("/", 1)[1]]["name"] for r in refs
        }
        assert names == {model.model_fields["type"].default for model in spec.events}
    assert "comment.approved" in {m["name"] for m in document["components"]["messages"].values()}


def test_dlq_command_covers_every_stream_a_group_reads() -> None:
    assert set(dlq.STREAMS) == {spec.name for spec in STREAM_MAP if spec.groups}


def _scaled_objects() -> list[dict[str, Any]]:
    docs = yaml.safe_load_all((DEPLOY / "k8s" / "autoscaling.yaml").read_text())
    return [d for d in docs if d and d["kind"] == "ScaledObject"]


def test_keda_triggers_are_the_stream_maps_groups_and_lag() -> None:
    # Stream names under the namespace the services are given (config.yaml).
    config = yaml.safe_load((DEPLOY / "k8s" / "config.yaml").read_text())
    streams = Streams(config["data"]["NEWSROOM_NAMESPACE"])
    triggers = {
        (t["metadata"]["stream"], t["metadata"]["consumerGroup"]): (
            doc["spec"]["scaleTargetRef"]["name"],
            int(t["metadata"]["lagCount"]),
        )
        for doc in _scaled_objects()
        for t in doc["spec"]["triggers"]
        if t["type"] == "redis-streams"
    }
    expected = {
        (streams.of(spec), group): (group, spec.lag_per_replica)
        for spec in STREAM_MAP
        if spec.lag_per_replica
        for group in spec.groups
    }
    assert triggers == expected


def test_services_read_only_what_the_map_says_they_read() -> None:
    for service in SERVICES:
        for handler in service.handlers:
            assert service.name in {
                g for s in STREAM_MAP if s.name == handler.stream for g in s.groups
            }
        for follower in service.followers:
            assert service.name in {
                f for s in STREAM_MAP if s.name == follower.stream for f in s.followers
            }
    # …and every group and follower of the map is some service's.
    read = {(h.stream, s.name) for s in SERVICES for h in s.handlers}
    followed = {(f.stream, s.name) for s in SERVICES for f in s.followers}
    assert read == {(spec.name, g) for spec in STREAM_MAP for g in spec.groups}
    assert followed == {(spec.name, f) for spec in STREAM_MAP for f in spec.followers}


def test_producers_are_services_and_dead_letter_streams_follow_the_name() -> None:
    names = {s.name for s in SERVICES}
    for spec in STREAM_MAP:
        assert spec.producer in names
        assert spec.dlq == f"{spec.name}.dlq" == Streams.dlq(spec.name)


def test_a_view_goes_to_the_partition_of_its_article_and_reader() -> None:
    streams = Streams("newsroom", cluster=True, partitions=64)
    readers = [f"10.0.{n // 256}.{n % 256}" for n in range(2000)]
    # One story's readers spread over every partition; so do one reader's stories.
    assert {streams.partition_of("breaking", r) for r in readers} == set(range(64))
    assert {streams.partition_of(str(n), readers[0]) for n in range(2000)} == set(range(64))
    # The same (article, reader) always lands in the same one, on any replica.
    again = Streams("newsroom", cluster=True, partitions=64)
    assert [streams.partition_of("a", r) for r in readers] == [
        again.partition_of("a", r) for r in readers
    ]
    assert Streams("newsroom").partition_of("a", readers[0]) == 0  # one stream


def test_the_readmes_stream_table_is_the_stream_map() -> None:
    readme = (DEPLOY.parent / "README.md").read_text(encoding="utf-8")
    table = readme.split("| stream (`<ns>:…`) |", 1)[1].split("\n\n", 1)[0]
    rows = {}
    for line in table.splitlines():
        if line.startswith("| `"):
            stream, writer, readers = (cell.strip() for cell in line.strip("|").split("|"))
            rows[stream.split("`")[1]] = (stream, writer, readers)
    assert set(rows) == {spec.name for spec in STREAM_MAP}
    for spec in STREAM_MAP:
        stream, writer, readers = rows[spec.name]
        assert spec.producer in writer, spec.name
        for reader in (*spec.groups, *spec.followers):
            assert reader in readers, (spec.name, reader)
        # Public streams are the ones other systems read.
        assert ("(public)" in stream) == ("other systems" in readers) == spec.public, spec.name
