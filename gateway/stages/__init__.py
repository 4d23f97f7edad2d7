"""The stages of the call path, one file each, named as in ARCHITECTURE.md."""

from gateway.stages.backend import CallBackend
from gateway.stages.identity import Identify
from gateway.stages.measure import Measure
from gateway.stages.record import Record
from gateway.stages.resolve import CheckScope, Resolve
from gateway.stages.validation import ValidateInput, ValidateOutput

__all__ = [
    "CallBackend",
    "CheckScope",
    "Identify",
    "Measure",
    "Record",
    "Resolve",
    "ValidateInput",
    "ValidateOutput",
]
