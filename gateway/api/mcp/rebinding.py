"""Which ``Host`` and ``Origin`` values ``/mcp`` answers: the DNS-rebinding guard.

A web page an attacker controls can make a browser resolve the attacker's name to the
gateway's address, so a request can reach the gateway while naming any host. Bearer
keys are not sent by browsers on their own, but a gateway on a developer's laptop may be
reached by a page that learned a key, and the MCP specification asks every server to
check both headers. The attacker controls both the ``Host`` and the ``Origin`` of such a
request, so trusting an origin because it equals the request's own host protects nothing:
only a list fixed by configuration does.

The list holds, by default, the host of ``server.public_url`` (where agents reach the
gateway, e.g. through a proxy) and the loopback names ``localhost``, ``127.0.0.1`` and
``[::1]`` with the port the connection was accepted on; ``mcp.allowed_hosts`` and
``mcp.allowed_origins`` add to it. Entries are ``host[:port]``; a value without a port
stands for the scheme's default one (80 for ``http``, 443 for ``https``).
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from schemas.errors import HostNotAllowed, OriginNotAllowed

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _authority(hostname: str, port: int | None) -> str:
    """``host:port`` in one spelling: lower case, IPv6 in brackets."""
    host = hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return host if port is None else f"{host}:{port}"


def _split(netloc: str) -> tuple[str, int | None] | None:
    """Host and port of a ``host[:port]`` value, or None when it is not one."""
    try:
        parts = urlsplit("//" + netloc)
        hostname, port = parts.hostname, parts.port
    except ValueError:  # a port that is not a number, an unclosed bracket
        return None
    if not hostname or parts.path or parts.query or parts.fragment or parts.username:
        return None
    return hostname, port


class HostAllowList:
    """The hosts and origins ``/mcp`` accepts; everything else is refused with 403."""

    def __init__(
        self,
        public_url: str | None = None,
        hosts: Iterable[str] = (),
        origins: Iterable[str] = (),
    ) -> None:
        self._hosts: set[str] = set()
        if public_url is not None:
            parts = urlsplit(public_url)
            port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
            if parts.hostname:
                self._hosts.add(_authority(parts.hostname, port))
        for entry in hosts:
            split = _split(entry)
            if split is None:
                continue
            hostname, port = split
            for p in [port] if port is not None else _DEFAULT_PORTS.values():
                self._hosts.add(_authority(hostname, p))
        self._origins = {origin.rstrip("/").lower() for origin in origins}

    def check(self, host: str | None, origin: str | None, served_port: int | None) -> None:
        """Raise :class:`HostNotAllowed` or :class:`OriginNotAllowed` unless both pass.

        ``served_port`` is the local port the connection came in on: loopback names are
        accepted with it only, so another local service's page cannot borrow them.
        """
        if not self._host_allowed(host, served_port):
            raise HostNotAllowed(
                f"This gateway does not answer for the host {(host or '')[:100]!r}; "
                "reach it by its configured address (server.public_url), or add the "
                "host to mcp.allowed_hosts in gateway.yaml if it is yours."
            )
        if origin is not None and not self._origin_allowed(origin, served_port):
            raise OriginNotAllowed(
                f"Requests from origin {origin[:100]!r} are not accepted; add it to "
                "mcp.allowed_origins in gateway.yaml if it is yours."
            )

    def _host_allowed(self, host: str | None, served_port: int | None) -> bool:
        split = _split(host) if host else None
        if split is None:
            return False
        hostname, port = split
        # a Host without a port means the scheme's default, which we cannot see here
        ports = [port] if port is not None else list(_DEFAULT_PORTS.values())
        return any(self._known(hostname, p, served_port) for p in ports)

    def _origin_allowed(self, origin: str, served_port: int | None) -> bool:
        if origin.rstrip("/").lower() in self._origins:
            return True
        try:
            parts = urlsplit(origin)
            port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
        except ValueError:
            return False
        if parts.scheme not in _DEFAULT_PORTS or not parts.hostname or port is None:
            return False
        return self._known(parts.hostname, port, served_port)

    def _known(self, hostname: str, port: int, served_port: int | None) -> bool:
        authority = _authority(hostname, port)
        if authority in self._hosts:
            return True
        loopback = _authority(hostname, None) in LOOPBACK_NAMES
        return loopback and port == served_port
