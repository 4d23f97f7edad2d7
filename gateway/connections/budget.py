"""How many client connections this process can afford to hold, and for how long.

The cap protects the open-file limit (``ulimit -n``, often 1,024): past it, ``accept``
and every ``open`` fail, and calls that were fine start to break. ``max_open: auto``
takes the soft limit and keeps a reserve for what the process opens itself: the
listening socket, stdio, the SQLite files and their journals, Redis or PostgreSQL
connections, connections closing after a last answer, and every backend's connection
pool at its full size (``backends.*.max_connections``).
"""

from __future__ import annotations

import resource
from collections.abc import Iterable
from dataclasses import dataclass

from gateway.config import Config
from gateway.config.connections import ConnectionsConfig

OWN_FILES = 64
"""Descriptors kept for the process's own files and sockets besides backend pools."""

LINGERING_MAX = 64
"""Connections at most being closed politely at once (see ``lingering``); beyond this
they are closed at once. Part of the reserve."""

UNLIMITED_CAP = 65_536
"""``auto`` when the open-file limit is unlimited: memory, not descriptors, bounds it."""

MIN_CAP = 32
"""``auto`` never goes below this; a limit that leaves less is reported as not fitting."""


@dataclass(frozen=True)
class ConnectionBudget:
    """The numbers one process serves with (``serve`` logs them when it listens)."""

    header_s: float
    body_s: float
    idle_s: float
    max_open: int
    open_file_limit: int | None  # the soft RLIMIT_NOFILE; None: unlimited
    reserve: int  # descriptors kept for the process itself and its backend pools
    derived: bool  # max_open came from the open-file limit ("auto")

    @property
    def fits(self) -> bool:
        """Whether the cap and the reserve fit under the open-file limit."""
        return self.open_file_limit is None or self.max_open + self.reserve <= self.open_file_limit

    @property
    def linger_s(self) -> float:
        """How long a connection closed with a last answer waits for the client's EOF."""
        return min(1.0, self.header_s)


def open_file_limit() -> int | None:
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else soft


def connection_budget(
    connections: ConnectionsConfig, backend_pools: Iterable[int], file_limit: int | None
) -> ConnectionBudget:
    reserve = OWN_FILES + LINGERING_MAX + sum(backend_pools)
    if connections.max_open != "auto":
        max_open, derived = connections.max_open, False
    elif file_limit is None:
        max_open, derived = UNLIMITED_CAP, True
    else:
        max_open, derived = max(file_limit - reserve, MIN_CAP), True
    return ConnectionBudget(
        header_s=connections.header_s,
        body_s=connections.body_s,
        idle_s=connections.idle_s,
        max_open=max_open,
        open_file_limit=file_limit,
        reserve=reserve,
        derived=derived,
    )


def budget_for(config: Config) -> ConnectionBudget:
    """The budget for this process, from its config and its open-file limit now."""
    pools = (backend.max_connections for backend in config.backends.values())
    return connection_budget(config.server.connections, pools, open_file_limit())
