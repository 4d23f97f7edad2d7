"""Agents, staff, and their API keys.

Config holds only the SHA-256 digest of each key. A presented key is hashed and
compared against every holder's digest with :func:`hmac.compare_digest`, without
stopping at the first match, so the time taken says nothing about which digest, or
how much of one, matched. Keys are high-entropy random strings (``lastmile keys new``),
so a fast hash is the right tool; a password hash would only slow every call.

Agents call operations; staff (approvers, operators, auditors) use the administrative
APIs. They live in separate directories, so an agent key never opens a staff API and a
staff key never calls an operation.

An agent may also sign in with an access token from the configured identity provider
(:mod:`gateway.access_tokens`): :meth:`AgentDirectory.sign_in` tells a token from a key
by its shape, and maps the token's configured claim to the agent whose
``token_subject`` it is. Revoking the agent in config refuses its tokens too.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from gateway.config import AgentConfig, StaffConfig, StaffRole
from schemas.errors import Forbidden, TokenInvalid, TokenSubjectUnknown, Unauthenticated

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
    """An authenticated agent; carries no secret, so it is safe to log and audit."""

    id: str
    owner: str
    team: str | None
    environment: str
    allowed: tuple[str, ...]
    revoked: bool = False
    may_see: frozenset[str] = frozenset()
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
            may_see=frozenset(config.may_see),
            _patterns=tuple(operation_glob(glob) for glob in config.operations),
        )

    def may_call(self, operation: str) -> bool:
        """Whether the allow-list admits ``operation``; memoised, the set of names is small."""
        decided = self._decided.get(operation)
        if decided is None:
            decided = any(p.fullmatch(operation) for p in self._patterns)
            self._decided[operation] = decided
        return decided


@dataclass(frozen=True, slots=True)
class StaffMember:
    """An authenticated person acting through the administrative APIs."""

    id: str
    name: str
    roles: frozenset[StaffRole]
    revoked: bool = False
    may_see: frozenset[str] = frozenset()  # sensitive categories shown unmasked
    also_known_as: frozenset[str] = frozenset()  # other names (the identity provider's)

    @classmethod
    def from_config(cls, config: StaffConfig) -> StaffMember:
        return cls(
            config.id,
            config.name,
            frozenset(config.roles),
            config.revoked,
            frozenset(config.may_see),
        )


class _KeyHolder(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def revoked(self) -> bool: ...


HolderT = TypeVar("HolderT", bound=_KeyHolder)


def bearer_credential(authorization: str | None) -> str:
    """What follows ``Bearer`` in an ``Authorization`` header value, or
    :class:`Unauthenticated` saying what to send instead."""
    if not authorization:
        raise Unauthenticated(
            "This call needs an API key: send the header 'Authorization: Bearer <key>'."
        )
    scheme, _, credential = authorization.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise Unauthenticated(
            "Unsupported authorization scheme: send 'Authorization: Bearer <key>'."
        )
    return credential.strip()


class KeyDirectory(Generic[HolderT]):
    """Finds the holder of a bearer key; holders without a key are known but never match."""

    def __init__(self, holders: Iterable[tuple[str | None, HolderT]]) -> None:
        listed = list(holders)
        self._holders = [holder for _, holder in listed]
        self._by_digest = [
            (bytes.fromhex(digest), holder) for digest, holder in listed if digest is not None
        ]

    def authenticate(self, authorization: str | None) -> HolderT:
        """The holder of an ``Authorization: Bearer <key>`` header value, or
        :class:`Unauthenticated` saying what to send instead."""
        key = bearer_credential(authorization)
        # surrogatepass: header bytes that are not UTF-8 arrive as lone surrogates; they
        # hash to bytes no configured key has, so the caller is refused, never a 500
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
        found: HolderT | None = None
        for candidate, holder in self._by_digest:
            if hmac.compare_digest(candidate, digest):
                found = holder
        if found is None:
            raise Unauthenticated("The API key is not valid.")
        if found.revoked:
            raise Unauthenticated("The API key has been revoked; ask its owner for a new one.")
        return found

    def holders(self) -> list[HolderT]:
        return list(self._holders)


class TokenVerifier(Protocol):
    """Checks an access token (:class:`gateway.access_tokens.AccessTokenVerifier`)."""

    @property
    def agent_claim(self) -> str: ...

    async def verify(self, token: str) -> Mapping[str, Any]: ...


def looks_like_jwt(credential: str) -> bool:
    """Three dot-separated segments: a JWS in compact form. Keys have no dots."""
    parts = credential.split(".")
    return len(parts) == 3 and all(parts[:2])


class AgentDirectory(KeyDirectory[Agent]):
    def __init__(
        self,
        holders: Iterable[tuple[str | None, Agent]],
        subjects: Mapping[str, Agent] | None = None,
        tokens: TokenVerifier | None = None,
    ) -> None:
        super().__init__(holders)
        self._by_subject = dict(subjects or {})
        self._tokens = tokens

    @classmethod
    def from_config(
        cls, configs: Iterable[AgentConfig], tokens: TokenVerifier | None = None
    ) -> AgentDirectory:
        agents = [(c, Agent.from_config(c)) for c in configs]
        subjects = {c.token_subject: a for c, a in agents if c.token_subject is not None}
        return cls(((c.key_sha256, a) for c, a in agents), subjects, tokens)

    async def sign_in(self, authorization: str | None) -> Agent:
        """The agent behind a bearer key or an identity provider's access token."""
        credential = bearer_credential(authorization)
        if self._tokens is None or not looks_like_jwt(credential):
            return self.authenticate(authorization)
        claims = await self._tokens.verify(credential)
        claim = self._tokens.agent_claim
        subject = claims.get(claim)
        if not isinstance(subject, str):
            raise TokenInvalid(f"The access token has no {claim!r} claim naming the agent.")
        agent = self._by_subject.get(subject)
        if agent is None:
            raise TokenSubjectUnknown(
                f"The access token is genuine, but no agent here is mapped to its {claim!r}; "
                "ask the gateway's operators to add one (agents[].token_subject)."
            )
        if agent.revoked:
            raise Unauthenticated(f"Agent {agent.id!r} has been revoked; its tokens are refused.")
        return agent

    def find(self, agent_id: str) -> Agent | None:
        """The agent with this id (for calls executed later, e.g. after approval)."""
        return next((a for a in self.holders() if a.id == agent_id), None)


class StaffDirectory(KeyDirectory[StaffMember]):
    @classmethod
    def from_config(cls, configs: Iterable[StaffConfig]) -> StaffDirectory:
        return cls((c.key_sha256, StaffMember.from_config(c)) for c in configs)

    def authenticate_role(self, authorization: str | None, role: StaffRole) -> StaffMember:
        """The staff member behind the key, who must hold ``role``."""
        member = self.authenticate(authorization)
        if role not in member.roles:
            raise Forbidden(f"{member.id!r} does not hold the {role.value!r} role needed here.")
        return member
