"""Who is calling: the bearer key becomes an :class:`~gateway.identity.Agent`."""

from __future__ import annotations

from gateway.identity import AgentDirectory
from gateway.pipeline import Invocation, Proceed


class Identify:
    def __init__(self, directory: AgentDirectory) -> None:
        self._directory = directory

    async def __call__(self, inv: Invocation, proceed: Proceed) -> None:
        inv.agent = self._directory.authenticate(inv.credentials)
        inv.credentials = None  # the key goes no further than this stage
        await proceed(inv)
