"""Search terms: what a query and an article are matched on.

The comment word lists' folding (``shared.text.seen``: alef forms, ``ى``/``ي``,
``ة``/``ه``, harakat, tatweel, Persian letter forms) after NFKD, so that Latin
accents go too (``café`` = ``cafe``) and case never counts; then a light
Arabic prefix stemmer: ``الأصعدة``, ``الاصعدة`` and ``أصعدة`` all give
``اصعده``, ``بموسكو`` gives ``موسكو``. An article is indexed under every word
and its stem; a query word matches either, so a stem that cut too much only
adds results, never hides the exact word.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from shared.text.arabic import fold_arabic
from shared.text.seen import ARABIC_VARIANTS

WORD = re.compile(r"\w+")
#: The definite article with the particles that attach before it, longest first.
ARTICLE_PREFIXES = ("وبال", "وكال", "وال", "بال", "كال", "فال", "لل", "ال")
#: One-letter particles (and, with, for, like, so): cut only from long words.
LETTER_PREFIXES = ("و", "ب", "ل", "ك", "ف")
MAX_TERMS = 32


def fold(text: str) -> str:
    """Lower-case, accent- and harakat-free, Arabic letter forms folded."""
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(ch for ch in decomposed if not unicodedata.category(ch).startswith(("M", "Cf")))
    return fold_arabic(unicodedata.normalize("NFC", kept).translate(ARABIC_VARIANTS))


def stem(word: str) -> str:
    """The word without an attached article or particle (folded input)."""
    for prefix in ARTICLE_PREFIXES:
        if word.startswith(prefix) and len(word) - len(prefix) >= 2:
            return word[len(prefix) :]
    for prefix in LETTER_PREFIXES:
        if word.startswith(prefix) and len(word) - len(prefix) >= 4:
            return word[len(prefix) :]
    return word


def words(text: str) -> list[str]:
    return WORD.findall(fold(text))


@lru_cache(maxsize=65_536)
def word_forms(token: str) -> frozenset[str]:
    """Every folded word of a token of text, with its stem: what snippets match against
    (kept, because a language's words recur from page to page)."""
    return frozenset(form for word in words(token) for form in (word, stem(word)))


def index_terms(text: str) -> str:
    """The text as the index holds it: each word, then its stem when it differs."""
    out: list[str] = []
    for word in words(text):
        out.append(word)
        if (root := stem(word)) != word:
            out.append(root)
    return " ".join(out)


def query_terms(query: str) -> list[tuple[str, ...]]:
    """Each query word with its stem: an article must match one of each group."""
    groups: list[tuple[str, ...]] = []
    for word in words(query)[:MAX_TERMS]:
        group = tuple(dict.fromkeys((word, stem(word))))
        if group not in groups:
            groups.append(group)
    return groups


def answers(token: str, wanted: frozenset[str]) -> bool:
    """Whether a token of the article's text is one of the query's words (any form)."""
    return not word_forms(token).isdisjoint(wanted)


def wanted_forms(groups: list[tuple[str, ...]]) -> frozenset[str]:
    return frozenset(form for group in groups for form in group)
