"""Console sessions: a staff key exchanged once for a random session token in a cookie.

The session lives in the shared :class:`~gateway.state.store.StateStore` (memory, SQLite
or Redis), keyed by the SHA-256 of its token, so any gateway process honours it, signing
out deletes it everywhere at once, and the store never holds a usable cookie. The record
names the staff member; their roles and revocation are read from the staff directory on
every request, so a role taken away or a key revoked in config takes effect on the next
click. A sign-in through the identity provider also keeps the person's ``roles_claim``
values, mapped to roles by the ``console.oidc.role_map`` in force on every request.
Each session carries its own CSRF token, compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass, replace
from typing import Any

from gateway.console.claims import mapped_roles
from gateway.identity import StaffMember
from gateway.reload.in_force import ConfigInForce
from gateway.state.store import StateStore

COOKIE = "lastmile_console"
SESSION_TTL_S = 8 * 3600.0  # a working day; then sign in again
_PREFIX = "console:session:"


@dataclass(frozen=True, slots=True)
class Session:
    member_id: str
    csrf: str
    expires_at: float
    provider: dict[str, Any] | None = None  # signed in through the identity provider


def provider_record(name: str, claim_values: list[str], aliases: list[str]) -> dict[str, Any]:
    """What a sign-in through the provider leaves with the session: the person's display
    name, the values of ``roles_claim`` (mapped to roles on each request) and their
    other names."""
    return {"name": name, "claim_values": claim_values, "aliases": aliases}


def _key(token: str) -> str:
    return _PREFIX + hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class Sessions:
    def __init__(self, state: StateStore, in_force: ConfigInForce) -> None:
        self._state = state
        self._in_force = in_force  # staff as of the configuration in force (reloadable)

    async def start(
        self, member: StaffMember, now: float, provider: dict[str, Any] | None = None
    ) -> tuple[str, Session]:
        """A new session for ``member``: the cookie token and the stored record."""
        token = secrets.token_urlsafe(32)
        session = Session(member.id, secrets.token_urlsafe(32), now + SESSION_TTL_S, provider)
        await self._state.put(_key(token), json.dumps(asdict(session)).encode(), SESSION_TTL_S)
        return token, session

    async def find(self, token: str | None) -> tuple[Session, StaffMember] | None:
        """The live session behind a cookie and the person it belongs to, or None (no
        cookie, expired, signed out, or the person is no longer a staff member)."""
        if not token or len(token) > 100:
            return None
        raw = await self._state.get(_key(token))
        if raw is None:
            return None
        session = Session(**json.loads(raw))
        member = self._member(session)
        if member is None:
            await self._state.delete(_key(token))
            return None
        return session, member

    def _member(self, session: Session) -> StaffMember | None:
        """The person as of the configuration in force: their ``staff:`` entry, unless
        it is revoked, with the roles ``role_map`` gives their claim values added; or,
        for someone known only through the provider, those mapped roles alone."""
        current = self._in_force.current
        entry = next((m for m in current.staff.holders() if m.id == session.member_id), None)
        if entry is not None and entry.revoked:
            return None
        via = session.provider
        if via is None:
            return entry
        mapped = mapped_roles(current.config.console.oidc, via["claim_values"])
        names = frozenset(via["aliases"])
        if entry is not None:
            return replace(
                entry, roles=entry.roles | mapped, also_known_as=entry.also_known_as | names
            )
        if not session.member_id.startswith("oidc:"):
            return None  # their staff: entry was removed
        return StaffMember(session.member_id, via["name"], mapped, also_known_as=names)

    async def end(self, token: str) -> None:
        await self._state.delete(_key(token))


def csrf_matches(session: Session, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(
        session.csrf.encode(), presented.encode("utf-8", "surrogatepass")
    )
