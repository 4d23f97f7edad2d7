"""The stages of the call path, one file each, named as in ARCHITECTURE.md."""

from gateway.stages.approvals import Hold
from gateway.stages.backend import CallBackend
from gateway.stages.budgets import EnforceBudgets
from gateway.stages.dryrun import Preview
from gateway.stages.idempotency import Idempotency
from gateway.stages.identity import Identify
from gateway.stages.killswitch import CheckHalt
from gateway.stages.limits import Limit
from gateway.stages.measure import Measure
from gateway.stages.policy import Decide
from gateway.stages.record import Record
from gateway.stages.redaction import Redact
from gateway.stages.resolve import CheckScope, Resolve
from gateway.stages.validation import ValidateInput, ValidateOutput

__all__ = [
    "CallBackend",
    "CheckHalt",
    "CheckScope",
    "Decide",
    "EnforceBudgets",
    "Hold",
    "Idempotency",
    "Identify",
    "Limit",
    "Measure",
    "Preview",
    "Record",
    "Redact",
    "Resolve",
    "ValidateInput",
    "ValidateOutput",
]
