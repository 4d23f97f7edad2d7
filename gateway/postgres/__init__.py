"""PostgreSQL, the engine the fleet shares: one pool per process, versioned migrations,
and one translation of connection failures into 503 problems.

Stores built on it (audit, approvals, halts, the process registry) take the pool and
declare their own migrations; none of them opens its own connections except the halt
listener, which holds one for ``LISTEN``.
"""

from gateway.postgres.errors import unavailable_as
from gateway.postgres.migrations import Migration, migrate
from gateway.postgres.pool import Postgres, PostgresPool, open_pool

__all__ = ["Migration", "Postgres", "PostgresPool", "migrate", "open_pool", "unavailable_as"]
