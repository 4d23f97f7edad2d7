"""The stages of the call path, one file each, named as in ARCHITECTURE.md."""

from gateway.stages.backend import CallBackend
from gateway.stages.idempotency import Idempotency
from gateway.stages.identity import Identify
from gateway.stages.limits import Limit
from gateway.stages.record import Record
from gateway.stages.resolve import CheckScope, Resolve
from gateway.stages.validation import ValidateInput, ValidateOutput

__all__ = [
    "CallBackend",
    "CheckScope",
    "Idempotency",
    "Identify",
    "Limit",
    "Record",
    "Resolve",
    "ValidateInput",
    "ValidateOutput",
]
