"""One tool call over real HTTP to a local server: which addresses it may reach (SSRF), the size and redirect
bounds, and how arguments travel (URL placeholders, query string, JSON body)."""

from __future__ import annotations

import asyncio
import ipaddress
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from fakes.tool_servers import TOOL_KEY, ToolServer, ToolServers
from voice_ai.tools.executor import execute
from voice_ai.tools.spec import ToolSpec
from voice_ai.tools.urls import URLRefused, allowed, check_url, networks

LOOPBACK = networks("127.0.0.0/8,::1/128")  # "localhost" may resolve to both
PARAMETERS = {"type": "object", "properties": {"order": {"type": "string"}}}


@pytest.fixture(scope="module")
def tool_server() -> Iterator[ToolServers]:
    with ToolServer() as state:
        yield state


@pytest.fixture
def servers(tool_server: ToolServers) -> ToolServers:
    tool_server.reset()
    return tool_server


def spec(url: str, **extra: Any) -> ToolSpec:
    return ToolSpec("t", "a tool", PARAMETERS, url, headers={"X-Api-Key": TOOL_KEY}, **extra)


async def test_loopback_is_refused_unless_the_operator_allows_it(servers: ToolServers) -> None:
    url = f"{servers.base_url}/tool/orders/{{order}}"
    refused = await execute(spec(url), {"order": "1"}, allow=())
    assert not refused.ok and "not allowed" in refused.content and "127.0.0.1" in (refused.error or "")
    assert servers.tool_requests == []
    done = await execute(spec(url), {"order": "1"}, allow=LOOPBACK)
    assert done.ok and done.status == 200 and '"status":"enviado"' in done.content
    assert [r.path for r in servers.tool_requests] == ["/tool/orders/1"]


async def test_a_name_is_checked_by_the_address_it_resolves_to_and_the_request_is_pinned_to_it(
    servers: ToolServers,
) -> None:
    url = f"http://localhost:{servers.base_url.rsplit(':', 1)[1]}/tool/orders/7"
    refused = await execute(spec(url), {}, allow=())
    assert not refused.ok and servers.tool_requests == []  # localhost is loopback, whatever its name
    done = await execute(spec(url), {}, allow=LOOPBACK)
    assert done.ok, done
    assert servers.tool_requests[0].headers["host"] == f"localhost:{servers.base_url.rsplit(':', 1)[1]}"


@pytest.mark.parametrize(
    "address",
    ["169.254.169.254", "10.1.2.3", "192.168.0.1", "172.16.5.5", "100.64.0.1", "0.0.0.0", "::1", "fd00::1",
     "fe80::1", "224.0.0.1", "::ffff:127.0.0.1",
     # IPv4 embedded in IPv6: NAT64 (well-known and local-use prefixes), 6to4, IPv4-compatible, Teredo
     "64:ff9b::a9fe:a9fe", "64:ff9b::10.0.0.1", "64:ff9b:1::a9fe:a9fe", "2002:a9fe:a9fe::1", "2002:7f00:1::",
     "::169.254.169.254", "::127.0.0.1", "::ffff:169.254.169.254", "2001:0:4136:e378:8000:63bf:3fff:fdd2"],
)  # fmt: skip
def test_non_public_addresses_are_refused_by_default(address: str) -> None:
    assert not allowed(ipaddress.ip_address(address), ())


def test_public_addresses_and_allowed_networks_pass() -> None:
    assert allowed(ipaddress.ip_address("8.8.8.8"), ())
    assert allowed(ipaddress.ip_address("2001:4860:4860::8888"), ())
    assert allowed(ipaddress.ip_address("10.0.5.9"), networks("10.0.5.0/24"))
    assert not allowed(ipaddress.ip_address("10.0.6.9"), networks("10.0.5.0/24"))
    # a public IPv4 address through NAT64 or 6to4 is public; an allowed one embedded is allowed
    assert allowed(ipaddress.ip_address("64:ff9b::8.8.8.8"), ())
    assert allowed(ipaddress.ip_address("2002:808:808::1"), ())
    assert allowed(ipaddress.ip_address("64:ff9b::10.0.5.9"), networks("10.0.5.0/24"))


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://example.com/x", "only http"),
        ("file:///etc/passwd", "only http"),
        ("http://user:pw@example.com/", "no user or password"),
        ("https:///nohost", "no host"),
    ],
)
def test_url_forms_that_are_refused(url: str, why: str) -> None:
    with pytest.raises(URLRefused, match=why):
        check_url(url)


