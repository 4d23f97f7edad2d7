"""The one role matrix for staff: which role may do what, enforced on the server, in
the console and in the staff API alike.

Every console handler, and the REST approvals routes, name the :class:`Capability`
they need; nothing else decides.
A person may hold several roles and gets the union. Agents hold no roles at all: their
keys never open the console.

=================  ========  ========  =======
capability         approver  operator  auditor
=================  ========  ========  =======
see approvals      yes       yes       yes
decide approvals   yes       no        no
see activity       no        yes       yes
see agents         no        yes       yes
see halts          no        yes       yes
halt and resume    no        yes       no
read the audit     no        no        yes
verify the audit   no        no        yes
=================  ========  ========  =======

Running the halt drill is "halt and resume".
"""

from __future__ import annotations

from enum import StrEnum

from gateway.config import StaffRole
from gateway.identity import StaffMember
from schemas.errors import Forbidden


class Capability(StrEnum):
    SEE_APPROVALS = "see approvals"
    DECIDE_APPROVALS = "decide approvals"
    SEE_ACTIVITY = "see activity"
    SEE_AGENTS = "see agents"
    SEE_HALTS = "see halts"
    HALT = "halt and resume"
    READ_AUDIT = "read the audit"
    VERIFY_AUDIT = "verify the audit"


APPROVER, OPERATOR, AUDITOR = StaffRole.APPROVER, StaffRole.OPERATOR, StaffRole.AUDITOR
MATRIX: dict[Capability, frozenset[StaffRole]] = {
    Capability.SEE_APPROVALS: frozenset({APPROVER, OPERATOR, AUDITOR}),
    Capability.DECIDE_APPROVALS: frozenset({APPROVER}),
    Capability.SEE_ACTIVITY: frozenset({OPERATOR, AUDITOR}),
    Capability.SEE_AGENTS: frozenset({OPERATOR, AUDITOR}),
    Capability.SEE_HALTS: frozenset({OPERATOR, AUDITOR}),
    Capability.HALT: frozenset({OPERATOR}),
    Capability.READ_AUDIT: frozenset({AUDITOR}),
    Capability.VERIFY_AUDIT: frozenset({AUDITOR}),
}


def may(member: StaffMember, capability: Capability) -> bool:
    return bool(member.roles & MATRIX[capability])


def require(member: StaffMember, capability: Capability) -> None:
    """Refuse (403) a person whose roles do not grant ``capability``."""
    if not may(member, capability):
        needed = " or ".join(sorted(r.value for r in MATRIX[capability]))
        raise Forbidden(f"{member.id!r} may not {capability.value}: that needs the {needed} role.")


def capabilities(member: StaffMember) -> frozenset[Capability]:
    """Everything this person may do (the pages and buttons they are shown)."""
    return frozenset(c for c in Capability if may(member, c))
