"""Vocabulary shared by every domain: how operations are classified and how models behave."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema


class Effect(StrEnum):
    """Whether an operation only reads from the system of record or changes it."""

    READ = "read"
    WRITE = "write"


class Risk(StrEnum):
    """How much harm a wrong call can do; guardrails key approvals and limits off it."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class CanonicalModel(BaseModel):
    """Base of every model agents see.

    Strict and closed on purpose: agents get no silent coercion ("5" is not 5) and
    an unknown field is an error rather than something quietly dropped, so a typo
    in a write never reaches a system of record as a default value.
    """

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


@dataclass(frozen=True, slots=True)
class Sensitive:
    """Marks a field whose value only agents holding the matching scope may see.

    Use it as ``Annotated`` metadata: ``tax_id: Annotated[str, Sensitive("tax_id")]``.
    The category appears in the JSON Schema as ``x-sensitive`` (so agents and auditors
    can see what is protected) and drives redaction of responses, logs and the audit
    trail. Categories in use: ``tax_id``, ``bank_account``, ``personal_contact``.
    """

    category: str

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema["x-sensitive"] = self.category
        return schema
