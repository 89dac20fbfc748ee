"""Word lists that match Arabic as readers write it.

Both the list and the text are folded (alef forms, ya/alef maqsura, ta
marbuta/ha, no tashkeel or tatweel, case) and split into words; a listed word
matches a whole word of the text, optionally behind the clitics Arabic
attaches in front (و ف ب ل ك ال …), and a phrase matches consecutive words.
So "كَلْـب" and "والكلب" match "كلب", while "كلبة" or "مكلبة" do not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from shared.text import fold_arabic

_WORD = re.compile(r"[^\W_]+")
# Proclitics, longest first: conjunction + preposition + article combinations.
_PREFIXES = tuple(
    sorted(
        {
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
        },
        key=len,
        reverse=True,
    )
)


def words(text: str) -> list[str]:
    return _WORD.findall(fold_arabic(text))


def _forms(word: str) -> set[str]:
    """A text word and what it is once one leading clitic is taken off."""
    forms = {word}
    for prefix in _PREFIXES:
        if word.startswith(prefix) and len(word) - len(prefix) >= 2:
            forms.add(word[len(prefix) :])
    return forms


class WordList:
    def __init__(self, entries: Iterable[str]) -> None:
        self.phrases = [tuple(w) for entry in entries if (w := words(entry))]

    def __bool__(self) -> bool:
        return bool(self.phrases)

    def find(self, *texts: str | None) -> list[str]:
        """The listed words or phrases found in any of ``texts`` (folded forms)."""
        found: list[str] = []
        for text in texts:
            if not text:
                continue
            tokens = [_forms(t) for t in words(text)]
            for phrase in self.phrases:
                n = len(phrase)
                if any(
                    all(phrase[k] in tokens[i + k] for k in range(n))
                    for i in range(len(tokens) - n + 1)
                ):
                    found.append(" ".join(phrase))
        return sorted(set(found))
