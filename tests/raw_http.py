"""One raw HTTP exchange over a socket, for requests aiohttp's client refuses to send
(control characters in the path, bytes that are not UTF-8 in a header)."""

from __future__ import annotations

import asyncio
from typing import Any


async def exchange(server: Any, request: bytes, timeout_s: float = 10) -> bytes:
    """Send ``request`` to a test server and read the whole answer (the server closes)."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        writer.write(request)
        return await asyncio.wait_for(reader.read(), timeout=timeout_s)
    finally:
        writer.close()
        await writer.wait_closed()
