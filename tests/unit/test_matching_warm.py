"""The comments service builds its folding tables before the first comment: built on
that comment's batch, they held the whole batch for about 0.3 s."""

from __future__ import annotations

import pytest

from services.comments.app import SERVICE
from services.comments.words import prepare_matching
from shared.text import seen

pytestmark = pytest.mark.unit


async def test_the_folding_tables_are_built_by_the_start_hook() -> None:
    seen._without_ignorables.cache_clear()
    seen._latin_lookalikes.cache_clear()
    await prepare_matching()
    assert seen._without_ignorables.cache_info().currsize == 1
    assert seen._latin_lookalikes.cache_info().currsize == 1
    assert prepare_matching in SERVICE.on_start
