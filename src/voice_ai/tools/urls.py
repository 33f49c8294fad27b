"""Which addresses a tool may reach (server-side request forgery).

A tool's URL is written by a tenant's admin, and the service calls it from inside the operator's network: left
open, a tenant could make the service read the cloud's metadata endpoint (169.254.169.254), the PBX's own
services on loopback, or another tenant's intranet. So:

- only ``http`` and ``https``, no user-info in the URL (credentials go in the encrypted headers);
- on every call the host name is resolved and **every** address must be allowed: public (global unicast)
  addresses always; loopback, private (RFC 1918, unique-local), shared, link-local, multicast, reserved and
  unspecified ones only when the operator lists their network in ``VOICE_AI_TOOLS_ALLOW_NETWORKS`` (e.g. an
  intranet ``10.0.5.0/24``; nothing by default);
- the request then goes to the address that was checked (pinned: a DNS answer that changes between the check and
  the connection — DNS rebinding — cannot redirect it), with the original ``Host`` and, for HTTPS, the original
  name for SNI and certificate verification;
- redirects are not followed (a public URL could redirect to a private one).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

import httpx

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class URLRefused(ValueError):
    """The URL or the address it resolves to is not allowed (the message says why, without secrets)."""


def networks(spec: str | Iterable[str]) -> tuple[Network, ...]:
    items = spec.split(",") if isinstance(spec, str) else spec
    return tuple(ipaddress.ip_network(i.strip(), strict=False) for i in items if i.strip())


def check_url(url: str) -> httpx.URL:
    """The URL's form (no network access): http(s), a host, no user-info. Raises URLRefused."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise URLRefused(f"not a valid URL: {exc}") from None
    if parsed.scheme not in ("http", "https"):
        raise URLRefused("only http:// and https:// URLs")
    if not parsed.host:
        raise URLRefused("the URL has no host")
    if parsed.userinfo:
        raise URLRefused("no user or password in the URL: put credentials in a header")
    return parsed


NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # the well-known NAT64 prefix (RFC 6052)
NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")  # local-use NAT64 prefixes (RFC 8215)
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # ::a.b.c.d, deprecated (RFC 4291)


def embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for, where a translator or tunnel reaches it: IPv4-mapped
    (``::ffff:a.b.c.d``), IPv4-compatible (``::a.b.c.d``), the NAT64 well-known prefix (``64:ff9b::a.b.c.d``) and
    6to4 (``2002:AABB:CCDD::/48``). Teredo and the local-use NAT64 prefix are not global: refused as they are."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64 or (address in IPV4_COMPATIBLE and int(address) > 0xFFFF):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _listed(address: Address, allow: tuple[Network, ...]) -> bool:
    return any(address.version == net.version and address in net for net in allow)


def allowed(address: Address, allow: tuple[Network, ...]) -> bool:
    """Public, or in a network the operator allows. An IPv6 address that embeds an IPv4 one is judged by that
    IPv4 address (``64:ff9b::a9fe:a9fe`` is the metadata address through NAT64), unless the operator lists the IPv6
    address's own network."""
    if _listed(address, allow):
        return True
    inner = embedded_ipv4(address)
    if inner is not None:
        return _listed(inner, allow) or (inner.is_global and not inner.is_multicast)
    if address in NAT64_LOCAL:
        return False
    return address.is_global and not address.is_multicast


@dataclass(frozen=True)
class Pinned:
    """Where a request really goes: the checked address, and the host name it was asked for."""

    url: httpx.URL  # the URL with the address in place of the host name
    host: str
    host_header: str


async def resolve(host: str, port: int) -> list[Address]:
    """The host's addresses (the system's resolver, off the event loop). Raises URLRefused."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        raise URLRefused(f"the host {host} does not resolve") from None
    return list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos))


async def pin(url: str, allow: tuple[Network, ...]) -> Pinned:
    """Resolve the URL's host; every address must be allowed. Raises URLRefused."""
    parsed = check_url(url)
    host = parsed.host
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        literal: Address | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        addresses = await resolve(host, port)
    if not addresses:
        raise URLRefused(f"the host {host} does not resolve")
    for address in addresses:
        if not allowed(address, allow):
            raise URLRefused(
                f"{host} resolves to {address}, a non-public address; the operator may allow its network "
                "(VOICE_AI_TOOLS_ALLOW_NETWORKS)"
            )
    chosen = min(addresses, key=lambda a: a.version)  # IPv4 first: a tool's server listens there more often than not
    default_port = parsed.port is None
    host_header = host if default_port else f"{host}:{parsed.port}"
    if literal is not None and literal.version == 6:
        host_header = f"[{host}]" if default_port else f"[{host}]:{parsed.port}"
    return Pinned(parsed.copy_with(host=str(chosen)), host, host_header)
