from __future__ import annotations

import pytest

from services.gateway.rendering import text_direction
from services.ingest.language import detect
from services.ingest.language import with_language_now as with_language
from shared.contracts.api import ArticleIn

pytestmark = pytest.mark.unit


def test_the_language_comes_from_the_text_unless_the_sender_said() -> None:
    english = ArticleIn(
        title="Talks resume", body="The minister said on Tuesday that talks resume."
    )
    arabic = ArticleIn(
        title="روسيا وسوريا", body="أكد نائب وزير الخارجية الروسي أن المحادثات مستمرة."
    )
    assert with_language(english).language == "en"
    assert with_language(arabic).language == "ar"
    told = ArticleIn(title="Talks resume", body="The minister said so.", language="fr")
    assert with_language(told).language == "fr"
    assert detect("x", []) == "ar"  # too little text to tell: the site's language


@pytest.mark.parametrize(
    ("language", "direction"), [("ar", "rtl"), ("en", "ltr"), ("fa", "rtl"), ("en-GB", "ltr")]
)
def test_direction_follows_the_language(language: str, direction: str) -> None:
    assert text_direction(language) == direction
