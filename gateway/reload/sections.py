"""Which parts of gateway.yaml a reload may change, and which it may not.

A reload replaces who may call (``agents``, ``staff``: keys, revocations, allow-lists),
what they may do (``guardrails.policies``, ``guardrails.costs``, ``guardrails.budgets``)
and how often (``resilience.rate_limits``). Everything else is built once at start-up
(the listen address, backends and their connections, the stores, PostgreSQL, logging,
tracing, MCP, the halts and approvals stores, breakers and timeouts): a reload that
changes any of it is refused with the list, and a restart is the way to change it.
"""

from __future__ import annotations

from gateway.config import Config

RELOADABLE: tuple[str, ...] = (
    "agents",
    "staff",
    "guardrails.policies",
    "guardrails.costs",
    "guardrails.budgets",
    "resilience.rate_limits",
)
"""The dotted paths a reload may change."""

_WHOLE = frozenset(p for p in RELOADABLE if "." not in p)
_PARTS: dict[str, frozenset[str]] = {
    "guardrails": frozenset({"policies", "costs", "budgets"}),
    "resilience": frozenset({"rate_limits"}),
}


def fixed_sections() -> list[str]:
    """Every part of the configuration that only a restart changes, as dotted paths."""
    fixed: list[str] = []
    for name, field in Config.model_fields.items():
        if name in _WHOLE:
            continue
        parts = _PARTS.get(name)
        if parts is None:
            fixed.append(name)
            continue
        section = field.annotation
        fields = getattr(section, "model_fields", {})
        fixed += [f"{name}.{sub}" for sub in fields if sub not in parts]
    return fixed


def changed_fixed(running: Config, wanted: Config) -> list[str]:
    """The fixed parts whose values differ between the running and the wanted config."""
    changed: list[str] = []
    for path in fixed_sections():
        if _value(running, path) != _value(wanted, path):
            changed.append(path)
    return changed


def with_reloadable(running: Config, wanted: Config) -> Config:
    """``running`` with the reloadable parts of ``wanted``: what a process adopts. Each
    process keeps its own fixed parts (its port, paths and name may differ per host)."""
    guardrails = running.guardrails.model_copy(
        update={name: getattr(wanted.guardrails, name) for name in _PARTS["guardrails"]}
    )
    resilience = running.resilience.model_copy(
        update={name: getattr(wanted.resilience, name) for name in _PARTS["resilience"]}
    )
    return running.model_copy(
        update={
            **{name: getattr(wanted, name) for name in _WHOLE},
            "guardrails": guardrails,
            "resilience": resilience,
        }
    )


def _value(config: Config, path: str) -> object:
    value: object = config
    for name in path.split("."):
        value = getattr(value, name)
    return value
