"""Text as a reader sees it, for matching (word lists, duplicates): never stored.

Tricks that change the bytes but not what a reader sees must not change a
match: markup (``ك<b></b>لب``), character references (``&#1603;``),
compatibility forms (Arabic presentation forms, fullwidth letters: NFKC),
default-ignorable characters inside a word (zero-width joiners and spaces, soft
hyphens, variation selectors), combining marks of any kind (harakat, U+0653…),
Persian and Urdu letter forms of Arabic letters, and letters of other scripts
that look like Latin ones (Cyrillic ``а``, Greek ``ο``: the confusables of
Unicode TR39, from the ``confusable-homoglyphs`` package's data).
"""

from __future__ import annotations

import html
import json
import sys
import unicodedata
from functools import lru_cache
from importlib import resources

from shared.text.arabic import fold_arabic
from shared.text.html_policy import strip_tags

# Letters of Persian, Urdu and other Arabic-script languages, as the Arabic letter
# a reader of Arabic takes them for.
ARABIC_VARIANTS = str.maketrans(
    {
        "ک": "ك",  # keheh
        "ڪ": "ك",  # swash kaf
        "ی": "ي",  # Farsi yeh
        "ې": "ي",
        "ے": "ي",  # yeh barree
        "ۀ": "ه",
        "ہ": "ه",  # heh goal
        "ھ": "ه",  # heh doachashmee
        "ە": "ه",
        "ٮ": "ب",  # dotless beh
        "ٯ": "ق",  # dotless qaf
    }
)
# Not format characters (Cf) but invisible all the same: Hangul fillers, the
# combining grapheme joiner, the Mongolian vowel separator.
_INVISIBLE = frozenset("\u115f\u1160\u3164\uffa0\u034f\u180e")


@lru_cache(maxsize=1)
def _latin_lookalikes() -> dict[int, str]:
    """Each character that TR39 lists as confusable with an ASCII letter or digit."""
    data = json.loads(
        resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text()
    )
    table: dict[int, str] = {}
    for char, glyphs in data.items():
        if len(char) != 1 or char.isascii():
            continue
        ascii_ = [
            g["c"] for g in glyphs if len(g["c"]) == 1 and g["c"].isascii() and g["c"].isalnum()
        ]
        if ascii_ and unicodedata.name(char, "").split()[0] not in ("ARABIC",):
            table[ord(char)] = min(ascii_).lower()
    return table


def _ignorable(ch: str) -> bool:
    category = unicodedata.category(ch)
    return (
        category == "Cf"
        or category.startswith("M")
        or ch in _INVISIBLE
        or ("\ufe00" <= ch <= "\ufe0f")
    )


@lru_cache(maxsize=1)
def _without_ignorables() -> dict[int, None]:
    """A ``str.translate`` table dropping every ignorable character (about 2,600; made
    once, in C at each use rather than a Python test per character)."""
    return dict.fromkeys(cp for cp in range(sys.maxunicode + 1) if _ignorable(chr(cp)))


def prepare() -> None:
    """Build the lookup tables now: made on the first comment, they held its whole batch
    (about 0.3 s)."""
    _without_ignorables()
    _latin_lookalikes()


@lru_cache(maxsize=8192)
def as_seen(text: str) -> str:
    """``text`` as a reader sees it, folded for matching."""
    visible = html.unescape(strip_tags(text))
    visible = unicodedata.normalize("NFKC", visible)
    visible = visible.translate(_without_ignorables())
    visible = visible.translate(ARABIC_VARIANTS).translate(_latin_lookalikes())
    return fold_arabic(visible)
