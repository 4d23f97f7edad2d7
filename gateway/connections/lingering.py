"""Closing a connection after a last answer without losing that answer.

Closing a socket while the client's bytes are still unread makes the kernel send a
reset instead of a FIN, and the client may then lose the answer it was about to read
(RFC 9112, section 9.6). So a connection we give up on (over the cap, or too slow)
gets its answer, then a half-close, and we read and drop whatever the client still
sends until it hangs up or ``linger_s`` has passed. Few are kept this way at once
(``ConnectionGate.linger``); beyond that they are closed straight after the answer.
"""

from __future__ import annotations

import asyncio

from gateway.connections.gate import ConnectionGate


class LingeringClose(asyncio.Protocol):
    """Owns a transport from its last answer to its close."""

    __slots__ = ("_gate", "_linger_s", "_timer", "_transport")

    def __init__(self, gate: ConnectionGate, linger_s: float) -> None:
        self._gate = gate
        self._linger_s = linger_s
        self._timer: asyncio.TimerHandle | None = None
        self._transport: asyncio.Transport | None = None

    def take_over(self, transport: asyncio.Transport, answer: bytes) -> None:
        transport.set_protocol(self)
        self._transport = transport
        if answer:
            transport.write(answer)
        if not self._gate.linger(transport) or not transport.can_write_eof():
            transport.close()
            return
        transport.write_eof()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self._linger_s, transport.close)

    def data_received(self, data: bytes) -> None:
        """Whatever the client still sends is dropped."""

    def eof_received(self) -> bool:
        return False  # the client has hung up: asyncio closes the transport

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._transport is not None:
            self._gate.lingering.discard(self._transport)
            self._transport = None
