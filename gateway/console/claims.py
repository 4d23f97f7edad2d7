"""What an identity provider's ID token says about a person: the claim that names them,
the claim whose values (groups, app roles) map to console roles, and the names they go by.

Kept apart from the sign-in flow because the session re-reads the mapping on every
request (:mod:`gateway.console.sessions`): the claim values are stored with the session,
the roles are worked out from the ``role_map`` in force, so a mapping changed by a
reload counts on the next click, as a role changed in ``staff:`` does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gateway.config import StaffRole
from gateway.config.oidc import ConsoleOidcConfig

MAX_VALUES = 256  # a provider may send hundreds of groups; more than this are not read
MAX_LENGTH = 255
ALIAS_CLAIMS = ("email", "preferred_username")


def claim(claims: Mapping[str, Any], name: str) -> Any:
    """The claim ``name``: by its name, else as a dotted path into nested objects."""
    if name in claims:
        return claims[name]
    found: Any = claims
    for part in name.split("."):
        if not isinstance(found, Mapping) or part not in found:
            return None
        found = found[part]
    return found


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= MAX_LENGTH else None


def claim_values(claims: Mapping[str, Any], name: str | None) -> list[str]:
    """The claim's strings (one string, or a list of them); anything else gives none."""
    if name is None:
        return []
    value = claim(claims, name)
    items = value if isinstance(value, list) else [value]
    return [text for text in map(_text, items[:MAX_VALUES]) if text is not None]


def mapped_roles(config: ConsoleOidcConfig | None, values: Iterable[str]) -> frozenset[StaffRole]:
    """The roles ``role_map`` gives these values; unknown values give none."""
    if config is None:
        return frozenset()
    return frozenset(role for value in values for role in config.role_map.get(value, ()))


def subject(config: ConsoleOidcConfig, claims: Mapping[str, Any]) -> str | None:
    """The value of ``staff_claim``: who the provider says this is."""
    return _text(claim(claims, config.staff_claim))


def person_id(config: ConsoleOidcConfig, name: str) -> str:
    """The stable, unique id of someone known only through the provider. Staff ids in
    config cannot hold ``:``, so this never names a ``staff:`` entry."""
    return f"oidc:{config.issuer_host}:{name}"


def aliases(config: ConsoleOidcConfig, claims: Mapping[str, Any]) -> list[str]:
    """The names this person goes by (subject, e-mail, user name): a call made on behalf
    of any of them is their own, which they may not approve."""
    found = [subject(config, claims), *(_text(claims.get(c)) for c in ALIAS_CLAIMS)]
    return sorted({name for name in found if name is not None})
