"""Signatures as the Standard Webhooks specification says, checked by a receiver written
with the standard library only (tests/e2e/receiver.py) and by the reference package."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook

from services.webhooks.dispatching import backoff
from services.webhooks.sending import signed_headers
from services.webhooks.subscriptions import new_secret
from tests.e2e.receiver import verified

pytestmark = pytest.mark.unit


def test_a_signature_verifies_with_the_standard_library_and_the_reference_package() -> None:
    secret = new_secret()
    body = '{"type":"article.published","data":{"title":"خبر"}}'.encode()
    headers = signed_headers(secret, "0b8f1d9e-1", datetime.now(UTC), body)
    assert verified(secret, headers, body)
    assert Webhook(secret).verify(body, headers)["data"]["title"] == "خبر"
    # Another body, another secret or an old timestamp does not verify.
    assert not verified(secret, headers, body + b" ")
    assert not verified(new_secret(), headers, body)
    old = signed_headers(secret, "0b8f1d9e-1", datetime.now(UTC) - timedelta(hours=1), body)
    assert not verified(secret, old, body)


def test_backoff_doubles_up_to_the_longest_with_jitter() -> None:
    rng = random.Random(7)
    waits = [backoff(n, 5, 3600, rng) for n in range(1, 15)]
    for n, wait in enumerate(waits, 1):
        ceiling = min(3600, 5 * 2 ** (n - 1))
        assert ceiling / 2 <= wait <= ceiling
    assert len({round(w, 6) for w in waits}) == len(waits)  # jittered
