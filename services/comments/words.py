"""Word lists that match Arabic as readers write it.

Both the list and the text are folded (alef forms, ya/alef maqsura, ta
marbuta/ha, no tashkeel or tatweel, case) and split into words; a listed word
matches a whole word of the text, optionally behind the clitics Arabic
attaches in front (و ف ب ل ك ال …), and a phrase matches consecutive words.
So "كَلْـب" and "والكلب" match "كلب", while "كلبة" or "مكلبة" do not; neither
markup, character references, zero-width characters, presentation forms,
Persian letter forms nor Cyrillic look-alikes hide a word (shared/text/seen.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from shared.text.arabic import fold_arabic
from shared.text.seen import as_seen, prepare

_WORD = re.compile(r"[^\W_]+")
# Proclitics: conjunction + preposition + article combinations.
_PREFIXES = frozenset(
    fold_arabic(p)
    for p in (
        "وال",
        "فال",
        "بال",
        "كال",
        "لل",
        "ال",
        "و",
        "ف",
        "ب",
        "ل",
        "ك",
        "وب",
        "ول",
        "فب",
        "فل",
        "وك",
    )
)
_PREFIX_LENGTHS = sorted({len(p) for p in _PREFIXES})


def words(text: str) -> list[str]:
    """The words a reader sees in ``text`` (markup, invisible characters and look-alike
    letters do not hide one: shared/text/seen.py), folded."""
    return _WORD.findall(as_seen(text))


def _forms(word: str) -> frozenset[str]:
    """A text word and what it is once one leading clitic is taken off."""
    return frozenset(
        [word] + [word[n:] for n in _PREFIX_LENGTHS if len(word) - n >= 2 and word[:n] in _PREFIXES]
    )


@lru_cache(maxsize=4096)
def _tokens(text: str) -> tuple[frozenset[str], ...]:
    # Cached: every word list looks at the same fields of the same comment.
    return tuple(_forms(t) for t in words(text))


class WordList:
    def __init__(self, entries: Iterable[str]) -> None:
        self.phrases = [tuple(w) for entry in entries if (w := words(entry))]
        self._first = {p[0] for p in self.phrases}

    def __bool__(self) -> bool:
        return bool(self.phrases)

    def find(self, *texts: str | None) -> list[str]:
        """The listed words or phrases found in any of ``texts`` (folded forms)."""
        if not self.phrases:
            return []
        found: set[str] = set()
        for text in texts:
            if not text:
                continue
            tokens = _tokens(text)
            starts = [i for i, forms in enumerate(tokens) if not self._first.isdisjoint(forms)]
            for phrase in self.phrases:
                n = len(phrase)
                if any(
                    i + n <= len(tokens) and all(phrase[k] in tokens[i + k] for k in range(n))
                    for i in starts
                ):
                    found.add(" ".join(phrase))
        return sorted(found)


async def prepare_matching() -> None:
    """On start: the folding tables built before the first comment arrives."""
    prepare()
