"""An article's language, from its text when the sender did not say (py3langid ships its
model: nothing is downloaded at run time)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from shared.contracts.api import ArticleIn

#: What a page is taken to be when its text says too little.
DEFAULT = "ar"
_identifier: Any = None
_loading = threading.Lock()


def _model() -> Any:
    """py3langid's identifier, loaded once by whichever thread asks first (it takes most
    of a second; py3langid's own lazy load has no lock)."""
    global _identifier
    with _loading:
        if _identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            _identifier = LanguageIdentifier.from_model_file(MODEL_FILE)
    return _identifier


def detect(title: str, body: list[str]) -> str:
    sample = " ".join([title, *body])[:4000]
    if len(sample.split()) < 3:
        return DEFAULT
    language, _score = _model().classify(sample)
    return str(language)


async def load_model() -> None:
    """Beside serving, not on the first import (a background task of ingest)."""
    await asyncio.to_thread(_model)


def with_language_now(draft: ArticleIn) -> ArticleIn:
    """``draft`` with its language: the one it was sent with, else the detected one."""
    if "language" in draft.model_fields_set:
        return draft
    found = detect(draft.title, [b.text for b in draft.body])
    return draft.model_copy(update={"language": found})


async def with_language(draft: ArticleIn) -> ArticleIn:
    """:func:`with_language_now` off the event loop: while the model is still loading,
    an import waits for it in a thread and the service goes on answering."""
    if "language" in draft.model_fields_set:
        return draft
    return await asyncio.to_thread(with_language_now, draft)
