"""One trace across every hop: four services as processes export real OTLP/HTTP spans."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.platform import Services
from tests.otlp_receiver import OtlpReceiver, ReceivedSpan, tree
from tests.support import post_comment, wait_for

pytestmark = pytest.mark.e2e


def _exporting(services: Services, **env: str) -> Iterator[tuple[Services, OtlpReceiver]]:
    receiver = OtlpReceiver()
    endpoint = receiver.start()
    services.extra_env.update(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            "NEWSROOM_MIN_SUBMIT_SECONDS": "0",
            **env,
        }
    )
    services.start()
    yield services, receiver
    services.stop_all()  # their last spans flush while the receiver still listens
    receiver.stop()


@pytest.fixture
def traced(services: Services) -> Iterator[tuple[Services, OtlpReceiver]]:
    yield from _exporting(services, OTEL_TRACES_SAMPLER="parentbased_always_on")


@pytest.fixture
def sampled(services: Services) -> Iterator[tuple[Services, OtlpReceiver]]:
    """The default sampling: a tenth of new traces, and every request that asks."""
    yield from _exporting(services)


def _root(receiver: OtlpReceiver, service: str, method: str, route_part: str) -> ReceivedSpan:
    def find() -> ReceivedSpan | None:
        for span in receiver.spans:
            if (
                span.service == service
                and span.kind == "SERVER"
                and method in span.name
                and route_part in span.name
            ):
                return span
        return None

    found = wait_for(find, timeout=10, what=f"{method} {route_part} span")
    assert found is not None
    return found


def _wait_connected(
    receiver: OtlpReceiver, root: ReceivedSpan, check: object, what: str
) -> list[ReceivedSpan]:
    def ready() -> list[ReceivedSpan] | None:
        spans = receiver.connected(root)
        return spans if check(spans) else None  # type: ignore[operator]

    try:
        return wait_for(ready, timeout=20, what=what)
    except AssertionError:
        print("\nconnected so far:\n" + tree(receiver.connected(root), root))
        print(
            "all spans:\n" + "\n".join(f"{s.service}: {s.name} [{s.kind}]" for s in receiver.spans)
        )
        raise


def _has(spans: list[ReceivedSpan], service: str, kind: str, name_part: str = "") -> bool:
    return any(s.service == service and s.kind == kind and name_part in s.name for s in spans)


def test_a_comment_is_one_trace_from_the_gateway_to_the_decision_and_back(
    traced: tuple[Services, OtlpReceiver],
) -> None:
    services, receiver = traced
    article = services.import_seed()
    posted = post_comment(
        services.gateway, article["id"], "تعليق", name="سارة", email="sara@example.com"
    )
    assert posted.status_code == 202
    root = _root(receiver, "gateway", "POST", "comments")
    ns = services.namespace

    def complete(spans: list[ReceivedSpan]) -> bool:
        return (
            _has(spans, "gateway", "PRODUCER", f"{ns}:comments.submitted")
            and _has(spans, "comments", "CONSUMER", "comments.submitted")
            and any(
                (s.service == "comments" and "db.system.name" in s.attributes)
                or s.attributes.get("db.system")
                for s in spans
            )
            and _has(spans, "comments", "PRODUCER", f"{ns}:comments")
            and _has(spans, "gateway", "CONSUMER", f"{ns}:comments")
        )

    spans = _wait_connected(receiver, root, complete, "the whole comment trace")
    print("\n" + tree(spans, root))
    producer = next(s for s in spans if s.kind == "PRODUCER" and s.service == "gateway")
    assert producer.attributes["messaging.system"] == "redis"
    assert producer.attributes["messaging.destination.name"] == f"{ns}:comments.submitted"
    consumer = next(
        s for s in spans if s.kind == "CONSUMER" and s.service == "comments" and "process" in s.name
    )
    assert consumer.attributes.get("messaging.system") == "redis"
    assert consumer.attributes.get("messaging.consumer.group.name") == "comments"
    assert consumer.attributes.get("messaging.operation.type") == "process"


def test_a_view_and_an_import_are_traces_across_services(
    traced: tuple[Services, OtlpReceiver],
) -> None:
    services, receiver = traced
    article = services.import_seed()
    imported = _root(receiver, "gateway", "POST", "import")
    spans = _wait_connected(
        receiver,
        imported,
        lambda s: {x.service for x in s} >= {"gateway", "ingest", "views", "comments"},
        "the import reaching all four services",
    )
    print("\n" + tree(spans, imported))
    assert _has(spans, "ingest", "PRODUCER", "articles")

    browser = {
        "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    }
    assert (
        httpx.post(
            f"{services.gateway}/api/v1/articles/{article['id']}/views", headers=browser
        ).status_code
        == 202
    )
    viewed = _root(receiver, "gateway", "POST", "views")
    spans = _wait_connected(
        receiver,
        viewed,
        lambda s: _has(s, "views", "CONSUMER"),
        "the view reaching the views service",
    )
    print("\n" + tree(spans, viewed))


def test_with_default_sampling_every_traced_view_reaches_the_views_consumer(
    sampled: tuple[Services, OtlpReceiver],
) -> None:
    """A view traced at the door (its request's ``traceparent`` says so) is counted in a batch
    whose span links to it, however few of the batches a ratio would have recorded."""
    services, receiver = sampled
    article = services.import_seed()
    traces = []
    for n in range(8):
        trace_id = f"{n + 1:032x}"
        traces.append(trace_id)
        response = httpx.post(
            f"{services.gateway}/api/v1/articles/{article['id']}/views",
            headers={
                "User-Agent": f"Mozilla/5.0 (X11; Linux x86_64; rv:{n}) Gecko/20100101 Firefox/{n}",
                "traceparent": f"00-{trace_id}-{n + 1:016x}-01",
            },
        )
        assert response.status_code == 202 and response.json()["counted"] is True

    def producers() -> dict[str, ReceivedSpan] | None:
        found = {
            s.trace_id: s
            for s in receiver.spans
            if s.service == "gateway" and s.kind == "PRODUCER" and s.trace_id in traces
        }
        return found if len(found) == len(traces) else None

    sent = wait_for(producers, timeout=10, what="each view's PRODUCER span")
    assert sent is not None

    def all_linked() -> bool:
        linked = {
            span_id
            for s in receiver.spans
            if s.service == "views" and s.kind == "CONSUMER"
            for _trace, span_id in s.links
        }
        return all(producer.span_id in linked for producer in sent.values())

    wait_for(all_linked, timeout=20, what="a views CONSUMER span linked to every traced view")
