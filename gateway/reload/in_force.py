"""The reloadable parts of the configuration, as one immutable snapshot per version.

Stages never hold a directory, a policy engine or a budget book of their own: the
pipeline pins ``ConfigInForce.current`` on each call when it starts (one attribute
read), so a call sees one version from identification to its audit event, and a reload
replaces the whole snapshot in one assignment: all or nothing, never half of one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from gateway.config import Config, ConfigError, parse_config
from gateway.config.resilience import ResilienceConfig
from gateway.guardrails.budgets import BudgetBook
from gateway.guardrails.policy import PolicyEngine, PolicyError
from gateway.guardrails.runtime import load_policy
from gateway.guardrails.safety import register_secrets, secret_values
from gateway.identity import AgentDirectory, StaffDirectory, TokenVerifier
from gateway.registry import Registry, RegistryError, check_names
from gateway.reload.sections import changed_fixed, with_reloadable
from gateway.state import Clock


@dataclass(frozen=True, slots=True)
class Reloadable:
    """One version of who may call, what they may do and how often.

    ``version`` is 0 for the file a process started with and moves on with each reload;
    ``text`` is the YAML it came from (``${ENV}`` references as written), when known."""

    version: int
    config: Config
    agents: AgentDirectory
    staff: StaffDirectory
    policy: PolicyEngine | None
    budgets: BudgetBook
    resilience: ResilienceConfig
    text: str | None = None


class ConfigInForce:
    """The holder every reader goes through; ``current`` is swapped, never mutated."""

    __slots__ = ("current",)

    def __init__(self, first: Reloadable) -> None:
        self.current = first


class ReloadRefused(Exception):
    """A new configuration was not adopted; ``problems`` says why, one line each.
    ``fixed`` lists the parts that only a restart may change, when that is the reason."""

    def __init__(self, problems: list[str], fixed: list[str] | None = None) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
        self.fixed = fixed or []


class ConfigCompiler:
    """Turns a configuration into a :class:`Reloadable`, with the checks of
    ``check-config`` that apply to the reloadable parts (budgets that name nothing,
    policy files that do not parse or validate). The backends are fixed, so the running
    registry and its operations are the ones to check against."""

    def __init__(self, registry: Registry, tokens: TokenVerifier | None, clock: Clock) -> None:
        self._registry = registry
        self._tokens = tokens
        self._clock = clock

    def compile(self, config: Config, version: int, text: str | None = None) -> Reloadable:
        """Raise :class:`PolicyError` for budgets or policies with problems, and
        :class:`RegistryError` for allow-lists or rate limits naming nothing."""
        check_names(config, self._registry.operations)
        section = config.guardrails
        book = BudgetBook(section.budgets, section.costs, self._clock)
        problems = book.check(self._registry.operations)
        if problems:
            raise PolicyError("guardrails.budgets", problems)
        agents = AgentDirectory.from_config(config.agents, self._tokens)
        return Reloadable(
            version=version,
            config=config,
            agents=agents,
            staff=StaffDirectory.from_config(config.staff),
            policy=load_policy(config, self._registry, agents),
            budgets=book,
            resilience=config.resilience,
            text=text,
        )

    def prepare(
        self,
        running: Config,
        text: str,
        version: int,
        *,
        source: str,
        strict: bool,
        env: Mapping[str, str] | None = None,
    ) -> Reloadable:
        """Parse ``text`` and compile what this process would adopt, or raise
        :class:`ReloadRefused`. ``strict`` (the process that receives the reload) also
        refuses a change to a fixed part; the others adopt the reloadable parts and keep
        their own fixed ones. Blocking (policy files are read): run it in a thread."""
        try:
            wanted = parse_config(text, source, os.environ if env is None else env)
        except ConfigError as exc:
            raise ReloadRefused(exc.problems) from None
        if strict:
            changed = changed_fixed(running, wanted)
            if changed:
                raise ReloadRefused(
                    [f"{path}: changes only with a restart" for path in changed], changed
                )
        adopted = with_reloadable(running, wanted)
        try:
            snapshot = self.compile(adopted, version, text)
        except PolicyError as exc:
            raise ReloadRefused(exc.problems) from None
        except RegistryError as exc:
            raise ReloadRefused(str(exc).splitlines()) from None
        register_secrets(secret_values(adopted))
        return snapshot
