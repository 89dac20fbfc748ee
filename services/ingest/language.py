"""An article's language, from its text when the sender did not say (py3langid ships its
model: nothing is downloaded at run time)."""

from __future__ import annotations

from shared.contracts.api import ArticleIn

#: What a page is taken to be when its text says too little.
DEFAULT = "ar"


def detect(title: str, body: list[str]) -> str:
    import py3langid  # its model loads on first use, not when ingest starts

    sample = " ".join([title, *body])[:4000]
    if len(sample.split()) < 3:
        return DEFAULT
    language, _score = py3langid.classify(sample)
    return str(language)


async def load_model() -> None:
    """At start-up, not on the first import: loading the model takes most of a second."""
    import asyncio

    await asyncio.to_thread(detect, "warm up the language model", ["once"])


def with_language(draft: ArticleIn) -> ArticleIn:
    """``draft`` with its language: the one it was sent with, else the detected one."""
    if "language" in draft.model_fields_set:
        return draft
    found = detect(draft.title, [b.text for b in draft.body])
    return draft.model_copy(update={"language": found})
