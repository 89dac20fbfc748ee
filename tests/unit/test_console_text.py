"""The console's body editor: the text an editor edits and the blocks it stands for,
both ways, tables included (``|`` rows, a ``|---|`` line under a header row)."""

from __future__ import annotations

import pytest

from services.gateway.console.routes import _blocks, _body_text

pytestmark = pytest.mark.unit

BLOCKS = [
    {"kind": "paragraph", "text": "نتائج الجولة الأولى."},
    {"kind": "heading", "text": "الترتيب"},
    {
        "kind": "table",
        "text": "",
        "rows": [["الفريق", "النقاط"], ["الوحدة", "42"], ["الجيش", "39"]],
        "head": True,
    },
    {"kind": "table", "text": "", "rows": [["a", "b"]], "head": False},
]


def test_the_body_survives_an_edit_unchanged_tables_included() -> None:
    text = _body_text(BLOCKS)
    assert "| الفريق | النقاط |\n|---|---|\n| الوحدة | 42 |" in text
    assert _blocks(text) == BLOCKS


def test_a_pasted_markdown_table_becomes_a_table() -> None:
    blocks = _blocks("Scores:\n\n| Team | Pts |\n| :--- | ---: |\n| Harbour FC | 42 |")
    assert blocks[1] == {
        "kind": "table",
        "text": "",
        "rows": [["Team", "Pts"], ["Harbour FC", "42"]],
        "head": True,
    }
