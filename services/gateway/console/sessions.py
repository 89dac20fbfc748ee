"""Console sessions: a signed, expiring cookie naming the role (itsdangerous).

The cookie is HttpOnly, SameSite=Strict (a cross-site request carries none),
Secure when the console is served over HTTPS, and scoped to ``/admin``.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Literal

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

Role = Literal["editor", "moderator"]
COOKIE = "newsroom_console"


@dataclass
class ConsoleKeys:
    """Signs sessions; the key is shared by replicas (set at start from Redis)."""

    secret: str
    max_age_seconds: int

    def serializer(self) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.secret, salt="newsroom-console")


def role_for(token: str, editor_token: str | None, moderator_token: str | None) -> Role | None:
    """The role whose token this is (constant-time), or None."""
    given = token.encode()
    if editor_token and hmac.compare_digest(given, editor_token.encode()):
        return "editor"
    if moderator_token and hmac.compare_digest(given, moderator_token.encode()):
        return "moderator"
    return None


def current_role(request: Request, keys: ConsoleKeys) -> Role | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data = keys.serializer().loads(raw, max_age=keys.max_age_seconds)
    except BadSignature:  # tampered with, or expired (SignatureExpired is one)
        return None
    role = data.get("role") if isinstance(data, dict) else None
    return role if role in ("editor", "moderator") else None


def open_session(response: Response, request: Request, keys: ConsoleKeys, role: Role) -> None:
    response.set_cookie(
        COOKIE,
        keys.serializer().dumps({"role": role}),
        max_age=keys.max_age_seconds,
        path="/admin",
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="strict",
    )


def close_session(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/admin", httponly=True, samesite="strict")
