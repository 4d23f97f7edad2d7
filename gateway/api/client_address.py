"""Who a client is, as an address: the TCP peer, or behind trusted proxies the address
the outermost trusted proxy saw.

Behind a load balancer every request comes from the balancer's address, so anything
counted per address (console sign-in attempts) would count everyone together. Each proxy
appends the address it received the request from to ``X-Forwarded-For``; only the entries
appended by proxies we trust are true (a client writes whatever it likes to the left of
them). So the header is read only when the peer is a trusted proxy (``server.trusted_proxies``),
from the right, skipping trusted proxies; the first other address is the client. If every
entry is a trusted proxy the leftmost is taken; an entry that is no IP address ends the
walk at the last trusted hop, whose address is then used.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from aiohttp import web

Network = IPv4Network | IPv6Network
UNKNOWN = "unknown"


def _parsed(text: str) -> IPv4Address | IPv6Address | None:
    try:
        address = ip_address(text.strip().removeprefix("[").removesuffix("]"))
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:a.b.c.d is the IPv4 client
    return mapped if mapped is not None else address


def _trusted(address: IPv4Address | IPv6Address, proxies: Sequence[Network]) -> bool:
    return any(address.version == net.version and address in net for net in proxies)


def client_address(request: web.Request, proxies: Sequence[Network]) -> str:
    """The client's address as text (``unknown`` when the socket does not say)."""
    peer = _parsed(request.remote or "")
    if peer is None:
        return request.remote or UNKNOWN
    if not proxies or not _trusted(peer, proxies):
        return str(peer)
    hops = [
        hop for header in request.headers.getall("X-Forwarded-For", []) for hop in header.split(",")
    ]
    last = peer
    for hop in reversed(hops):
        address = _parsed(hop)
        if address is None:
            return str(last)
        if not _trusted(address, proxies):
            return str(address)
        last = address
    return str(last)
