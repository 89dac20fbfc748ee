"""HTTP validators: ETags and ``304 Not Modified``."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from fastapi import Request
from fastapi.responses import Response

#: Pages and article JSON: counts and comments move. A cache (the front cache, a CDN, a
#: browser) keeps them 5 s and may serve them 5 s more while it fetches them again, so what
#: changed shows within about 10 s (deploy/nginx/newsroom.conf.template).
READER_CACHE = "public, max-age=5, stale-while-revalidate=5"


def etag_for(body: bytes) -> str:
    return 'W/"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def cached_response(
    request: Request,
    body: bytes,
    media_type: str,
    cache_control: str,
    etag: str | None = None,
    fill: Callable[[bytes], bytes] | None = None,
) -> Response:
    """A response with an ETag; ``304 Not Modified`` when the client already has it.

    ``fill``: what is sent is ``fill(body)`` (a page's form token in its slot), while the
    ETag stays the body's: a weak validator, the same page to the reader.
    """
    etag = etag or etag_for(body)
    headers = {"ETag": etag, "Cache-Control": cache_control, "Vary": "Accept-Encoding"}
    if_none_match = request.headers.get("if-none-match", "")
    if etag in (t.strip() for t in if_none_match.split(",")) or if_none_match.strip() == "*":
        return Response(status_code=304, headers=headers)
    return Response(fill(body) if fill else body, media_type=media_type, headers=headers)
