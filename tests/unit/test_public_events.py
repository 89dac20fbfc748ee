"""What other systems may read carries no personal data: no field of any event on a
public stream (read over HTTP at /api/v1/events, or on the streams) names an email,
an address, a client key or a user agent, at any depth of its schema."""

from __future__ import annotations

from typing import Any

import pytest

from shared.contracts.streams import STREAM_MAP

pytestmark = pytest.mark.unit

PERSONAL = ("email", "mail", "ip", "address", "client", "agent", "visitor", "salt", "phone")
PUBLIC_EVENTS = [event for spec in STREAM_MAP if spec.public for event in spec.events]


def _fields(schema: dict[str, Any], defs: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    for name, prop in schema.get("properties", {}).items():
        names.add(name)
        for ref in _refs(prop):
            names |= _fields(defs[ref.rsplit("/", 1)[1]], defs)
    return names


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if "$ref" in node else []
        return found + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


@pytest.mark.parametrize("event", PUBLIC_EVENTS, ids=lambda e: e.__name__)
def test_no_public_event_carries_personal_data(event: Any) -> None:
    schema = event.model_json_schema()
    names = _fields(schema, schema.get("$defs", {}))
    assert "data" in names  # the walk reached the payload
    words = {part for name in names for part in name.lower().split("_")}
    assert not words & set(PERSONAL), sorted(words & set(PERSONAL))


def test_every_public_stream_is_covered() -> None:
    assert {spec.name for spec in STREAM_MAP if spec.public} == {"articles", "comments"}
    assert len(PUBLIC_EVENTS) == 8
