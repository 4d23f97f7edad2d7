"""Agents and their API keys.

Config holds only the SHA-256 digest of each key. A presented key is hashed and
compared against every agent's digest with :func:`hmac.compare_digest`, without
stopping at the first match, so the time taken says nothing about which digest, or
how much of one, matched. Keys are high-entropy random strings (``lastmile keys new``),
so a fast hash is the right tool; a password hash would only slow every call.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

from gateway.config import AgentConfig
from schemas.errors import Unauthenticated

KEY_PREFIX = "lm_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    """A fresh API key: a recognisable prefix (for secret scanners) and 256 random bits."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def operation_glob(glob: str) -> re.Pattern[str]:
    """An allow-list entry as a regex: ``*`` matches any run of characters, dots included."""
    return re.compile("^" + ".*".join(re.escape(part) for part in glob.split("*")) + "$")


@dataclass(slots=True)
class Agent:
    """An authenticated caller; carries no secret, so it is safe to log and audit."""

    id: str
    owner: str
    team: str | None
    environment: str
    allowed: tuple[str, ...]
    revoked: bool = False
    _patterns: tuple[re.Pattern[str], ...] = field(default=(), repr=False)
    _decided: dict[str, bool] = field(default_factory=dict, repr=False)

    @classmethod
    def from_config(cls, config: AgentConfig) -> Agent:
        return cls(
            id=config.id,
            owner=config.owner,
            team=config.team,
            environment=config.environment,
            allowed=tuple(config.operations),
            revoked=config.revoked,
            _patterns=tuple(operation_glob(glob) for glob in config.operations),
        )

    def may_call(self, operation: str) -> bool:
        """Whether the allow-list admits ``operation``; memoised, the set of names is small."""
        decided = self._decided.get(operation)
        if decided is None:
            decided = any(p.match(operation) for p in self._patterns)
            self._decided[operation] = decided
        return decided


class AgentDirectory:
    """Finds the agent behind a bearer key."""

    def __init__(self, agents: Iterable[tuple[str, Agent]]) -> None:
        self._by_digest = [(bytes.fromhex(digest), agent) for digest, agent in agents]

    @classmethod
    def from_config(cls, configs: Iterable[AgentConfig]) -> AgentDirectory:
        return cls((c.key_sha256, Agent.from_config(c)) for c in configs)

    def authenticate(self, authorization: str | None) -> Agent:
        """The agent for an ``Authorization: Bearer <key>`` header value, or
        :class:`Unauthenticated` saying what to send instead."""
        if not authorization:
            raise Unauthenticated(
                "This call needs an API key: send the header 'Authorization: Bearer <key>'."
            )
        scheme, _, key = authorization.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise Unauthenticated(
                "Unsupported authorization scheme: send 'Authorization: Bearer <key>'."
            )
        digest = hashlib.sha256(key.strip().encode("utf-8")).digest()
        found: Agent | None = None
        for candidate, agent in self._by_digest:
            if hmac.compare_digest(candidate, digest):
                found = agent
        if found is None:
            raise Unauthenticated("The API key is not valid.")
        if found.revoked:
            raise Unauthenticated(
                "The API key has been revoked; ask the agent's owner for a new one."
            )
        return found
