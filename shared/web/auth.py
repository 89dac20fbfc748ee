"""Bearer tokens of editors and moderators."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from fastapi import Request

from shared.web.problems import Problem


def bearer_guard(expected: str | None, realm: str) -> Callable[[Request], Awaitable[None]]:
    """A dependency that admits only ``Authorization: Bearer <expected>``.

    401 without credentials, 403 with wrong ones; constant-time comparison.
    With no token configured, nobody is admitted.
    """

    async def guard(request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Problem(
                401,
                "Authentication required",
                f"A {realm} bearer token is required.",
                headers={"WWW-Authenticate": f'Bearer realm="{realm}"'},
            )
        if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
            raise Problem(403, "Forbidden", f"This token is not a valid {realm} token.")

    return guard
