"""Text handling for Arabic (and any other) script.

Stored text is NFC, nothing more. Folding (alef forms, ya, ta marbuta,
tashkeel, tatweel) is for matching only and never written back.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from urllib.parse import quote

TATWEEL = "\u0640"
HARAKAT = {chr(c) for c in range(0x064B, 0x0653)} | {"\u0670"}  # + superscript alef
# Lucene's Arabic normaliser, plus the hamza seats (ؤ ئ → ء) that readers also mix up:
# سيئ/سيء, مسؤول/مسئول.
_FOLD_MAP = str.maketrans(
    {"آ": "ا", "أ": "ا", "إ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ؤ": "ء", "ئ": "ء"}
)
# Bidi controls readers paste in; they change nothing visible in a slug or a match.
_BIDI_CONTROLS = dict.fromkeys(
    map(ord, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
)
# Matching's folds in one table: the letter forms above, no bidi controls, no
# tashkeel or tatweel.
_FOLD_TABLE = {**_FOLD_MAP, **_BIDI_CONTROLS, **dict.fromkeys(map(ord, HARAKAT | {TATWEEL}))}

SLUG_MAX_BYTES = 200  # of the percent-encoded slug, as the most used blogging platform caps it


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def clean_text(text: str) -> str:
    """NFC, unified line ends, no trailing spaces: what we store."""
    text = nfc(text).replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


# Letters and symbols that show nothing: Hangul fillers, the braille blank, tatweel…
_BLANK_LOOKING = frozenset("\u115f\u1160\u3164\uffa0\u2800\u0640\u17b4\u17b5")


def has_visible_text(text: str) -> bool:
    """Whether a reader would see something: a letter, digit, punctuation or symbol that
    draws ink. Spaces, format and control characters, lone marks (harakat) and the
    blank-looking letters do not count."""
    return any(unicodedata.category(ch)[0] in "LNPS" and ch not in _BLANK_LOOKING for ch in text)


def without_bidi_controls(text: str) -> str:
    """The text without bidi embeddings, overrides and isolates: shown as written, a
    U+202E could turn a reader's name or a link around."""
    return text.translate(_BIDI_CONTROLS)


def fold_arabic(text: str) -> str:
    """Fold for matching: NFC, case-fold, alef/ya/ta-marbuta forms, no tashkeel/tatweel."""
    return nfc(text).casefold().translate(_FOLD_TABLE)


def slugify(title: str) -> str:
    """A URL slug that keeps Arabic letters: lower case, letters and digits, ``-`` between.

    The percent-encoded form is at most :data:`SLUG_MAX_BYTES` bytes, cut on a
    character boundary so the slug stays valid UTF-8.
    """
    text = nfc(title).translate(_BIDI_CONTROLS).lower()
    text = "".join(ch for ch in text if ch != TATWEEL and ch not in HARAKAT)
    words = re.findall(r"[^\W_]+", text)
    slug = ""
    for word in words:
        candidate = f"{slug}-{word}" if slug else word
        if len(quote(candidate, safe="-")) > SLUG_MAX_BYTES:
            if not slug:  # one enormous word: cut it by characters
                slug = _cut_to_bytes(word)
            break
        slug = candidate
    return slug or "article"


def _cut_to_bytes(word: str) -> str:
    out = ""
    for ch in word:
        if len(quote(out + ch, safe="-")) > SLUG_MAX_BYTES:
            break
        out += ch
    return out


@functools.lru_cache(maxsize=8192)
def url_slug(slug: str) -> str:
    """The percent-encoded form used in links (remembered: an Arabic slug is mostly
    percent escapes, and every list page links each of its articles)."""
    return quote(slug, safe="-")
