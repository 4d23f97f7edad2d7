"""Publishing a new configuration version, and learning who adopted it.

:class:`ConfigBoard` is the seam: :class:`LocalConfigBoard` (no ``postgres:`` section)
applies a reload to this one process, all or nothing; the fleet's board
(:mod:`gateway.reload.board_postgres`) stores the version in PostgreSQL and every
process adopts it. Either way the snapshot in force is replaced by one assignment.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Protocol

from gateway.fleet.registry import default_name
from gateway.guardrails.policy import PolicyError
from gateway.registry import RegistryError
from gateway.reload.in_force import ConfigCompiler, ConfigInForce, Reloadable, ReloadRefused


@dataclass(frozen=True, slots=True)
class Adoption:
    """Which processes adopted a version: ``refused`` maps each process that could not
    to its reason; ``unconfirmed`` names every live process not running it (refused or
    silent)."""

    version: int
    confirmed: list[str]
    unconfirmed: list[str]
    refused: dict[str, str] = field(default_factory=dict)

    @property
    def acknowledged(self) -> bool:
        return not self.unconfirmed


class ConfigBoard(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def publish(self, text: str | None, source: str) -> Reloadable:
        """Check ``text`` (None: the text in force again, re-reading its policy files),
        make it the newest version and put it in force here; :class:`ReloadRefused`
        if it cannot be, with nothing changed."""
        ...

    async def adoption(self, version: int, within_s: float) -> Adoption:
        """Wait until every live process adopted ``version`` or refused it, at most
        ``within_s``; say who did what."""
        ...

    def error(self) -> str | None:
        """Why this process runs an older version than the newest, if it does."""
        ...


class LocalConfigBoard:
    """The embedded default: a reload applies to this process only."""

    def __init__(self, in_force: ConfigInForce, compiler: ConfigCompiler) -> None:
        self._in_force = in_force
        self._compiler = compiler
        self._lock = asyncio.Lock()  # two reloads at once: one after the other
        self.name = default_name()

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def publish(self, text: str | None, source: str) -> Reloadable:
        async with self._lock:
            current = self._in_force.current
            snapshot = await asyncio.to_thread(
                prepare_next, self._compiler, current, text, source, current.version + 1
            )
            self._in_force.current = snapshot
            return snapshot

    async def adoption(self, version: int, within_s: float) -> Adoption:
        return Adoption(version, [self.name], [])

    def error(self) -> str | None:
        return None


def prepare_next(
    compiler: ConfigCompiler, current: Reloadable, text: str | None, source: str, version: int
) -> Reloadable:
    """What a reload received by this process would put in force (blocking: it reads the
    policy files). Without a text, the configuration in force is compiled again, which
    re-reads its policy files."""
    if text is None:
        if current.text is not None:
            text = current.text
        else:
            try:
                return compiler.compile(current.config, version)
            except PolicyError as exc:
                raise ReloadRefused(exc.problems) from None
            except RegistryError as exc:
                raise ReloadRefused(str(exc).splitlines()) from None
    return compiler.prepare(current.config, text, version, source=source, strict=True)
