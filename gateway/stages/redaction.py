"""Redact: the output as this agent may see it (sensitive fields per its ``may_see``).

It wraps output validation, so it shapes the validated answer on its way out.
"""

from __future__ import annotations

import dataclasses

from gateway.guardrails.redaction import Redactor
from gateway.outcomes import Answered
from gateway.pipeline import Call, Proceed, StageOutcome


class Redact:
    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor

    async def __call__(self, call: Call, proceed: Proceed) -> StageOutcome:
        outcome = await proceed(call)
        if not isinstance(outcome, Answered):
            return outcome
        scope = call.agent.may_see if call.agent else frozenset()
        visible = self._redactor.redact(
            type(outcome.output), outcome.output.model_dump(mode="json"), scope
        )
        return dataclasses.replace(outcome, visible=visible)
