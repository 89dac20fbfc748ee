"""The gateway compiles its templates before it serves: the first reader after a deploy
(or of each new worker) does not wait for them, nor hold every other request meanwhile."""

from __future__ import annotations

import pytest

from services.gateway.app import SERVICE
from services.gateway.rendering import make_templates, warm_templates

pytestmark = pytest.mark.unit


async def test_every_template_is_compiled_before_the_first_page() -> None:
    templates = make_templates()
    names = templates.env.list_templates()
    assert "article.html" in names and "index.html" in names
    await warm_templates(templates)
    cached = {key[1] for key in (templates.env.cache or {})}
    assert set(names) <= cached
    # Compiled once: the page does not look at the files again.
    assert templates.env.auto_reload is False


def test_the_gateway_warms_them_at_start() -> None:
    assert warm_templates in SERVICE.on_start
