"""Who is calling: the bearer key becomes an :class:`~gateway.identity.Agent` (or, for a
call a person approved, the agent that made it), and the end user it says it acts for
is checked before anything records or uses it. Options the face could not parse are
refused here too, once the caller is known, so the refusal is audited like any other."""

from __future__ import annotations

from adapters.base import safe_text
from gateway.identity import Agent
from gateway.pipeline import Call, Proceed, StageOutcome
from schemas.errors import FieldError, Unauthenticated, ValidationFailed
from schemas.patterns import END_USER, END_USER_RULE, is_valid


class Identify:
    """Reads the agents of the configuration pinned on the call (a reload may change them)."""

    async def __call__(self, call: Call, proceed: Proceed) -> StageOutcome:
        request = call.request
        call.agent = await self._agent(call)
        on_behalf_of = request.on_behalf_of
        problems = list(request.malformed)
        if on_behalf_of is not None:
            if is_valid(END_USER, on_behalf_of):
                call.on_behalf_of = on_behalf_of
            else:  # never record an unchecked string as a user
                problems.append(
                    FieldError(
                        field="on_behalf_of",
                        message="invalid end-user name",
                        expected=END_USER_RULE,
                        received=safe_text(str(on_behalf_of), 120),
                    )
                )
        if problems:
            names = ", ".join(p.field for p in problems)
            raise ValidationFailed(
                f"The call's options are invalid ({names}): see the field errors. The "
                "on-behalf-of end user (X-On-Behalf-Of or _meta onBehalfOf) takes "
                f"{END_USER_RULE}; X-Dry-Run (or _meta dryRun) takes true or false.",
                problems,
            )
        return await proceed(call)

    async def _agent(self, call: Call) -> Agent:
        approved = call.request.approved
        directory = call.in_force.agents
        if approved is None:
            return await directory.sign_in(call.request.credentials)
        agent = directory.find(approved.agent_id)
        if agent is None or agent.revoked:
            raise Unauthenticated(f"Agent {approved.agent_id!r} no longer exists or is revoked.")
        return agent
