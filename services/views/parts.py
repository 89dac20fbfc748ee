"""What the views service's routes and handlers are given."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends
from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.service.skeleton import Kit, part

from .settings import ViewsSettings
from .window import VisitorWindow


@dataclass(frozen=True)
class ViewsParts:
    settings: ViewsSettings
    #: Reads do not wait for the write lock; writes are synchronous steps (counting.run_write).
    read_engine: AsyncEngine
    writer: Engine
    visitors: VisitorWindow


def make_parts(kit: Kit) -> ViewsParts:
    settings: ViewsSettings = kit.settings
    assert kit.reads is not None and isinstance(kit.writer, Engine)
    return ViewsParts(
        settings=settings,
        read_engine=kit.reads,
        writer=kit.writer,
        visitors=VisitorWindow(
            kit.redis,
            kit.streams,
            timedelta(minutes=settings.dedupe_window_minutes),
            settings.unique_retention_days,
        ),
    )


ReadEngine = Annotated[AsyncEngine, Depends(part("read_engine"))]
Visitors = Annotated[VisitorWindow, Depends(part("visitors"))]
