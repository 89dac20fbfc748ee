"""Text a database can hold: no control characters (but tab and line breaks), no lone
surrogates. PostgreSQL refuses NUL, and no UTF-8 encoder takes a lone surrogate:
input with either is refused at the door (422), never accepted and then lost."""

from __future__ import annotations

import re

_UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
MESSAGE = "contains a control character or an unpaired surrogate, which cannot be stored"


def storable(value: str) -> str:
    """``value`` unchanged, or ValueError naming why it cannot be stored."""
    if _UNSTORABLE.search(value):
        raise ValueError(MESSAGE)
    return value


def is_storable(value: str) -> bool:
    return _UNSTORABLE.search(value) is None
