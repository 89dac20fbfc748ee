"""Browsers get Arabic error pages (404, 405, 500); scripts and the API get problem details."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.gateway.rendering import make_templates
from services.gateway.settings import GatewaySettings
from services.gateway.site.pages import html_errors
from shared.web.problems import install_problem_handlers

pytestmark = pytest.mark.unit
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()
    install_problem_handlers(app)
    parts = SimpleNamespace(settings=GatewaySettings(), templates=make_templates())
    html_errors(app, parts)  # type: ignore[arg-type]

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    @app.get("/api/v1/boom")
    async def api_boom() -> None:
        raise RuntimeError("a bug")

    return TestClient(app, raise_server_exceptions=False)


def test_unknown_pages_are_arabic_for_browsers(client: TestClient) -> None:
    page = client.get("/no/such/page", headers=BROWSER)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert 'lang="ar" dir="rtl"' in page.text and "الصفحة غير موجودة" in page.text
    assert 'name="robots" content="noindex' in page.text
    assert client.post("/boom", headers=BROWSER).status_code == 405


def test_a_crash_shows_an_arabic_page_to_browsers_and_a_problem_to_scripts(
    client: TestClient,
) -> None:
    page = client.get("/boom", headers=BROWSER)
    assert page.status_code == 500 and "حدث خطأ" in page.text
    assert "a bug" not in page.text  # nothing of the failure is shown
    api = client.get("/api/v1/boom", headers=BROWSER)
    assert api.status_code == 500 and api.headers["content-type"] == "application/problem+json"
    plain = client.get("/no/such/page")
    assert plain.status_code == 404 and plain.headers["content-type"] == "application/problem+json"
