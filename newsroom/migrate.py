"""``newsroom migrate``: each service's schema, to its newest revision (or one named)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from shared.storage.migrations import Schema

#: The services that own a database, in the order their schemas are migrated.
SERVICES = ("ingest", "views", "comments", "search", "webhooks")


@dataclass(frozen=True)
class Target:
    service: str
    schema: Schema
    url: str


def targets(services: list[str] | None = None) -> list[Target]:
    chosen = services or list(SERVICES)
    unknown = sorted(set(chosen) - set(SERVICES))
    if unknown:
        raise ValueError(f"no schema for {', '.join(unknown)} (services: {', '.join(SERVICES)})")
    found = []
    for service in chosen:
        schema = importlib.import_module(f"services.{service}.schema").SCHEMA
        settings_module = importlib.import_module(f"services.{service}.settings")
        settings_class = getattr(settings_module, f"{service.capitalize()}Settings")
        found.append(Target(service, schema, settings_class().own_database_url))
    return found
