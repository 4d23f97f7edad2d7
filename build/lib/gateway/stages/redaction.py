"""Redact: the output as this agent may see it (sensitive fields per its ``may_see``)."""

from __future__ import annotations

from gateway.guardrails.redaction import Redactor
from gateway.pipeline import Invocation, Proceed


class Redact:
    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor

    async def __call__(self, inv: Invocation, proceed: Proceed) -> None:
        if inv.output is not None:
            scope = inv.agent.may_see if inv.agent else frozenset()
            inv.visible_output = self._redactor.redact(
                type(inv.output), inv.output.model_dump(mode="json"), scope
            )
        await proceed(inv)
