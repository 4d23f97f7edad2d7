"""One place that decides which PostgreSQL failures mean "the store is unreachable".

Lost connections, refused connects, timeouts and a closed pool become the caller's 503
problem (``audit_unavailable``, ``state_unavailable``, ``halt_state_unknown`` ...);
everything else is a bug and propagates. The original message is logged by the caller
only after scrubbing, since a DSN in an error could carry a password.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg

from schemas.errors import GatewayError

UNREACHABLE: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.QueryCanceledError,  # statement_timeout: the server is there but not answering
    asyncpg.AdminShutdownError,
)

POSTGRES_FAILURES: tuple[type[BaseException], ...] = (*UNREACHABLE, asyncpg.PostgresError)
"""Unreachable, or answering with an error: what a background loop survives and retries."""


@contextmanager
def unavailable_as(error: type[GatewayError], detail: str) -> Iterator[None]:
    """Raise ``error(detail)`` instead of a failure that means PostgreSQL is unreachable."""
    try:
        yield
    except UNREACHABLE:
        raise error(detail) from None