async def test_a_response_over_the_limit_is_refused_not_cut(servers: ToolServers) -> None:
    result = await execute(spec(f"{servers.base_url}/tool/big", max_response_bytes=16384), {}, allow=LOOPBACK)
    assert not result.ok and "too large" in result.content and result.error == "response over 16384 bytes"


async def test_redirects_are_not_followed(servers: ToolServers) -> None:
    result = await execute(spec(f"{servers.base_url}/tool/redirect"), {}, allow=LOOPBACK)
    assert not result.ok and result.status == 302 and "redirect" in result.content
    assert [r.path for r in servers.tool_requests] == ["/tool/redirect"]


async def test_arguments_travel_as_placeholders_query_or_json_body(servers: ToolServers) -> None:
    get = await execute(
        spec(f"{servers.base_url}/tool/orders/{{order}}"), {"order": "A-1 2", "full": True}, allow=LOOPBACK
    )
    assert get.ok and '"order":"A-1 2"' in get.content
    assert servers.tool_requests[0].path == "/tool/orders/A-1 2" and servers.tool_requests[0].query == {"full": "true"}
    post = await execute(
        spec(f"{servers.base_url}/tool/tickets", method="POST"), {"subject": "Boleto", "n": 2}, allow=LOOPBACK
    )
    assert post.ok and servers.tool_requests[1].body == {"subject": "Boleto", "n": 2}
    assert servers.tool_requests[1].headers["content-type"] == "application/json"


async def test_a_tool_that_is_down_is_an_error_not_an_exception() -> None:
    result = await execute(spec("http://127.0.0.1:9/tool"), {}, allow=LOOPBACK, time_left=2)
    assert not result.ok and result.content == '{"error": "the tool could not be reached"}'


def _certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for the name ``localhost`` only (not for the address 127.0.0.1)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert, private = directory / "cert.pem", directory / "key.pem"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert, private


