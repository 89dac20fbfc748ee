"""The `newsroom` command as an editor uses it: from any directory, on folders, and on
articles by key; printed URLs stay whole on a narrow terminal."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.e2e
FEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"
PAGES = REPO / "tests" / "fixtures" / "pages"


def test_editor_commands_work_from_any_directory(platform_factory: Any, tmp_path: Path) -> None:
    state = tmp_path / "state"
    platform = platform_factory(
        editor_token="", moderator_token="", extra_env={"XDG_STATE_HOME": str(state)}
    )
    assert (platform.data_dir / "editor-token").exists()  # made by `newsroom up`
    folder = tmp_path / "to-import"
    (folder / "2025" / "11").mkdir(parents=True)
    shutil.copy(PAGES / "article-en.html", folder / "2025" / "11" / "page.html")
    (folder / "article.json").write_text(
        json.dumps({"title": "مقال من ملف", "body": "نص.", "slug": "from-a-file"})
    )
    (folder / "picture.png").write_bytes(b"\x89PNG")  # not an article: left alone
    # A crawl's page as archives keep it: gzipped, in its site's own encoding.
    legacy = (PAGES / "article-ar.html").read_text(encoding="utf-8")
    legacy = legacy.replace('<meta charset="utf-8">', '<meta charset="windows-1256">')
    (folder / "2025" / "11" / "archived.html.gz").write_bytes(
        gzip.compress(legacy.encode("cp1256"))
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # Another directory, no token or data directory in the environment: the running
    # platform's own, never a new token.
    env = {
        k: v
        for k, v in platform.env.items()
        if k not in ("NEWSROOM_EDITOR_TOKEN", "NEWSROOM_DATA_DIR")
    }
    env["COLUMNS"] = "40"
    imported = platform.cli("import", str(folder), env=env, cwd=elsewhere)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert "3 created" in imported.stdout and "0 failed" in imported.stdout
    assert f"{platform.gateway}/articles/from-a-file" in imported.stdout  # one unbroken line
    assert not (elsewhere / "var").exists()

    listed = platform.cli("articles", "list", env=env, cwd=elsewhere).stdout
    assert "from-a-file" in listed and "published" in listed
    shown = platform.cli("articles", "show", "from-a-file", env=env, cwd=elsewhere).stdout
    assert "ETag:" in shown and "مقال من ملف" in shown
    out = platform.cli("articles", "unpublish", "from-a-file", env=env, cwd=elsewhere)
    assert out.stdout.startswith("unpublished")
    assert httpx.get(f"{platform.gateway}/api/v1/articles/from-a-file").status_code in (404, 200)
    assert platform.cli(
        "articles", "restore", "from-a-file", env=env, cwd=elsewhere
    ).stdout.startswith("restored")
    assert platform.cli(
        "articles", "delete", "from-a-file", env=env, cwd=elsewhere
    ).stdout.startswith("deleted")
    # A partner's feed: a summary line, the broken entry named, the others imported.
    feed = platform.cli("import", str(FEEDS / "partner.rss"), env=env, cwd=elsewhere)
    assert feed.returncode == 1, feed.stdout  # one entry failed
    assert "2 created, 0 updated, 0 unchanged, 1 failed" in feed.stdout
    assert "partner-1002: the entry has no title" in feed.stdout
    titles = [a["title"] for a in httpx.get(f"{platform.gateway}/api/v1/articles").json()["items"]]
    assert "افتتاح معرض الكتاب في دمشق" in titles

    # A folder with nothing to import says so (it printed "0 created … 0 failed" before).
    nothing = tmp_path / "nothing"
    nothing.mkdir()
    (nothing / "photo.jpg").write_bytes(b"\xff\xd8")
    empty = platform.cli("import", str(nothing), env=env, cwd=elsewhere)
    assert empty.returncode == 2 and "Nothing to import" in empty.stdout

    missing = platform.cli("articles", "show", "no-such-article", env=env, cwd=elsewhere)
    assert missing.returncode == 1 and "404" in missing.stdout

    # Nothing to find at all: a clear refusal, not a new token that gets a 403.
    lost = {**env, "XDG_STATE_HOME": str(tmp_path / "empty")}
    refused = platform.cli("articles", "list", env=lost, cwd=elsewhere)
    assert refused.returncode == 2 and "NEWSROOM_EDITOR_TOKEN" in refused.stdout
    assert not (elsewhere / "var").exists()
    assert os.listdir(elsewhere) == []


def test_a_feed_folder_sends_the_linked_pages_with_the_feed(
    platform_factory: Any, tmp_path: Path
) -> None:
    platform = platform_factory()
    folder = tmp_path / "wire"
    shutil.copytree(FEEDS / "wire", folder)
    shutil.copy(PAGES / "article-en.html", folder / "harbour-reopens.html")  # a linked page
    (folder / "note.json").write_text(json.dumps({"title": "ملاحظة", "body": "نص الملاحظة."}))
    imported = platform.cli("import", str(folder))
    assert imported.returncode == 0, imported.stdout + imported.stderr
    # The feed's two entries and the note; the linked page is not an article of its own.
    assert "3 created, 0 updated, 0 unchanged, 0 failed" in imported.stdout
    assert "harbour-reopens.html" not in imported.stdout
    listed = httpx.get(f"{platform.gateway}/api/v1/articles").json()["items"]
    harbour = next(a for a in listed if a["title"] == "Harbour reopens after storm repairs")
    article = httpx.get(f"{platform.gateway}/api/v1/articles/{harbour['slug']}").json()["article"]
    assert "Harbour master Ann Lee" in " ".join(b["text"] for b in article["body"])
