"""Who is calling: the bearer key becomes an :class:`~gateway.identity.Agent`, and the
end user it says it acts for is checked before anything records or uses it."""

from __future__ import annotations

import re

from adapters.base import safe_text
from gateway.identity import AgentDirectory
from gateway.pipeline import Invocation, Proceed
from schemas.errors import FieldError, ValidationFailed

_END_USER = re.compile(r"^[\w.@+:/-]{1,200}$")


class Identify:
    def __init__(self, directory: AgentDirectory) -> None:
        self._directory = directory

    async def __call__(self, inv: Invocation, proceed: Proceed) -> None:
        inv.agent = self._directory.authenticate(inv.credentials)
        inv.credentials = None  # the key goes no further than this stage
        if inv.on_behalf_of is not None and not _END_USER.match(inv.on_behalf_of):
            received = safe_text(inv.on_behalf_of, 120)
            inv.on_behalf_of = None  # never record an unchecked string as a user
            raise ValidationFailed(
                "The on-behalf-of end user (X-On-Behalf-Of) is invalid: name the end user in "
                "at most 200 characters (letters, digits and . _ @ + : / -).",
                [
                    FieldError(
                        field="on_behalf_of",
                        message="invalid end-user name",
                        expected="1-200 characters of letters, digits and . _ @ + : / -",
                        received=received,
                    )
                ],
            )
        await proceed(inv)
