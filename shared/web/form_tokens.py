"""Signed form tokens: when the comment form was loaded."""

from __future__ import annotations

import hashlib
import hmac
import time


class FormTokens:
    """A signed page-load time in the comment form: submitting faster than a person can is suspect."""

    def __init__(
        self, secret: str, min_seconds: float = 3.0, max_age_seconds: float = 86_400.0
    ) -> None:
        self._key = secret.encode()
        self.min_seconds = min_seconds
        self.max_age_seconds = max_age_seconds

    def issue(self, now: float | None = None) -> str:
        issued = str(int((now if now is not None else time.time()) * 1000))
        return f"{issued}.{self._sign(issued)}"

    def signals(self, token: str | None, now: float | None = None) -> list[str]:
        """Spam signals of a token: ``no_form_token``, ``too_fast``, or none."""
        if not token or "." not in token:
            return ["no_form_token"]
        issued, _, signature = token.partition(".")
        # Bytes: compare_digest refuses non-ASCII text, and a forged token may carry any.
        if not issued.isdigit() or not hmac.compare_digest(
            signature.encode(), self._sign(issued).encode()
        ):
            return ["no_form_token"]
        age = (now if now is not None else time.time()) - int(issued) / 1000
        if age < self.min_seconds:
            return ["too_fast"]
        if age > self.max_age_seconds:
            return ["no_form_token"]
        return []

    def _sign(self, issued: str) -> str:
        return hmac.new(self._key, issued.encode(), hashlib.sha256).hexdigest()[:32]
