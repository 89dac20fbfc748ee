"""Any pip installs a working ingest: the pip that ``python -m venv`` brings here (23.x)
drops nested extras (lxml's html-clean, which trafilatura needs) and stops on an extra
spelt two ways; pyproject.toml declares what ingest imports so that it installs anyway."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.integration


def test_a_fresh_venv_with_its_own_pip_installs_a_working_ingest(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    pip = subprocess.run(
        [python, "-m", "pip", "--version"], capture_output=True, text=True, check=True
    ).stdout
    installed = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--no-warn-script-location", str(REPO)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert installed.returncode == 0, f"{pip}\n{installed.stderr[-2000:]}"
    page = (REPO / "tests" / "fixtures" / "pages" / "article-en.html").read_text()
    check = (
        "import sys; from services.ingest.parsing import parse_html; "
        "print(parse_html(sys.stdin.read()).title)"
    )
    parsed = subprocess.run(
        [python, "-c", check], input=page, capture_output=True, text=True, cwd=tmp_path
    )
    assert parsed.stdout.strip() == "Harbour reopens after storm repairs", pip + parsed.stderr