async def test_https_is_pinned_to_the_checked_address_and_verified_against_the_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request goes to the address that was checked, but TLS still names the host of the URL (SNI) and verifies
    the certificate against it: ``https://localhost`` works with a certificate for ``localhost``; the same server
    reached as ``https://127.0.0.1`` fails verification (the certificate does not name that address)."""
    import ssl

    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from helpers import free_port
    from voice_ai.tools import executor

    cert, key = _certificate(tmp_path)
    seen: list[str] = []

    async def order(request: Any) -> JSONResponse:
        seen.append(request.headers["host"])
        return JSONResponse({"status": "enviado"})

    port = free_port()
    config = uvicorn.Config(
        Starlette(routes=[Route("/orders/1", order)]),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ssl_certfile=str(cert),
        ssl_keyfile=str(key),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(1000):  # the server's thread sets a plain flag: poll it (at most 10 s)
            if server.started:
                break
            await asyncio.sleep(0.01)
        trusted = ssl.create_default_context(cafile=str(cert))  # this test's CA instead of the public ones
        monkeypatch.setattr(executor, "_tls", lambda: trusted)
        done = await execute(spec(f"https://localhost:{port}/orders/1"), {}, allow=LOOPBACK)
        assert done.ok, done
        assert seen == [f"localhost:{port}"]
        by_address = await execute(spec(f"https://127.0.0.1:{port}/orders/1"), {}, allow=LOOPBACK)
        assert not by_address.ok and by_address.error == "ConnectError" and len(seen) == 1
    finally:
        server.should_exit = True
        thread.join(timeout=5)


async def test_the_request_goes_to_the_checked_address_not_to_a_second_lookup(
    servers: ToolServers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: a name whose answer is checked once and then changes cannot redirect the request, because the
    request is made to the checked address. Here the name resolves (for the check) to the local server's address
    and not at all for anyone else: the call still arrives, under its own name."""
    from voice_ai.tools import urls

    checked: list[str] = []

    async def resolve(host: str, port: int) -> list[Any]:
        checked.append(host)
        return [ipaddress.ip_address("127.0.0.1")] if host == "erp.tenant.invalid" else await real(host, port)

    real = urls.resolve
    monkeypatch.setattr(urls, "resolve", resolve)
    port = servers.base_url.rsplit(":", 1)[1]
    result = await execute(spec(f"http://erp.tenant.invalid:{port}/tool/orders/5"), {}, allow=LOOPBACK)
    assert result.ok, result
    assert (
        checked == ["erp.tenant.invalid"] and servers.tool_requests[0].headers["host"] == f"erp.tenant.invalid:{port}"
    )


async def test_an_argument_cannot_move_the_request_up_the_path_or_to_another_host(servers: ToolServers) -> None:
    """``/tool/customers/{id}/orders`` with id ".." would be normalised to ``/tool/orders``; a placeholder in the
    host would send the decrypted headers wherever the caller steers the model."""
    url = f"{servers.base_url}/tool/customers/{{order}}/orders"
    for value in ("..", "."):
        result = await execute(spec(url), {"order": value}, allow=LOOPBACK)
        assert not result.ok and "not allowed" in result.content and value in (result.error or "")
    assert servers.tool_requests == []
    slash = await execute(spec(url), {"order": "../../x"}, allow=LOOPBACK)  # one segment: "/" is encoded
    assert slash.ok and servers.tool_requests[0].path == "/tool/customers/../../x/orders"
    port = servers.base_url.rsplit(":", 1)[1]
    hosted = await execute(spec(f"http://{{order}}:{port}/tool/x"), {"order": "127.0.0.1"}, allow=LOOPBACK)
    assert not hosted.ok and "path and query" in (hosted.error or "") and len(servers.tool_requests) == 1


async def test_an_echo_of_the_headers_does_not_give_the_secrets_back(servers: ToolServers) -> None:
    """Whatever the tool answers (a success or an error body), the header values — raw or base64 — are scrubbed."""
    echo = ToolSpec("t", "a tool", PARAMETERS, f"{servers.base_url}/tool/echo",
                    headers={"X-Api-Key": TOOL_KEY, "Authorization": "Bearer bearer-token-0001"})  # fmt: skip
    for status in (200, 500):
        result = await execute(echo, {"status": status}, allow=LOOPBACK)
        assert servers.tool_requests[-1].headers["x-api-key"] == TOOL_KEY  # it was sent
        assert "x-api-key" in result.content and "[REDACTED]" in result.content
        assert TOOL_KEY not in result.content and "bearer-token-0001" not in result.content
        assert "YmVhcmVyLXRva2VuLTAwMDE" not in result.content  # base64 of the token


async def test_a_tool_that_drips_its_answer_is_cut_by_one_deadline(servers: ToolServers) -> None:
    """httpx's timeout applies to each read: a byte every 0.3 s for 6 s never trips a 1 s one. The tool's timeout
    is the deadline of the whole call."""
    result = await execute(spec(f"{servers.base_url}/tool/drip", timeout_s=1.0), {}, allow=LOOPBACK)
    assert not result.ok and result.error == "timeout after 1 s" and "in time" in result.content


async def test_a_slow_name_resolution_is_within_the_deadline(
    servers: ToolServers, monkeypatch: pytest.MonkeyPatch
) -> None:
    from voice_ai.tools import urls

    async def resolve(host: str, port: int) -> list[Any]:
        await asyncio.sleep(3)
        return [ipaddress.ip_address("127.0.0.1")]

    monkeypatch.setattr(urls, "resolve", resolve)
    port = servers.base_url.rsplit(":", 1)[1]
    result = await execute(spec(f"http://erp.tenant.invalid:{port}/tool/orders/5", timeout_s=0.5), {}, allow=LOOPBACK)
    assert not result.ok and result.error == "timeout after 0.5 s" and servers.tool_requests == []
