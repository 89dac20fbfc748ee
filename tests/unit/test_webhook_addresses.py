"""Where a webhook may go, judged on addresses as values: no connection is opened here."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

import httpx
import pytest

from services.webhooks.addresses import AddressPolicy, Refused, forbidden
from services.webhooks.sending import Outcome, Sender, host_header, pinned_url

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.0.0.2",
        "10.0.0.7",
        "172.16.3.4",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fd00:ec2::254",  # AWS metadata over IPv6
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:169.254.169.254",
        "::ffff:10.0.0.1",
        "2002:7f00:1::1",  # 6to4 around 127.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 around the metadata address
        "64:ff9b::a9fe:a9fe",  # NAT64 around the metadata address
    ],
)
def test_addresses_inside_are_forbidden(address: str) -> None:
    assert forbidden(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address", ["93.184.215.14", "8.8.8.8", "2606:4700::1111", "::ffff:93.184.215.14"]
)
def test_public_addresses_pass(address: str) -> None:
    assert forbidden(ipaddress.ip_address(address)) is None


def resolving_to(*addresses: str) -> object:
    async def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


async def test_a_name_is_judged_by_every_address_it_resolves_to() -> None:
    policy = AddressPolicy(resolver=resolving_to("93.184.215.14", "10.0.0.1"))  # type: ignore[arg-type]
    with pytest.raises(Refused, match="private"):
        await policy.check("https://partner.example/hook")
    ok = AddressPolicy(resolver=resolving_to("93.184.215.14"))  # type: ignore[arg-type]
    target = await ok.check("https://partner.example:8443/hook?x=1")
    assert (target.host, target.port, target.address) == ("partner.example", 8443, "93.184.215.14")


async def test_https_is_required_unless_the_setting_says_otherwise() -> None:
    public = resolving_to("93.184.215.14")
    with pytest.raises(Refused, match="https"):
        await AddressPolicy(resolver=public).check("http://partner.example/")  # type: ignore[arg-type]
    lenient = AddressPolicy(require_https=False, resolver=public)  # type: ignore[arg-type]
    assert (await lenient.check("http://partner.example/")).port == 80


async def test_literal_addresses_and_the_allow_list() -> None:
    policy = AddressPolicy(allow_hosts=("127.0.0.1", "hooks.internal"), require_https=False)
    assert (await policy.check("http://127.0.0.1:9000/")).address == "127.0.0.1"
    for url in (
        "http://127.0.0.2/",
        "http://[::1]/",
        "http://[::ffff:7f00:1]/",
        "http://0x7f000001/",
    ):
        with pytest.raises(Refused):
            await policy.check(url)
    inside = AddressPolicy(
        allow_hosts=("hooks.internal",),
        require_https=False,
        resolver=resolving_to("10.1.2.3"),  # type: ignore[arg-type]
    )
    assert (await inside.check("http://hooks.internal/")).address == "10.1.2.3"


async def test_a_name_that_does_not_resolve_is_refused() -> None:
    async def nowhere(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(Refused, match="does not resolve"):
        await AddressPolicy(resolver=nowhere).check("https://nowhere.example/")


async def deliver_through(
    answer: httpx.Response, resolves_to: str, url: str
) -> tuple[Outcome, list[httpx.Request]]:
    """One delivery to ``url`` whose host resolves to ``resolves_to``, through a fake
    transport that answers ``answer`` and keeps every request it was given."""
    seen: list[httpx.Request] = []

    def transport(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer

    sender = Sender(
        httpx.AsyncClient(transport=httpx.MockTransport(transport)),
        AddressPolicy(resolver=resolving_to(resolves_to)),  # type: ignore[arg-type]
        timeout=5,
        max_response_bytes=1024,
    )
    outcome = await sender.send(url, "whsec_" + "A" * 44, "id-1", b"{}", datetime.now(UTC))
    return outcome, seen


async def test_at_delivery_a_name_that_now_resolves_inside_is_refused_before_connecting() -> None:
    """Registered while it resolved outside, then it points inside (DNS rebinding)."""
    outcome, connections = await deliver_through(
        httpx.Response(200), "169.254.169.254", "https://partner.example/hook"
    )
    assert not outcome.ok and outcome.error is not None and "link-local" in outcome.error
    assert connections == []


async def test_the_delivery_connects_to_the_checked_address_with_the_urls_host() -> None:
    redirect = httpx.Response(
        302, headers={"location": "http://127.0.0.1/"}, stream=httpx.ByteStream(b"")
    )
    outcome, seen = await deliver_through(
        redirect, "2606:4700::1111", "https://partner.example/a/b?c=1"
    )
    [request] = seen
    assert str(request.url) == "https://[2606:4700::1111]/a/b?c=1"
    assert request.headers["host"] == "partner.example"
    assert request.extensions["sni_hostname"] == "partner.example"
    # A redirect is an answer, not a place to go.
    assert outcome.status_code == 302 and "not followed" in (outcome.error or "")


def test_url_rewriting_keeps_ports_and_brackets() -> None:
    from services.webhooks.addresses import Target

    target = Target("http://[::1]:8080/x", "::1", 8080, "::1", "http")
    assert pinned_url(target) == "http://[::1]:8080/x"
    assert host_header(target) == "[::1]:8080"
